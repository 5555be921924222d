"""问题学籍处理: problem records and their evidence."""
