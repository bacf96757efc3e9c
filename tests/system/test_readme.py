"""The README is part of the product: it starts with the two commands and documents every
setting the code reads, so a new setting without a line in the README fails here."""

import re
from pathlib import Path

from app.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def test_readme_begins_with_the_two_commands() -> None:
    first_block = README.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].endswith("lotse up")
    assert commands[1].endswith("python -m tests")
    ci = (Path(__file__).parents[2] / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci


def test_readme_documents_every_setting() -> None:
    documented = set(re.findall(r"`(LOTSE_[A-Z_]+)`", README))
    expected = {f"LOTSE_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "settings missing from the README"
    assert documented - expected - {"LOTSE_TEST_POSTGRES_URL"} == set(), "unknown settings"
