"""Lotse test suite. `python -m tests` runs ruff, mypy and pytest."""
