"""The national check (全国学籍系统校验) as results imported by the county (domain §3.2 step 9)."""
