"""Who may see and write which students, and the fields class teachers may edit (系统设置)."""
