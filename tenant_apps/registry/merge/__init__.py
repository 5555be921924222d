"""合并重复学籍: two records of one child become one (issue 19 point 6)."""
