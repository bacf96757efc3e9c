"""The SQL key store (store/keys.py): data keys made once per case, wrapped by the master key,
destroyed for good, re-wrapped under a new master key; on both backends."""

import base64
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from store.keys import DataKey, KeyDestroyed, MasterKeyMismatch, SqlKeyStore, UnknownKey

MASTER = bytes(range(32))
NEW_MASTER = bytes(range(32, 64))
CASE = "case-00000000-0000-4000-8000-000000000001"


def test_a_key_is_made_once_and_stored_wrapped(store_engine: Engine) -> None:
    keys = SqlKeyStore(store_engine, MASTER)
    with pytest.raises(UnknownKey):
        keys.data_key(CASE, create=False)
    # Several processes making the case's first payload at once all get the one key.
    with ThreadPoolExecutor(4) as pool:
        made = set(pool.map(lambda _: keys.data_key(CASE, create=True), range(8)))
    assert len(made) == 1
    [key] = made
    assert len(key) == 32
    assert keys.data_key(CASE, create=False) == key
    with Session(store_engine) as session:
        row = session.exec(select(DataKey)).scalar_one()  # type: ignore[call-overload]
    assert row.wrapped is not None and key not in row.wrapped
    assert base64.b64encode(key) not in row.wrapped


def test_a_destroyed_key_is_gone_and_never_made_again(store_engine: Engine) -> None:
    keys = SqlKeyStore(store_engine, MASTER)
    keys.data_key(CASE, create=True)
    keys.destroy(CASE)
    keys.destroy(CASE)  # idempotent
    for create in (False, True):
        with pytest.raises(KeyDestroyed):
            keys.data_key(CASE, create=create)
    assert keys.is_destroyed(CASE)
    # A case whose key never existed is shredded as well: nothing is made for it later.
    other = CASE[:-1] + "2"
    keys.destroy(other)
    with pytest.raises(KeyDestroyed):
        keys.data_key(other, create=True)


def test_rewrap_moves_every_key_to_the_new_master_key(store_engine: Engine) -> None:
    keys = SqlKeyStore(store_engine, MASTER)
    before = {key_id: keys.data_key(key_id, create=True) for key_id in (CASE, "system")}
    keys.destroy(CASE[:-1] + "3")
    assert keys.rewrap(NEW_MASTER) == 2
    assert SqlKeyStore(store_engine, NEW_MASTER).rewrap(NEW_MASTER) == 0  # a rerun: nothing
    rotated = SqlKeyStore(store_engine, NEW_MASTER)
    assert {key_id: rotated.data_key(key_id, create=False) for key_id in before} == before
    with pytest.raises(MasterKeyMismatch):
        SqlKeyStore(store_engine, MASTER).data_key(CASE, create=False)
