"""In-school status changes (学籍异动) and the blockers every business on a student asks."""
