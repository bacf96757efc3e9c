"""The codec server of Temporal's UI (api/routes/codec.py): Temporal's protocol for
administrators, a clear German 4xx naming the field for anything malformed, CORS for the
configured UI origin on its two paths only. The roles' answers are rows of
tests/api/test_authz.py."""

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload

from api.routes.codec import MAX_PAYLOADS
from app.payload_codec import EncryptionCodec
from store.keys import SqlKeyStore
from tests.api_harness import StoreOnly, store_only
from tests.key_harness import MASTER_KEY, session_keys

CASE = "case-7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PLAIN = {"metadata": {"encoding": _b64(b"json/plain")}, "data": _b64(b'{"given_name":"Zora"}')}


@pytest.fixture(scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StoreOnly]:
    async with store_only("sqlite", tmp_path_factory.mktemp("codec")) as running:
        yield running


async def _codec(system: StoreOnly, path: str, body: Any, **headers: str) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await system.call(
        "admin",
        "POST",
        f"/codec/{path}",
        content=content,
        headers={"Content-Type": "application/json", **headers},
    )


async def test_an_admin_encodes_and_decodes_in_temporals_protocol(system: StoreOnly) -> None:
    encoded = await _codec(system, "encode", {"payloads": [PLAIN]}, **{"X-Namespace": "default"})
    assert encoded.status_code == 200, encoded.text
    [sealed] = encoded.json()["payloads"]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
    assert b"Zora" not in base64.b64decode(sealed["data"])
    decoded = await _codec(system, "decode", {"payloads": [sealed, PLAIN]})
    assert decoded.status_code == 200, decoded.text
    assert decoded.json() == {"payloads": [PLAIN, PLAIN]}  # one sealed, one from before


async def test_a_case_payload_decodes_without_its_workflow_id(system: StoreOnly) -> None:
    [sealed] = await EncryptionCodec(session_keys(), CASE).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b'"Zora"')]
    )
    body = {
        "payloads": [
            {
                "metadata": {k: _b64(v) for k, v in sealed.metadata.items()},
                "data": _b64(sealed.data),
            }
        ]
    }
    decoded = await _codec(system, "decode", body)
    assert decoded.status_code == 200, decoded.text
    assert base64.b64decode(decoded.json()["payloads"][0]["data"]) == b'"Zora"'
    # Erased: the same request is a clear refusal, not a crash.
    session_keys().destroy(CASE)
    refused = await _codec(system, "decode", body)
    assert refused.status_code == 422
    assert "gelöscht oder unbekannt" in refused.json()["detail"]
    assert refused.json()["errors"][0]["field"] == "payloads"
    assert SqlKeyStore(_engine(), MASTER_KEY).is_destroyed(CASE)


def _engine() -> Any:
    return session_keys().inner._engine  # type: ignore[attr-defined]


def _sealed(key_id: bytes, data: bytes = b"\x00" * 40) -> dict[str, Any]:
    return {
        "metadata": {"encoding": _b64(b"binary/encrypted"), "encryption-key-id": _b64(key_id)},
        "data": _b64(data),
    }


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"{nicht json", "kein gültiges JSON"),
        (b"\xff\xfe", "kein gültiges JSON"),
        ({"payloads": "x"}, "Erwartet wird"),
        ({"unbekannt": 1}, "Erwartet wird"),
        ({"payloads": [{"data": "%%%nicht-base64%%%"}]}, "Erwartet wird"),
        ({"payloads": [{"metadata": {"encoding": "\u0000\u0007"}, "data": ""}]}, "Erwartet wird"),
        ({"payloads": [{"data": "", "extra": 1}]}, "Erwartet wird"),
        ({"payloads": [{}] * (MAX_PAYLOADS + 1)}, "Höchstens"),
        ({"payloads": [_sealed(b"case-unknown-key")]}, "gelöscht oder unbekannt"),
        ({"payloads": [_sealed(b"system")]}, "beschädigt"),
        ({"payloads": [_sealed(b"\x00\x1b[31m")]}, "beschädigt"),
        ({"payloads": [_sealed(b"k" * 5000)]}, "beschädigt"),
    ],
)
async def test_hostile_input_is_a_german_422_naming_the_field(
    system: StoreOnly, body: Any, said: str
) -> None:
    await _codec(system, "encode", {"payloads": [PLAIN]})  # the system key exists
    for path in ("decode", "encode"):
        response = await _codec(system, path, body)
        if path == "encode" and said in ("gelöscht oder unbekannt", "beschädigt"):
            # Encoding leaves an encrypted payload as it is.
            assert response.status_code == 200, response.text
            continue
        assert response.status_code == 422, (path, response.text)
        answer = response.json()
        assert said in answer["detail"], answer
        assert answer["errors"][0]["field"] == "payloads"


async def test_a_huge_body_or_another_namespace_is_refused(system: StoreOnly) -> None:
    huge = json.dumps({"payloads": [{"data": _b64(b"x" * 200_000)}]}).encode()
    response = await _codec(system, "decode", huge)
    assert response.status_code == 413
    assert "zu groß" in response.json()["detail"]
    other = await _codec(system, "decode", {"payloads": [PLAIN]}, **{"X-Namespace": "fremd"})
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "X-Namespace"


async def test_cors_lets_the_temporal_ui_call_the_codec_and_nothing_else(
    system: StoreOnly,
) -> None:
    ui = "http://127.0.0.1:8233"  # the dev server's UI, the development default
    preflight = {
        "Origin": ui,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    allowed = await system.http.options("/codec/decode", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ui
    stranger = await system.http.options(
        "/codec/decode", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in stranger.headers
    elsewhere = await system.http.options("/cases", headers=preflight)
    assert "access-control-allow-origin" not in elsewhere.headers
    # No token: 401 still carries CORS, so the UI can say why it shows ciphertext.
    anonymous = await system.http.post(
        "/codec/decode", json={"payloads": [PLAIN]}, headers={"Origin": ui}
    )
    assert anonymous.status_code == 401
    assert anonymous.headers["access-control-allow-origin"] == ui
