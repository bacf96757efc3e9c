"""The one way Lotse connects to Temporal: address, namespace, TLS (server CA, client
certificate for mTLS) and API key from `Settings`, and the data converter: pydantic payloads
(every payload is a pydantic model), encrypted by the case's key (app/payload_codec.py),
failures' messages and stack traces moved into an encoded attribute so that the codec
encrypts them too, and headers (the actor of an update, workflows/actor_header.py) through the
codec as well (`HeaderCodecBehavior.CODEC`: a worker takes it from its client, so the worker's
client and the API's must both be made here). The worker and the API both call it; only the
retry policy differs between them."""

import dataclasses
from pathlib import Path
from typing import Self, cast

from temporalio.client import Client
from temporalio.common import HeaderCodecBehavior
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    SerializationContext,
)
from temporalio.service import RetryConfig, TLSConfig

from app.payload_codec import CachedKeyStore, EncryptionCodec, context_key_id
from app.settings import Settings


@dataclasses.dataclass(frozen=True)
class KeyedDataConverter(DataConverter):
    """`DataConverter` whose copy per serialization context is kept per key id. The SDK asks
    for a copy for nearly every payload it converts, and building one instantiates the payload
    and failure converters anew (about 30 µs, against 2 µs when the copy is the converter
    itself); only the codec's key depends on the context here, so one copy per key serves
    every workflow of a case."""

    copies: dict[str, DataConverter] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def with_context(self, context: SerializationContext) -> Self:
        key_id = context_key_id(context)
        found = self.copies.get(key_id)
        if found is None:
            found = super().with_context(context)
            if len(self.copies) >= MAX_COPIES:
                self.copies.clear()
            self.copies[key_id] = found
        return cast(Self, found)


MAX_COPIES = 4096


def data_converter(keys: CachedKeyStore) -> DataConverter:
    """Lotse's converter: pydantic JSON, encrypted with the keys of `keys`."""
    return KeyedDataConverter(
        payload_converter_class=PydanticPayloadConverter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def encrypted(client: Client, keys: CachedKeyStore) -> Client:
    """`client`'s connection with Lotse's encrypting converter."""
    config = client.config()
    config["data_converter"] = data_converter(keys)
    config["header_codec_behavior"] = HeaderCodecBehavior.CODEC
    return Client(**config)


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The SDK's TLS argument: a `TLSConfig` with the PEM files' bytes when a CA or a client
    certificate is set (mTLS: the frontend knows us by the certificate), else
    `LOTSE_TEMPORAL_TLS` (True: TLS with the system's CAs). The settings already refused a
    certificate without its key and a path that is no file."""
    if settings.temporal_tls_ca is None and settings.temporal_tls_cert is None:
        return settings.temporal_tls
    return TLSConfig(
        server_root_ca_cert=_read(settings.temporal_tls_ca),
        client_cert=_read(settings.temporal_tls_cert),
        client_private_key=_read(settings.temporal_tls_key),
    )


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


async def connect_client(
    settings: Settings, *, keys: CachedKeyStore, retry_config: RetryConfig | None = None
) -> Client:
    """A client for Lotse's namespace; `retry_config` None keeps the SDK's default retries."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(keys),
        tls=tls_config(settings),
        api_key=api_key,
        retry_config=retry_config,
        header_codec_behavior=HeaderCodecBehavior.CODEC,
    )
