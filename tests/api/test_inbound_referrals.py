"""Referrals to a counselling centre through the JSON API, on SQLite and PostgreSQL: a partner
refers a client to a centre of its municipality, the centre's counsellors see and decline it,
the partner sees what became of it, coordination sees the networking facts without names.

Creating, listing and declining read and write only the store, so the app runs without
Temporal here (its address answers nothing: an accept is then a 503, which shows what a crash
before the case's start leaves). Accepting, which opens a case, is in test_inbound_accept.py.
"""

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import Session, col, select

from domain.enums import CentreKind
from store.models import Centre, InboundReferral, Municipality
from store.projections import AuditEvent
from tests.api_harness import StoreOnly, store_only

ELSEWHERE = "beispielheim"
NAMES = ("Leyla", "Aydin")


def referral_body(centre_id: str = "mbe-mitte", **changes: Any) -> dict[str, Any]:
    return {
        "centre_id": centre_id,
        "client": {"given_name": NAMES[0], "family_name": NAMES[1]},
        "contact": {"phone": "0211 23125 333", "email": "leyla.aydin@example.org"},
        "reason": "Sucht Beratung zu Sprachkurs und Arbeit; spricht Türkisch und etwas Deutsch.",
        "client_consents": True,
        **changes,
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("inbound")) as system:
        system.add(Municipality(id=ELSEWHERE, name="Beispielheim", land="BY"))
        system.add(
            Centre(
                id="mbe-beispielheim",
                name="MBE Beispielheim",
                kind=CentreKind.MBE,
                municipality_id=ELSEWHERE,
            )
        )
        yield system


async def _refer(system: StoreOnly, partner: str = "jobcenter", **changes: Any) -> str:
    response = await system.call(
        partner, "POST", "/inbound-referrals", json=referral_body(**changes)
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "open"
    referral_id: str = response.json()["id"]
    return referral_id


def _row(system: StoreOnly, referral_id: str) -> InboundReferral | None:
    with Session(system.engine) as session:
        return session.get(InboundReferral, referral_id)


def _count(system: StoreOnly) -> int:
    with Session(system.engine) as session:
        return len(session.exec(select(InboundReferral.id)).all())


async def _items(system: StoreOnly, username: str, path: str) -> dict[str, dict[str, Any]]:
    page = await system.api(username, path, page_size=200)
    return {item["id"]: item for item in page["items"]}


async def test_the_centre_sees_what_the_partner_sent_and_the_partner_its_status(
    system: StoreOnly,
) -> None:
    referral_id = await _refer(system)

    incoming = (await _items(system, "berater1", "/inbound-referrals"))[referral_id]
    assert incoming["status"] == "open"
    assert (incoming["partner_id"], incoming["partner_kind"]) == (
        "jobcenter-musterstadt",
        "jobcenter",
    )
    assert incoming["client"] == {"given_name": "Leyla", "family_name": "Aydin"}
    assert incoming["contact"] == {"phone": "0211 23125 333", "email": "leyla.aydin@example.org"}
    assert incoming["reason"].startswith("Sucht Beratung")
    assert incoming["case_id"] is None and incoming["decided_at"] is None
    # Another centre of the municipality sees nothing of it.
    assert referral_id not in await _items(system, "berater2", "/inbound-referrals")
    opened = await system.api("berater1", "/inbound-referrals", status="open")
    assert referral_id in {item["id"] for item in opened["items"]}
    declined = await system.api("berater1", "/inbound-referrals", status="declined")
    assert referral_id not in {item["id"] for item in declined["items"]}

    sent = (await _items(system, "jobcenter", "/inbound-referrals/sent"))[referral_id]
    assert sent["status"] == "open"
    assert (sent["centre_id"], sent["centre_name"]) == ("mbe-mitte", "MBE Musterstadt-Mitte")
    assert sent["client"] == "Leyla A."
    assert referral_id not in await _items(system, "sprachkurs", "/inbound-referrals/sent")

    # Coordination: who referred to whom and when; no name, contact or reason.
    response = await system.call("koordination", "GET", "/supervision/inbound-referrals")
    assert response.status_code == 200
    facts = {item["id"]: item for item in response.json()["items"]}[referral_id]
    assert facts["centre_id"] == "mbe-mitte" and facts["partner_kind"] == "jobcenter"
    for personal in (*NAMES, "0211", "example.org", "Sprachkurs und Arbeit"):
        assert personal not in response.text


@pytest.mark.parametrize(
    "consent", [False, None, "true", 1, "ja", {"missing": True}], ids=lambda v: repr(v)
)
async def test_without_the_clients_consent_nothing_is_referred(
    system: StoreOnly, consent: Any
) -> None:
    before = _count(system)
    body = referral_body()
    if consent == {"missing": True}:
        del body["client_consents"]
    else:
        body["client_consents"] = consent
    response = await system.call("jobcenter", "POST", "/inbound-referrals", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("Ungültige Eingabe")
    assert [e["field"] for e in response.json()["errors"]] == ["client_consents"]
    assert _count(system) == before


async def test_an_unknown_centre_and_one_of_another_municipality_get_the_same_answer(
    system: StoreOnly,
) -> None:
    before = _count(system)
    answers = []
    for centre_id in ("mbe-beispielheim", "gibt-es-nicht", "MBE-MITTE"):
        response = await system.call(
            "jobcenter", "POST", "/inbound-referrals", json=referral_body(centre_id)
        )
        answers.append((response.status_code, response.json()))
    assert answers[0][0] == 422
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][1]["errors"][0]["field"] == "centre_id"
    assert "Kommune" in answers[0][1]["errors"][0]["message"]
    assert _count(system) == before


async def test_another_centres_referral_answers_exactly_like_a_missing_one(
    system: StoreOnly,
) -> None:
    referral_id = await _refer(system)
    answers = []
    for target in (referral_id, f"inbound-{uuid.uuid4()}", "kein-vorgang"):
        for verb, body in (("accept", None), ("decline", {"reason": "Nicht zuständig"})):
            response = await system.call(
                "berater2", "POST", f"/inbound-referrals/{target}/{verb}", json=body
            )
            answers.append((response.status_code, response.json()))
    assert {status for status, _ in answers} == {404}
    assert len({str(answer) for _, answer in answers}) == 1
    row = _row(system, referral_id)
    assert row is not None and row.status == "open" and row.case_id is None
    with Session(system.engine) as session:
        denied = session.exec(
            select(AuditEvent.action).where(
                AuditEvent.actor == "berater2", AuditEvent.object_id == referral_id
            )
        ).all()
    assert sorted(denied) == ["inbound_referral.accept.denied", "inbound_referral.decline.denied"]


async def test_a_decline_is_final_and_the_partner_reads_its_reason(system: StoreOnly) -> None:
    referral_id = await _refer(system)
    path = f"/inbound-referrals/{referral_id}"
    first = await system.call("berater1", "POST", f"{path}/decline", json={"reason": "Kein Platz"})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "declined" and first.json()["case_id"] is None
    # Sent twice (a double click): the same answer, the first reason stays.
    again = await system.call("berater1", "POST", f"{path}/decline", json={"reason": "Anders"})
    assert again.status_code == 200 and again.json() == first.json()
    accepted = await system.call("berater1", "POST", f"{path}/accept")
    assert accepted.status_code == 409
    assert accepted.json()["detail"] == (
        "Diese Vermittlung ist abgelehnt; annehmen ist nicht mehr möglich."
    )
    sent = (await _items(system, "jobcenter", "/inbound-referrals/sent"))[referral_id]
    assert (sent["status"], sent["decline_reason"]) == ("declined", "Kein Platz")
    assert sent["decided_at"] is not None
    row = _row(system, referral_id)
    assert row is not None and (row.decided_by, row.case_id) == ("berater1", None)


async def test_an_accept_that_could_not_start_the_case_keeps_the_referral_open_for_a_retry(
    system: StoreOnly,
) -> None:
    """Temporal unreachable (this app's address answers nothing): the accept fails with 503
    after it claimed the case id, as a crash before the start would leave it. The partner still
    sees "open"; a decline now would race the retried accept, so it is refused."""
    referral_id = await _refer(system)
    path = f"/inbound-referrals/{referral_id}"
    response = await system.call("berater1", "POST", f"{path}/accept")
    assert response.status_code == 503, response.text
    assert "Prozessdienst" in response.json()["detail"]
    sent = (await _items(system, "jobcenter", "/inbound-referrals/sent"))[referral_id]
    assert sent["status"] == "open"
    incoming = (await _items(system, "berater1", "/inbound-referrals"))[referral_id]
    assert (incoming["status"], incoming["case_id"]) == ("open", None)
    declined = await system.call("berater1", "POST", f"{path}/decline", json={"reason": "Doch"})
    assert declined.status_code == 409
    assert "wird gerade angenommen" in declined.json()["detail"]
    row = _row(system, referral_id)
    assert row is not None and row.status == "open" and row.case_id is not None


async def test_a_retried_referral_with_the_same_key_is_stored_once(system: StoreOnly) -> None:
    before = _count(system)
    headers = {"Idempotency-Key": f"weiterleitung-{uuid.uuid4()}"}
    answers = [
        await system.call(
            "jobcenter", "POST", "/inbound-referrals", json=referral_body(), headers=headers
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert _count(system) == before + 1
    # Another account's key of the same text is another referral.
    other = await system.call(
        "auslaenderbehoerde", "POST", "/inbound-referrals", json=referral_body(), headers=headers
    )
    assert other.status_code == 201 and other.json()["id"] != answers[0].json()["id"]


async def test_names_contact_and_reason_reach_no_log_and_no_audit_entry(
    system: StoreOnly, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Zeynep-Protokoll"
    with caplog.at_level(logging.DEBUG):
        referral_id = await _refer(
            system,
            client={"given_name": secret, "family_name": secret},
            contact={"phone": "0211 98765 4321", "email": f"{secret}@example.org"},
            reason=f"Anlass {secret}",
        )
        # Refusals too: their messages name fields, never the values.
        refused = await system.call(
            "jobcenter",
            "POST",
            "/inbound-referrals",
            json=referral_body(client={"given_name": secret + "\x00", "family_name": secret}),
        )
        assert refused.status_code == 422 and secret not in refused.text
        await system.call(
            "berater1",
            "POST",
            f"/inbound-referrals/{referral_id}/decline",
            json={"reason": f"Absage {secret}"},
        )
        await system.api("berater1", "/inbound-referrals")
        await system.api("jobcenter", "/inbound-referrals/sent")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert secret not in logged and "98765" not in logged
    with Session(system.engine) as session:
        entries = session.exec(
            select(AuditEvent).where(col(AuditEvent.object_id) == referral_id)
        ).all()
    assert {entry.action for entry in entries} == {
        "inbound_referral.create",
        "inbound_referral.decline",
    }
    assert all(secret not in str(entry.model_dump()) for entry in entries)
    metrics = await system.http.get("/metrics")
    assert secret not in metrics.text
