"""The data keys of the test session: one SQL key store (store/keys.py, a migrated SQLite
file of its own) that every Temporal server's client, every worker and every API of the
session encrypts with, as one deployment's processes share one store.

Shared by the whole session because the Temporal servers are: a payload one test module's
worker wrote is read by the session's client in another's assertions. The read models stay
per module; only the keys live here. Not a test module itself.
"""

import atexit
import base64
import shutil
import tempfile
from functools import cache
from pathlib import Path

from temporalio.converter import DataConverter

from app.payload_codec import CachedKeyStore
from app.temporal import data_converter
from store.db import make_engine, upgrade
from store.keys import SqlKeyStore

MASTER_KEY = bytes(range(32))
MASTER_KEY_B64 = base64.b64encode(MASTER_KEY).decode("ascii")


@cache
def session_keys() -> CachedKeyStore:
    directory = Path(tempfile.mkdtemp(prefix="lotse-keys-"))
    atexit.register(shutil.rmtree, directory, True)
    engine = make_engine(None, directory)
    upgrade(engine)
    return CachedKeyStore(SqlKeyStore(engine, MASTER_KEY))


def session_converter() -> DataConverter:
    """Lotse's encrypting converter on the session's keys."""
    return data_converter(session_keys())
