"""The data keys of Temporal's payloads, one per case (and one `system` key), stored wrapped
by the master key: the SQL implementation of app/payload_codec.py's `KeyStore`.

A key is made on its case's first payload and wrapped with AES-256-GCM under the master key
(the key id as associated data, so a wrapped key cannot be moved to another case). `destroy`
crypto-shreds a case: the wrapped key is overwritten with nothing and the row stays as a
tombstone, so no later payload of that case makes a fresh key. `rewrap` moves every key to a
new master key (`lotse keys rotate`); Temporal's histories are not touched, since the data
keys themselves do not change.

A KMS or Vault transit replaces this class by implementing the same two methods.
"""

import hashlib
import os
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, LargeBinary, update
from sqlmodel import Field, Session, SQLModel, col, select

from store.db import dialect_insert
from store.types import UTCDateTime

NONCE_BYTES = 12
DATA_KEY_BYTES = 32


class DataKey(SQLModel, table=True):
    """One case's (or the system's) data key, wrapped; `wrapped` NULL: destroyed."""

    __tablename__ = "data_keys"

    key_id: str = Field(primary_key=True, max_length=80)
    wrapped: bytes | None = Field(default=None, sa_type=LargeBinary)
    # Which master key wrapped it: the first 8 bytes of its SHA-256, hex (never the key).
    master_key_id: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    destroyed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class KeyDestroyed(LookupError):
    """The key was destroyed (its case erased)."""


class UnknownKey(LookupError):
    """No such key here."""


class MasterKeyMismatch(RuntimeError):
    """A data key was wrapped by another master key than the one configured."""


def master_key_id(master: bytes) -> str:
    return hashlib.sha256(master).hexdigest()[:16]


def _wrap(master: bytes, key_id: str, key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, key, key_id.encode())


def _unwrap(master: bytes, row: DataKey) -> bytes:
    assert row.wrapped is not None
    if row.master_key_id != master_key_id(master):
        raise MasterKeyMismatch(
            f"data key {row.key_id!r} is wrapped by master key {row.master_key_id}, "
            f"LOTSE_MASTER_KEY is {master_key_id(master)}"
        )
    try:
        return AESGCM(master).decrypt(
            row.wrapped[:NONCE_BYTES], row.wrapped[NONCE_BYTES:], row.key_id.encode()
        )
    except InvalidTag as error:
        raise MasterKeyMismatch(f"data key {row.key_id!r} does not unwrap") from error


class SqlKeyStore:
    """`KeyStore` on the read model's database."""

    def __init__(self, engine: Engine, master: bytes) -> None:
        if len(master) != DATA_KEY_BYTES:
            raise ValueError("the master key has 32 bytes")
        self._engine = engine
        self._master = master

    def data_key(self, key_id: str, *, create: bool) -> bytes:
        with Session(self._engine) as session:
            row = session.get(DataKey, key_id)
            if row is None and create:
                # Two processes may make a case's first payload at once: the first insert
                # wins, and both read back its key.
                key = AESGCM.generate_key(bit_length=256)
                insert = dialect_insert(self._engine)
                session.execute(
                    insert(DataKey)
                    .values(
                        key_id=key_id,
                        wrapped=_wrap(self._master, key_id, key),
                        master_key_id=master_key_id(self._master),
                        created_at=datetime.now(UTC),
                    )
                    .on_conflict_do_nothing(index_elements=["key_id"])
                )
                session.commit()
                row = session.get(DataKey, key_id, populate_existing=True)
            if row is None:
                raise UnknownKey(key_id)
            if row.wrapped is None:
                raise KeyDestroyed(key_id)
            return _unwrap(self._master, row)

    def destroy(self, key_id: str) -> None:
        """Crypto-shred `key_id` (idempotent; an unknown key gets its tombstone too)."""
        now = datetime.now(UTC)
        with Session(self._engine) as session:
            insert = dialect_insert(self._engine)
            session.execute(
                insert(DataKey)
                .values(key_id=key_id, wrapped=None, created_at=now, destroyed_at=now)
                .on_conflict_do_nothing(index_elements=["key_id"])
            )
            session.execute(
                update(DataKey)
                .where(col(DataKey.key_id) == key_id, col(DataKey.wrapped).is_not(None))
                .values(wrapped=None, master_key_id=None, destroyed_at=now)
            )
            session.commit()

    def is_destroyed(self, key_id: str) -> bool:
        with Session(self._engine) as session:
            row = session.get(DataKey, key_id)
            return row is not None and row.wrapped is None

    def rewrap(self, new_master: bytes) -> int:
        """Every live data key wrapped under `new_master` instead, in one transaction; how
        many. Keys already under the new master key are left as they are (a rerun after a
        crash)."""
        if len(new_master) != DATA_KEY_BYTES:
            raise ValueError("the master key has 32 bytes")
        new_id = master_key_id(new_master)
        count = 0
        with Session(self._engine) as session:
            rows = session.exec(select(DataKey).where(col(DataKey.wrapped).is_not(None))).all()
            for row in rows:
                if row.master_key_id == new_id:
                    continue
                key = _unwrap(self._master, row)
                row.wrapped = _wrap(new_master, row.key_id, key)
                row.master_key_id = new_id
                count += 1
            session.commit()
        self._master = new_master
        return count
