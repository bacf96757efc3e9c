"""A development secret kept in the data dir: made once by the first process that needs it,
read by every later one. The JWT signing key (api/security.py) and the master key
(app/master_key.py) are kept so, so that `lotse up` needs no setup; production sets both.
"""

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path


def kept_secret(data_dir: Path, name: str, make: Callable[[], str]) -> tuple[Path, str]:
    """The file `data_dir/name` and its text, written with `make()` first when it is missing.

    Written to a private temporary file (mode 0600), then linked into place: the link fails
    when the file exists, so of two processes starting at once both end up with the same,
    complete secret."""
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        temporary = data_dir / f".{name}.{uuid.uuid4().hex}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(make())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return path, path.read_text(encoding="ascii")
