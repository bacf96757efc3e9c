"""`python -m worker ...` is `lotse ...` (for environments without the console script)."""

from worker.cli import app

app(prog_name="lotse")
