"""The one way Lotse connects to Temporal: address, namespace, TLS (server CA, client
certificate for mTLS) and API key from `Settings`, and the pydantic data converter (every
payload is a pydantic model). The worker and the API both call it; only the retry policy
differs between them."""

from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig, TLSConfig

from app.settings import Settings


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


async def connect_client(settings: Settings, *, retry_config: RetryConfig | None = None) -> Client:
    """A client for Lotse's namespace; `retry_config` None keeps the SDK's default retries."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=tls_config(settings),
        api_key=api_key,
        retry_config=retry_config,
    )
