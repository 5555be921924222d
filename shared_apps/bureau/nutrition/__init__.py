"""营养改善计划 on the bureau host (domain §3.12): the county marks its programme schools,
reads each school's monthly counts (from the public claims only) and the checks' flags
(the pupil's name masked, read inside the school through the registry facade)."""
