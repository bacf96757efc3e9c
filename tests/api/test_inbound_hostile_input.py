"""Hostile input to referrals to a counselling centre, over HTTP, on SQLite and on PostgreSQL
(skipped when LOTSE_TEST_POSTGRES_URL is unset). The app runs without Temporal: nothing here
may get as far as opening a case.

Every text field of `POST /inbound-referrals` and the decline's reason is sent with NUL, a C1
control, ESC, a bidi override and isolate, a line break (single-line fields) and a huge value;
then bad and out-of-range values (empty, too long, a phone of letters, an e-mail without a
domain, numbers and lists where text belongs, unknown fields, consent as a string, a centre of
another municipality), bodies that are no JSON or too large, query parameters out of range,
and path ids with control characters or of huge length. Each answer is a 4xx with a German
message naming the field, never a 5xx; nothing is stored or changed; a valid referral and a
valid decline still go through afterwards.
"""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from domain.enums import CentreKind
from store.models import Centre, InboundReferral, Municipality
from tests.api_harness import StoreOnly, store_only
from tests.hostile_values import store_texts_are_clean, variants, with_value

BODY: dict[str, Any] = {
    "centre_id": "mbe-mitte",
    "client": {"given_name": "Amina", "family_name": "Karimi"},
    "contact": {"phone": "0211 23125 333", "email": "amina.karimi@example.org"},
    "reason": "Möchte Beratung zur Anerkennung ihres Abschlusses.",
    "client_consents": True,
}
TEXT_FIELDS = {
    "centre_id": "line",
    "client.given_name": "line",
    "client.family_name": "line",
    "contact.phone": "line",
    "contact.email": "line",
    "reason": "text",
}
# (field, value, words of the German message): wrong, empty, too long, out of range.
BAD_VALUES: list[tuple[str, Any, str]] = [
    ("centre_id", "", "Bitte wählen Sie eine Beratungsstelle"),
    ("centre_id", "mbe-beispielheim", "eigenen Kommune"),
    ("centre_id", "x" * 65, "Zu lang"),
    ("centre_id", 7, "Erwartet wird ein Text"),
    ("client.given_name", "", "Bitte geben Sie den Vornamen ein"),
    ("client.given_name", "A" * 101, "Zu lang"),
    ("client.given_name", 42, "Erwartet wird ein Text"),
    ("client.family_name", ["Karimi"], "Erwartet wird ein Text"),
    ("client.middle_name", "Nur", "Unbekanntes Feld"),
    ("client", "Amina Karimi", "Erwartet wird ein Objekt"),
    ("contact", "0211 1234", "Erwartet wird ein Objekt"),
    ("contact.phone", "ruf mich an", "Telefonnummer"),
    ("contact.phone", "0" * 41, "Zu lang"),
    ("contact.email", "amina.example.org", "E-Mail-Adresse"),
    ("contact.email", "amina@beispiel", "E-Mail-Adresse"),
    ("contact.email", "a" * 250 + "@b.de", "Zu lang"),
    ("contact.fax", "0211 1", "Unbekanntes Feld"),
    ("reason", "", "Bitte beschreiben Sie den Anlass der Vermittlung"),
    ("reason", "x" * 2001, "Zu lang"),
    ("reason", {"text": "Hilfe"}, "Erwartet wird ein Text"),
    ("client_consents", "true", "client_consents"),
    ("client_consents", 1, "client_consents"),
    ("geburtsdatum", "1990-05-17", "Unbekanntes Feld"),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("hostile")) as system:
        system.add(Municipality(id="beispielheim", name="Beispielheim", land="BY"))
        system.add(
            Centre(
                id="mbe-beispielheim",
                name="MBE Beispielheim",
                kind=CentreKind.MBE,
                municipality_id="beispielheim",
            )
        )
        yield system


def _rows(system: StoreOnly) -> list[dict[str, Any]]:
    with Session(system.engine) as session:
        rows = session.exec(select(InboundReferral).order_by(InboundReferral.id)).all()
        return [row.model_dump() for row in rows]


def _refused_with(response: httpx.Response, field: str, words: str, where: str) -> None:
    """A 422 in German naming `field`, its message holding `words`."""
    assert response.status_code == 422, f"{where}: {response.status_code} {response.text}"
    answer = response.json()
    assert answer["detail"].startswith("Ungültige Eingabe"), where
    messages = {e["field"]: e["message"] for e in answer["errors"]}
    assert field in messages, f"{where}: {answer}"
    assert words in f"{field}: {messages[field]}", f"{where}: {messages[field]}"


async def test_hostile_referrals_are_422_naming_the_field_and_nothing_is_stored(
    system: StoreOnly,
) -> None:
    before = _rows(system)
    for field, kind in TEXT_FIELDS.items():
        for label, value, words in variants(kind):
            response = await system.call(
                "jobcenter", "POST", "/inbound-referrals", json=with_value(BODY, field, value)
            )
            _refused_with(response, field, words, f"{field} {label}")
    for field, value, words in BAD_VALUES:
        response = await system.call(
            "jobcenter", "POST", "/inbound-referrals", json=with_value(BODY, field, value)
        )
        _refused_with(response, field, words, f"{field} = {str(value)[:20]!r}")
    assert _rows(system) == before
    assert store_texts_are_clean(system.engine)
    # Not wedged: the same partner refers the same client right after.
    created = await system.call("jobcenter", "POST", "/inbound-referrals", json=BODY)
    assert created.status_code == 201, created.text


async def test_bodies_that_are_no_referral_are_refused_in_german(system: StoreOnly) -> None:
    before = _rows(system)
    headers = {"Content-Type": "application/json"}
    for content, status, words in (
        (b'{"centre_id": "mbe-mitte",', 422, "Kein gültiges JSON"),
        (b"[]", 422, "Erwartet wird ein Objekt"),
        (b"\xff\xfe", 422, "JSON"),
        (b'{"reason": "' + b"x" * 70_000 + b'"}', 413, "zu groß"),
    ):
        response = await system.call(
            "jobcenter", "POST", "/inbound-referrals", content=content, headers=headers
        )
        assert response.status_code == status, (content[:30], response.text)
        assert words in response.json()["detail"], response.text
    assert _rows(system) == before


async def test_hostile_declines_are_422_and_the_referral_stays_open(system: StoreOnly) -> None:
    created = await system.call("jobcenter", "POST", "/inbound-referrals", json=BODY)
    referral_id = created.json()["id"]
    path = f"/inbound-referrals/{referral_id}/decline"
    before = _rows(system)
    for label, value, words in variants("text"):
        response = await system.call("berater1", "POST", path, json={"reason": value})
        _refused_with(response, "reason", words, f"reason {label}")
    for body, field, words in (
        ({"reason": ""}, "reason", "Bitte nennen Sie einen Grund für die Ablehnung"),
        ({"reason": "x" * 2001}, "reason", "Zu lang"),
        ({"reason": 404}, "reason", "Erwartet wird ein Text"),
        ({}, "reason", "Bitte nennen Sie einen Grund für die Ablehnung"),
        ({"reason": "Kein Platz", "case_id": "case-x"}, "case_id", "Unbekanntes Feld"),
    ):
        response = await system.call("berater1", "POST", path, json=body)
        _refused_with(response, field, words, str(body)[:40])
    assert _rows(system) == before
    declined = await system.call("berater1", "POST", path, json={"reason": "Kein Platz"})
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert store_texts_are_clean(system.engine)


async def test_hostile_ids_and_query_parameters_are_4xx_never_5xx(system: StoreOnly) -> None:
    before = _rows(system)
    for user, path, field, words in (
        ("berater1", "/inbound-referrals/%00/accept", "inbound_referral_id", "Steuerzeichen"),
        ("berater1", "/inbound-referrals/x%00y/decline", "inbound_referral_id", "Steuerzeichen"),
        ("berater1", "/inbound-referrals/%E2%80%AE/accept", "inbound_referral_id", "Schreibricht"),
        ("berater1", f"/inbound-referrals/{'i' * 500}/accept", "inbound_referral_id", "Zu lang"),
        ("berater1", "/inbound-referrals?status=angenommen", "status", "Unbekannter Wert"),
        ("berater1", "/inbound-referrals?status=%00", "status", "Unbekannter Wert"),
        ("berater1", "/inbound-referrals?page=0", "page", "mindestens 1"),
        ("berater1", "/inbound-referrals?page_size=100000", "page_size", "höchstens 200"),
        ("jobcenter", "/inbound-referrals/sent?page=abc", "page", "ganze Zahl"),
        ("jobcenter", "/inbound-referrals/sent?page=99999999999", "page", "höchstens"),
        ("koordination", "/supervision/inbound-referrals?page_size=0", "page_size", "mindestens"),
    ):
        method = "POST" if path.endswith(("/accept", "/decline")) else "GET"
        body = {"reason": "Kein Platz"} if path.endswith("/decline") else None
        response = await system.call(user, method, path, json=body)
        _refused_with(response, field, words, path[:60])
    # A well-formed id of nothing, or of no inbound referral: 404 like any other.
    for path in ("/inbound-referrals/inbound-kaputt/accept", "/inbound-referrals/case-1/accept"):
        response = await system.call("berater1", "POST", path)
        assert response.status_code == 404, response.text
    assert _rows(system) == before
    listed = await system.call("berater1", "GET", "/inbound-referrals")
    assert listed.status_code == 200
