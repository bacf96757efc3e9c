"""The one way Lotse connects to Temporal: address, namespace, TLS and API key from
`Settings`, and the data converter: pydantic payloads (every payload is a pydantic model),
encrypted by the case's key (app/payload_codec.py), failures' messages and stack traces
moved into an encoded attribute so that the codec encrypts them too, and headers (the
actor of an update, workflows/actor_header.py) through the codec as well
(`HeaderCodecBehavior.CODEC`: a worker takes it from its client, so the worker's client and the
API's must both be made here). The worker and the API both call it; only the retry policy
differs between them."""

from temporalio.client import Client
from temporalio.common import HeaderCodecBehavior
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.service import RetryConfig

from app.payload_codec import CachedKeyStore, EncryptionCodec
from app.settings import Settings


def data_converter(keys: CachedKeyStore) -> DataConverter:
    """Lotse's converter: pydantic JSON, encrypted with the keys of `keys`."""
    return DataConverter(
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


async def connect_client(
    settings: Settings, *, keys: CachedKeyStore, retry_config: RetryConfig | None = None
) -> Client:
    """A client for Lotse's namespace; `retry_config` None keeps the SDK's default retries."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(keys),
        tls=settings.temporal_tls,
        api_key=api_key,
        retry_config=retry_config,
        header_codec_behavior=HeaderCodecBehavior.CODEC,
    )
