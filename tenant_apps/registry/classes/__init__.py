"""Grades and classes of the current school (班级信息管理)."""
