"""The key-encryption key (`LOTSE_MASTER_KEY`) that wraps every case's data key in the store.

Production must set it (32 bytes, base64); `Settings` refuses to load without it. In
development the first process keeps a random one in `<data_dir>/master-key`, as the API does
with the JWT key, so `lotse up` runs encrypted without any setup.
"""

import base64
import binascii
import secrets
from pathlib import Path

from app.data_dir_secret import kept_secret
from app.settings import Settings

KEY_FILE = "master-key"
KEY_BYTES = 32


class MasterKeyError(RuntimeError):
    """The master key is missing or malformed; the message says which setting to fix."""


def parse_master_key(text: str) -> bytes:
    """32 bytes from their base64 (standard or URL-safe alphabet)."""
    text = text.strip()
    try:
        key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as error:
        raise MasterKeyError("LOTSE_MASTER_KEY ist kein Base64.") from error
    if len(key) != KEY_BYTES:
        raise MasterKeyError(
            f"LOTSE_MASTER_KEY muss {KEY_BYTES} Bytes lang sein (Base64), nicht {len(key)}."
        )
    return key


def new_master_key() -> str:
    """A fresh key, base64, as `lotse keys rotate` and an operator's setup need it."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def master_key(settings: Settings) -> bytes:
    """The configured key, or in development the one kept in the data dir (made on first use)."""
    if settings.master_key is not None:
        return parse_master_key(settings.master_key.get_secret_value())
    if settings.is_production:
        raise MasterKeyError(
            "LOTSE_MASTER_KEY fehlt: in Produktion muss der Hauptschlüssel gesetzt sein "
            "(32 Bytes, Base64, z. B. `openssl rand -base64 32`)."
        )
    return _data_dir_key(settings.data_dir)


def _data_dir_key(data_dir: Path) -> bytes:
    path, text = kept_secret(data_dir, KEY_FILE, new_master_key)
    try:
        return parse_master_key(text)
    except MasterKeyError as error:
        raise MasterKeyError(f"{path}: {error} Datei löschen und neu starten.") from error
