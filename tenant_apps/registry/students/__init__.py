"""Students: the list, single entry, audit, exports and bulk actions (pages, API, writes, reads)."""
