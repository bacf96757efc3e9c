"""Process entry points: the Temporal worker and the `lotse` command line."""
