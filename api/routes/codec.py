"""The codec server of Temporal's web UI and CLI (Temporal's codec-server protocol), for
administrators only: `POST /codec/decode` and `POST /codec/encode` take and answer
`{"payloads": [...]}` in protobuf's JSON (bytes as base64), run through Lotse's codec
(app/payload_codec.py). Anyone else reads ciphertext in the UI and the CLI.

Decoding needs no workflow id: every encrypted payload names its key in its metadata (the UI
sends only the namespace, as `X-Namespace`). Encoding, which has no workflow to go by, uses
the system key; the case decodes such a payload all the same.

The UI calls from its own origin: CORS lets the configured Temporal UI origin
(`Settings.codec_origins`) call these two paths, and no other path of the API.
"""

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request, status
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads

from api.deps import Admin, ServicesDep
from api.errors import invalid
from app.payload_codec import (
    SYSTEM_KEY_ID,
    EncryptionCodec,
    PayloadKeyUnavailable,
    PayloadTampered,
)
from app.settings import Settings

router = APIRouter(prefix="/codec", tags=["codec"])

PREFIX = "/codec/"
MAX_PAYLOADS = 1000
MAX_METADATA = 20
MAX_NAME = 100
FIELD = "payloads"
NOT_JSON = "Der Inhalt ist kein gültiges JSON."
NOT_PAYLOADS = 'Erwartet wird {"payloads": [...]} mit Base64-kodierten Daten.'
TOO_MANY = f"Höchstens {MAX_PAYLOADS} Einträge auf einmal."
KEY_GONE = (
    "Der Schlüssel dieser Daten ist gelöscht oder unbekannt; sie lassen sich nicht entschlüsseln."
)
TAMPERED = "Die Daten sind beschädigt oder gehören nicht zu ihrem Schlüssel."
WRONG_NAMESPACE = "Dieser Namespace wird hier nicht entschlüsselt."

Namespace = Annotated[str | None, Header(alias="X-Namespace", max_length=200)]


async def _payloads(request: Request, namespace: str | None, settings: Settings) -> list[Payload]:
    if namespace is not None and namespace != settings.temporal_namespace:
        raise invalid("X-Namespace", WRONG_NAMESPACE)
    try:
        body: Any = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise invalid(FIELD, NOT_JSON) from None
    if not isinstance(body, dict) or not isinstance(body.get(FIELD), list):
        raise invalid(FIELD, NOT_PAYLOADS)
    if len(body[FIELD]) > MAX_PAYLOADS:
        raise invalid(FIELD, TOO_MANY)
    return [_payload(item) for item in body[FIELD]]


def _payload(item: Any) -> Payload:
    """One payload of protobuf's JSON mapping, every bytes field strict base64 (protobuf's
    own parser skips characters it does not know, so a mangled value would pass)."""
    if not isinstance(item, dict) or not set(item) <= {"metadata", "data"}:
        raise invalid(FIELD, NOT_PAYLOADS)
    metadata = item.get("metadata", {})
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA:
        raise invalid(FIELD, NOT_PAYLOADS)
    return Payload(
        metadata={_name(name): _bytes(value) for name, value in metadata.items()},
        data=_bytes(item.get("data", "")),
    )


def _name(name: str) -> str:
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise invalid(FIELD, NOT_PAYLOADS)
    return name


def _bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise invalid(FIELD, NOT_PAYLOADS)
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise invalid(FIELD, NOT_PAYLOADS) from None


def _answer(payloads: list[Payload]) -> JSONResponse:
    # protobuf's JSON mapping, as the UI expects it (bytes as base64).
    content = json_format.MessageToDict(Payloads(payloads=payloads))
    return JSONResponse({FIELD: content.get(FIELD, [])})


@router.post("/decode", name="codec.decode", status_code=status.HTTP_200_OK)
async def decode(
    request: Request, admin: Admin, services: ServicesDep, namespace: Namespace = None
) -> JSONResponse:
    """The payloads decrypted (those never encrypted: as they are)."""
    payloads = await _payloads(request, namespace, services.settings)
    try:
        decoded = await EncryptionCodec(services.keys).decode(payloads)
    except PayloadKeyUnavailable:
        raise invalid(FIELD, KEY_GONE) from None
    except (PayloadTampered, ValueError):
        # ValueError: protobuf's DecodeError of a plaintext that is no payload.
        raise invalid(FIELD, TAMPERED) from None
    return _answer(decoded)


@router.post("/encode", name="codec.encode", status_code=status.HTTP_200_OK)
async def encode(
    request: Request, admin: Admin, services: ServicesDep, namespace: Namespace = None
) -> JSONResponse:
    """The payloads encrypted under the system key (the UI names no workflow)."""
    payloads = await _payloads(request, namespace, services.settings)
    try:
        encoded = await EncryptionCodec(services.keys).encode_with(SYSTEM_KEY_ID, payloads)
    except PayloadKeyUnavailable:
        raise invalid(FIELD, KEY_GONE) from None
    return _answer(encoded)


class _CodecCors:
    """CORS for the codec's paths only: the UI's origin may call nothing else."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["authorization", "content-type", "x-namespace"],
            allow_credentials=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def allow_temporal_ui(app: FastAPI, settings: Settings) -> None:
    """Let the configured Temporal UI origin call the codec from the browser."""
    origins = settings.codec_origins
    if origins:
        app.add_middleware(_CodecCors, origins=origins)
