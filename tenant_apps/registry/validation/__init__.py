"""Every rule of domain.md §2 for one row of the national template."""
