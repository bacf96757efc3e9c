"""The payload codec (app/payload_codec.py) and Lotse's data converter (app/temporal.py) on a
real SQL key store: the key follows the workflow id, payloads from before encryption pass
through, a destroyed key or a tampered payload fails with a clear error, failures' messages
are encrypted too."""

import asyncio
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext
from temporalio.exceptions import ApplicationError

from app.payload_codec import (
    ENCODING,
    KEY_ID,
    CachedKeyStore,
    EncryptionCodec,
    PayloadKeyUnavailable,
    PayloadTampered,
    key_id_of,
)
from app.temporal import data_converter
from domain.case import ClientName
from store.keys import SqlKeyStore
from store.testing import sqlite_store

CASE = "case-0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
NAME = ClientName(given_name="Zephyrine", family_name="Quaxelbrot")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CachedKeyStore]:
    with sqlite_store(Path(tmp_path_factory.mktemp("keys"))) as engine:
        yield CachedKeyStore(SqlKeyStore(engine, bytes(32)), size=2)


def test_the_key_follows_the_case_through_its_workflows() -> None:
    assert key_id_of(CASE) == CASE
    assert key_id_of(f"{CASE}-ref-12") == CASE
    assert key_id_of(f"notice-{CASE}-ref-2:7:referral_declined+2") == CASE
    assert key_id_of(f"notice-{CASE}:3:case_transferred") == CASE
    for other in ("digest-daily", "notice-inbound-0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b:1:x", None):
        assert key_id_of(other) == "system"


async def test_a_case_payload_is_sealed_under_the_case_key_from_the_context(
    keys: CachedKeyStore,
) -> None:
    converter = data_converter(keys)
    for context in (
        WorkflowSerializationContext(namespace="default", workflow_id=f"{CASE}-ref-1"),
        ActivitySerializationContext(
            namespace="default",
            activity_id="1",
            activity_type="render",
            activity_task_queue="lotse",
            workflow_id=CASE,
            workflow_type="AgreementWorkflow",
            is_local=False,
        ),
    ):
        [payload] = await converter.with_context(context).encode([NAME])
        assert payload.metadata["encoding"] == ENCODING
        assert payload.metadata[KEY_ID] == CASE.encode()
        assert b"Zephyrine" not in payload.SerializeToString()
        # Decoding needs no context: the payload names its key.
        assert await converter.decode([payload], [ClientName]) == [NAME]
    [plain] = await converter.encode(["no context"])
    assert plain.metadata[KEY_ID] == b"system"


async def test_a_payload_from_before_encryption_still_decodes(keys: CachedKeyStore) -> None:
    [old] = await pydantic_data_converter.encode([NAME])
    assert await EncryptionCodec(keys).decode([old]) == [old]
    assert await data_converter(keys).decode([old], [ClientName]) == [NAME]


async def test_a_destroyed_key_fails_decoding_clearly(keys: CachedKeyStore) -> None:
    erased = CASE[:-4] + "dead"
    codec = EncryptionCodec(keys, erased)
    sealed = await codec.encode([Payload(data=b'"x"', metadata={"encoding": b"json/plain"})])
    keys.destroy(erased)
    with pytest.raises(PayloadKeyUnavailable, match=erased):
        await codec.decode(sealed)
    with pytest.raises(PayloadKeyUnavailable):
        await codec.encode([Payload(data=b'"y"')])  # nothing new is sealed for an erased case


class SlowStore:
    """A key store whose reads wait until told: a key destroyed while it is being read."""

    def __init__(self, inner: SqlKeyStore) -> None:
        self.inner = inner
        self.reading = threading.Event()
        self.go_on = threading.Event()

    def data_key(self, key_id: str, *, create: bool) -> bytes:
        key = self.inner.data_key(key_id, create=create)
        self.reading.set()
        self.go_on.wait(10)
        return key

    def destroy(self, key_id: str) -> None:
        self.inner.destroy(key_id)


async def test_a_key_destroyed_while_it_is_read_is_not_cached_again(
    keys: CachedKeyStore,
) -> None:
    inner = keys.inner
    assert isinstance(inner, SqlKeyStore)
    erased = CASE[:-4] + "race"
    sealed = await EncryptionCodec(CachedKeyStore(inner), erased).encode(
        [Payload(data=b'"x"', metadata={"encoding": b"json/plain"})]
    )
    slow = SlowStore(inner)
    racing = CachedKeyStore(slow)
    reading = asyncio.create_task(EncryptionCodec(racing, erased).decode(sealed))
    await asyncio.to_thread(slow.reading.wait, 10)
    racing.destroy(erased)  # the erasure, while the key is on its way
    slow.go_on.set()
    with pytest.raises(PayloadKeyUnavailable):
        await reading
    # And no later decode finds it in the cache.
    with pytest.raises(PayloadKeyUnavailable):
        await EncryptionCodec(racing, erased).decode(sealed)
    assert erased not in racing._ciphers


async def test_a_tampered_or_moved_payload_is_refused(keys: CachedKeyStore) -> None:
    codec = EncryptionCodec(keys, CASE)
    [sealed] = await codec.encode([Payload(data=b'"x"', metadata={"encoding": b"json/plain"})])
    flipped = Payload()
    flipped.CopyFrom(sealed)
    flipped.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    moved = Payload()
    moved.CopyFrom(sealed)
    moved.metadata[KEY_ID] = b"system"  # another key id: the associated data no longer fits
    await EncryptionCodec(keys).encode([Payload(data=b"1")])  # the system key exists
    for bad in (flipped, moved):
        with pytest.raises(PayloadTampered):
            await codec.decode([bad])
    nameless = Payload(data=sealed.data, metadata={"encoding": ENCODING, KEY_ID: b"\x00\x01"})
    with pytest.raises(PayloadTampered):
        await codec.decode([nameless])


async def test_a_failure_message_is_encrypted(keys: CachedKeyStore) -> None:
    converter = data_converter(keys).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id=CASE)
    )
    failure = Failure()
    await converter.encode_failure(ApplicationError("Quaxelbrot fehlt", type="NotFound"), failure)
    assert b"Quaxelbrot" not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and decoded.message == "Quaxelbrot fehlt"
    assert decoded.type == "NotFound"


async def test_the_cache_is_bounded(keys: CachedKeyStore) -> None:
    for day in range(5):
        case = CASE[:-2] + f"{day:02d}"
        await EncryptionCodec(keys, case).encode(
            [Payload(data=date(2026, 1, day + 1).isoformat().encode())]
        )
    assert len(keys._ciphers) <= 2
