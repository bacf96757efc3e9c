"""Temporal activities: all I/O of a case (rules evaluation, read-model writes, rendering,
notification)."""
