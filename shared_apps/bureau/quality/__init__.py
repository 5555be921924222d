"""数据质量 (issue 16 point 3, domain.md §3.18): per school, the figures the county watches
between the national campaigns, kept current in bureau.SchoolQuality, their lists read
inside the school through registry.facade.quality, and the county's 人籍一致 deadlines."""
