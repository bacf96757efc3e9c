"""The one way Lotse connects to Temporal: address, namespace, TLS and API key from
`Settings`, and the pydantic data converter (every payload is a pydantic model). The worker
and the API both call it; only the retry policy differs between them."""

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig

from app.settings import Settings


async def connect_client(settings: Settings, *, retry_config: RetryConfig | None = None) -> Client:
    """A client for Lotse's namespace; `retry_config` None keeps the SDK's default retries."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=settings.temporal_tls,
        api_key=api_key,
        retry_config=retry_config,
    )
