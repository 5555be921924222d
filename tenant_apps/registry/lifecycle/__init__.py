"""The school year's life cycle: rollover (升级/毕业) and junior-middle intake (初中新生)."""
