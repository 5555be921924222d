"""Teacher records (教师信息管理) and their transfer between schools."""
