"""Every payload Lotse hands to Temporal, encrypted with its case's data key (AES-256-GCM).

The codec picks the key from the workflow id through the SDK's serialization context
(`temporalio.converter.WithSerializationContext`: the data converter calls `with_context`
with a `WorkflowSerializationContext` or `ActivitySerializationContext` that carries the
workflow id of the payload's workflow; for a child it is the child's id). A case, its
referrals and its notices share the case's key (`key_id_of`); every other workflow, and a
payload without context, uses the system key.

An encrypted payload is self-describing: metadata `encoding` = `binary/encrypted` and
`encryption-key-id` = the key id, so decoding needs no context (the codec server, the CLI,
a memo read from a list). The key id is authenticated as GCM's associated data. A payload
without that encoding was written before encryption and passes through unchanged.

The keys come from a `KeyStore` (store/keys.py implements it on the database; a KMS or Vault
transit can replace it), behind a bounded in-memory cache (`CachedKeyStore`).
"""

import asyncio
import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Protocol, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
SYSTEM_KEY_ID = "system"
NONCE_BYTES = 12
# A case's id inside any workflow id of the case: `case-<uuid>`, `case-<uuid>-ref-<n>`,
# `notice-case-<uuid>:…`.
_CASE_ID = re.compile(r"case-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
KEY_ID_MAX = 80


class KeyStore(Protocol):
    """Where data keys live, unwrapped on request. Raises `LookupError` for a key that is
    unknown (and `create` is False) or destroyed."""

    def data_key(self, key_id: str, *, create: bool) -> bytes:
        """The 32-byte key `key_id`; with `create`, made and stored on first use."""
        ...

    def destroy(self, key_id: str) -> None:
        """Forget the key for good (crypto-shredding): its payloads can no longer be decoded,
        and it is never made again."""
        ...


class PayloadKeyUnavailable(LookupError):
    """An encrypted payload whose key is destroyed (an erased case) or unknown here."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"data key {key_id!r} is destroyed or unknown: its payloads cannot be decoded"
        )
        self.key_id = key_id


class PayloadTampered(ValueError):
    """An encrypted payload that does not authenticate under its key."""


def sealed_key_id(payload: Payload) -> str | None:
    """The key an encrypted payload names; None for a payload that is not encrypted."""
    if payload.metadata.get("encoding") != ENCODING:
        return None
    try:
        key_id = payload.metadata.get(KEY_ID, b"").decode("ascii")
    except UnicodeDecodeError:
        key_id = ""
    if not key_id or len(key_id) > KEY_ID_MAX or not key_id.isprintable():
        raise PayloadTampered("encrypted payload without a valid key id")
    return key_id


def opened(payload: Payload, cipher: AESGCM, key_id: str) -> Payload:
    """The payload that `payload` seals under `cipher` (the key `key_id`)."""
    data = payload.data
    try:
        plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
    except InvalidTag as error:
        raise PayloadTampered(
            f"encrypted payload does not authenticate under key {key_id!r}"
        ) from error
    return Payload.FromString(plain)


def key_id_of(workflow_id: str | None) -> str:
    """The key of a workflow: its case's id, or the system key."""
    if workflow_id:
        match = _CASE_ID.search(workflow_id)
        if match:
            return match.group(0)
    return SYSTEM_KEY_ID


def context_key_id(context: SerializationContext) -> str:
    """The key of the workflow a serialization context names."""
    workflow_id: str | None = None
    if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
        workflow_id = context.workflow_id
    return key_id_of(workflow_id)


@dataclass
class _Cached:
    cipher: AESGCM
    until: float


class CachedKeyStore:
    """A `KeyStore` with the unwrapped keys of the last `size` cases in memory for `ttl`
    seconds: a payload costs a database read only on a miss. The time limit bounds how long
    another process may still decode after a `destroy`; a destroy through this object evicts
    at once, and for good: it remembers the key ids it destroyed (one per erasure in this
    process's life), so a read of the key that was under way while it was destroyed does not
    put it back into the cache."""

    def __init__(self, inner: KeyStore, *, size: int = 4096, ttl: float = 60.0) -> None:
        self.inner = inner
        self._size = size
        self._ttl = ttl
        self._ciphers: OrderedDict[str, _Cached] = OrderedDict()
        self._destroyed: set[str] = set()

    def data_key(self, key_id: str, *, create: bool) -> bytes:
        return self.inner.data_key(key_id, create=create)

    def destroy(self, key_id: str) -> None:
        self._destroyed.add(key_id)
        self._ciphers.pop(key_id, None)
        self.inner.destroy(key_id)

    async def cipher(self, key_id: str, *, create: bool) -> AESGCM:
        if key_id in self._destroyed:
            raise PayloadKeyUnavailable(key_id)
        cached = self._ciphers.get(key_id)
        now = monotonic()
        if cached is not None and cached.until > now:
            self._ciphers.move_to_end(key_id)
            return cached.cipher
        try:
            # The store may do I/O (a database, a KMS): off the event loop.
            key = await asyncio.to_thread(self.inner.data_key, key_id, create=create)
        except LookupError as error:
            self._ciphers.pop(key_id, None)
            raise PayloadKeyUnavailable(key_id) from error
        if key_id in self._destroyed:
            # Destroyed while it was being read: the read is older than the erasure.
            raise PayloadKeyUnavailable(key_id)
        cipher = AESGCM(key)
        self._ciphers[key_id] = _Cached(cipher, now + self._ttl)
        self._ciphers.move_to_end(key_id)
        while len(self._ciphers) > self._size:
            self._ciphers.popitem(last=False)
        return cipher


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """AES-256-GCM per payload under the key of the workflow the payload belongs to."""

    def __init__(self, keys: CachedKeyStore, key_id: str = SYSTEM_KEY_ID) -> None:
        self.keys = keys
        self.key_id = key_id

    def with_context(self, context: SerializationContext) -> Self:
        key_id = context_key_id(context)
        if key_id == self.key_id:
            return self
        return type(self)(self.keys, key_id)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self.encode_with(self.key_id, payloads)

    async def encode_with(self, key_id: str, payloads: Sequence[Payload]) -> list[Payload]:
        """`payloads` encrypted under `key_id` (already encrypted ones unchanged)."""
        if not payloads:
            return []
        cipher = await self.keys.cipher(key_id, create=True)
        aad = key_id.encode()
        encoded: list[Payload] = []
        for payload in payloads:
            if payload.metadata.get("encoding") == ENCODING:
                encoded.append(payload)
                continue
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), aad)
            encoded.append(
                Payload(metadata={"encoding": ENCODING, KEY_ID: aad}, data=nonce + sealed)
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded: list[Payload] = []
        for payload in payloads:
            key_id = sealed_key_id(payload)
            if key_id is None:
                decoded.append(payload)  # written before encryption, or never encrypted
                continue
            cipher = await self.keys.cipher(key_id, create=False)
            decoded.append(opened(payload, cipher, key_id))
        return decoded
