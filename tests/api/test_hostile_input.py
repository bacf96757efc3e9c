"""Hostile text and dates through every step of a case, over HTTP, on SQLite and on PostgreSQL
(skipped when LOTSE_TEST_POSTGRES_URL is unset), with a real Temporal and worker.

Before each valid step of one case's life (open, search, intake, intake correction, assessment,
draft, signature request in an edition, its withdrawal, the PDF, signatures, the partner's
answers, the check-off of the client's own measure, review, task, reassignment, transfer,
closing, closing as a duplicate) every text field of that step is sent with NUL, a C1 control,
a bidi override or isolate, a line break (single-line fields) and a huge value, and every date
with a day outside 1900-2200. Each answer is a 422 with a German message naming the field (a
step the stage does not allow: a German 409); the case is unchanged; the valid step that
follows is taken. At the end the read model holds none of the refused values: on PostgreSQL
a NUL there would have failed the projection on every retry.
"""

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.months import german_day
from store.testing import BACKENDS
from tests.api_harness import Lotse, eventually
from tests.backend_harness import running_lotse_on, store_of
from tests.hostile_values import HUGE, store_texts_are_clean, variants, with_value
from tests.samples import ASSESSMENT, INTAKE
from tests.ui_harness import Browser


@pytest.fixture(params=BACKENDS)
async def lotse(
    request: pytest.FixtureRequest, dev_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[Lotse]:
    # The dev server: a review continues the case as new (the time-skipping server does not
    # answer queries to the new run reliably).
    with store_of(request, tmp_path) as engine:
        async with running_lotse_on(dev_env, tmp_path, engine) as system:
            yield system


async def _refused(
    lotse: Lotse, user: str, path: str, body: dict[str, Any], fields: dict[str, str]
) -> None:
    """Each field of `fields` ({dotted path: "line" | "text" | "date"}) with each bad value:
    a 422 naming exactly that field, in German."""
    for field, kind in fields.items():
        for label, value, words in variants(kind):
            response = await lotse.post(user, path, json=with_value(body, field, value))
            where = f"{path} {field} {label}"
            assert response.status_code == 422, f"{where}: {response.status_code} {response.text}"
            answer = response.json()
            assert answer["detail"].startswith("Ungültige Eingabe"), where
            messages = {e["field"]: e["message"] for e in answer["errors"]}
            assert field in messages, f"{where}: {answer}"
            assert words in messages[field], f"{where}: {messages[field]}"


# What a refused request must leave as it was. Not the run's bookkeeping, which moves on its
# own (events not yet projected, search attributes, what continue-as-new hands to the archive):
# any change of the case adds an event (next_sequence) or an id (next_serial) anyway.
CASE_FACTS = (
    "stage",
    "next_sequence",
    "next_serial",
    "client",
    "profile",
    "needs",
    "goals",
    "measures",
    "tasks",
    "referrals",
    "centre_id",
    "counsellor_id",
    "next_review_due",
    "closure",
    "documents",
)


async def _fingerprint(lotse: Lotse, case_id: str) -> dict[str, Any]:
    state: dict[str, Any] = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    return {fact: state.get(fact) for fact in CASE_FACTS}


async def test_hostile_values_at_every_step_are_422_and_the_case_goes_on(lotse: Lotse) -> None:
    opened_before = await _case_ids(lotse)
    client = {"client": {"given_name": "Amina", "family_name": "Karimi"}}
    await _refused(
        lotse,
        "berater1",
        "/cases",
        client,
        {"client.given_name": "line", "client.family_name": "line"},
    )
    case_id = (await lotse.ok("berater1", "POST", "/cases", json=client))["id"]
    await lotse.projected(case_id)
    assert await _case_ids(lotse) == opened_before | {case_id}  # no case from a refused name
    await _search_refuses_hostile_values_and_finds(lotse, case_id)

    async def step(
        path: str, body: dict[str, Any], fields: dict[str, str], user: str = "berater1"
    ) -> Any:
        before = await _fingerprint(lotse, case_id)
        await _refused(lotse, user, path, body, fields)
        assert await _fingerprint(lotse, case_id) == before, path
        return await lotse.ok(user, "POST", path, json=body)

    base = f"/cases/{case_id}"
    intake = INTAKE | {"children": [{"birth_date": "2020-02-01", "has_childcare": True}]}
    await step(
        f"{base}/intake",
        intake,
        {
            "qualifications.0.title": "line",
            "birth_date": "date",
            "residence.expires_on": "date",
            "children.0.birth_date": "date",
        },
    )
    corrected = await step(
        f"{base}/intake-corrections",
        intake | {"birth_date": "1990-05-18"},
        {
            "qualifications.0.title": "line",
            "birth_date": "date",
            "residence.expires_on": "date",
            "children.0.birth_date": "date",
        },
    )
    assert corrected["stage"] == "assessment"
    await step(f"{base}/assessment", ASSESSMENT, {"needs.0.note": "text"})

    state = await lotse.ok("berater1", "GET", base)
    routed = [route for route in state["routes"] if route["partner_id"] is not None]
    draft = {
        "goals": [{"text": "Deutsch auf B1", "target_date": "2027-06-30"}],
        "measures": [
            {
                "text": f"Maßnahme {route['measure']}",
                "responsible": "partner",
                "route_id": route["id"],
            }
            for route in routed
        ]
        + [{"text": "Kita-Anmeldung selbst abgeben", "responsible": "client"}],
    }
    override = with_value(
        draft, "measures.0", draft["measures"][0] | {"partner_id": "x", "override_reason": "nah"}
    )
    await _refused(
        lotse,
        "berater1",
        f"{base}/agreement",
        override,
        {"measures.0.partner_id": "line", "measures.0.override_reason": "text"},
    )
    await step(
        f"{base}/agreement",
        draft,
        {
            "goals.0.text": "text",
            "goals.0.target_date": "date",
            "goals.0.id": "line",
            "measures.0.text": "text",
            "measures.0.route_id": "line",
        },
    )
    requested = await _presented_withdrawn_and_presented_again(lotse, case_id)
    for party in ("client", "counsellor"):
        signature = {"party": party, "document_hash": requested["document_hash"]}
        before = await _fingerprint(lotse, case_id)
        for bad in ("\x00" * 64, requested["document_hash"][:-1] + "\u202e", "z" * 64):
            response = await lotse.post(
                "berater1", f"{base}/signatures", json=signature | {"document_hash": bad}
            )
            assert (
                response.status_code == 422
                and response.json()["errors"][0]["field"] == "document_hash"
            )
            assert "Das Format stimmt nicht" in response.json()["errors"][0]["message"]
        assert await _fingerprint(lotse, case_id) == before
        await lotse.ok("berater1", "POST", f"{base}/signatures", json=signature)

    await _agreement_pdf_refuses_hostile_ids(lotse, case_id)
    await _own_measure_check_off_refuses_hostile_values(lotse, case_id, step)

    # The partner's three answers, then a valid progress note.
    referral_id = await _referral(lotse, "sprachkurs", case_id)
    inbox_before = await _inbox_row(lotse, referral_id)
    ref = f"/referrals/{referral_id}"
    await _refused(
        lotse, "sprachkurs", f"{ref}/decline", {"reason": "Kurs voll"}, {"reason": "text"}
    )
    await _refused(
        lotse,
        "sprachkurs",
        f"{ref}/complete",
        {"result": "achieved", "note": "B1"},
        {"note": "text"},
    )
    await _refused(lotse, "sprachkurs", f"{ref}/progress", {"note": "begonnen"}, {"note": "text"})
    assert await _inbox_row(lotse, referral_id) == inbox_before
    await lotse.ok("sprachkurs", "POST", f"{ref}/acknowledge")
    answer = await lotse.ok(
        "sprachkurs", "POST", f"{ref}/progress", json={"note": "Kurs begonnen\nWoche 1"}
    )
    assert answer["id"] == referral_id

    async def progress_reported() -> bool:
        # The referral reports to its case on its own time: wait, so no step below sees the
        # case change under it.
        events = (await lotse.ok("berater1", "GET", f"{base}/history"))["events"]
        return any(event["kind"] == "referral_progress" for event in events)

    await eventually(progress_reported)
    state = await lotse.ok("berater1", "GET", base)
    goal_id = state["goals"][0]["id"]
    review = {
        "goal_progress": [{"goal_id": goal_id, "status": "in_progress", "note": "gut\tvoran"}],
        "new_needs": [{"kind": "childcare", "note": "Kita-Platz fehlt"}],
        "next_review_on": "2027-01-15",
    }
    await step(
        f"{base}/reviews",
        review,
        {
            "goal_progress.0.goal_id": "line",
            "goal_progress.0.note": "text",
            "new_needs.0.note": "text",
            "next_review_on": "date",
        },
    )
    before = await _fingerprint(lotse, case_id)
    await _refused(lotse, "berater1", f"{base}/tasks/done", {"task_id": "t1"}, {"task_id": "line"})
    await _refused(
        lotse,
        "berater1",
        f"{base}/reassign",
        {"counsellor_id": "berater1"},
        {"counsellor_id": "line"},
    )
    await _refused(
        lotse,
        "berater1",
        f"{base}/transfer",
        {"centre_id": "mbe-nord", "counsellor_id": "berater2"},
        {"centre_id": "line", "counsellor_id": "line"},
    )
    assert await _fingerprint(lotse, case_id) == before
    duplicate = await lotse.post("berater1", f"{base}/close", json={"reason": "duplicate"})
    assert duplicate.status_code == 409, duplicate.text  # a duplicate is closed in intake only
    assert "„Aufnahme“" in duplicate.json()["detail"], duplicate.text
    assert await _fingerprint(lotse, case_id) == before
    closed = await step(
        f"{base}/close", {"reason": "moved_away", "note": "nach Hamburg"}, {"note": "text"}
    )
    assert closed["stage"] == "closed"

    await lotse.projected(case_id, closed["sequence"])
    await _a_duplicate_is_closed_after_hostile_values(lotse)
    assert store_texts_are_clean(lotse.engine)


async def _search_refuses_hostile_values_and_finds(lotse: Lotse, case_id: str) -> None:
    """`GET /cases?q=`: each bad value a 422 naming `q`; then the name and the number find."""
    for label, value, words in variants("line"):
        response = await lotse.get("berater1", "/cases", params={"q": value})
        assert response.status_code == 422, f"q {label}: {response.status_code}"
        errors = {e["field"]: e["message"] for e in response.json()["errors"]}
        assert words in errors["q"] and errors["q"].startswith("Suche"), (label, errors)
    number = (await lotse.ok("berater1", "GET", f"/cases/{case_id}"))["number"]
    for q in ("Karimi", number, "%_*"):
        page = await lotse.ok("berater1", "GET", "/cases", params={"q": q})
        found = {item["id"] for item in page["items"]}
        assert (case_id in found) is (q != "%_*"), (q, found)  # no character is a pattern


async def _presented_withdrawn_and_presented_again(lotse: Lotse, case_id: str) -> dict[str, Any]:
    """The edition's `language` refused for each bad value; the document presented, its
    withdrawal refused for a bad Idempotency-Key, withdrawn, its hash no longer signable, and
    presented again (the hash that the signatures below sign)."""
    base = f"/cases/{case_id}"
    before = await _fingerprint(lotse, case_id)
    # Short values: a code has at most 8 characters, and length is checked first.
    for value, words in (
        ("a\x00", "Steuerzeichen (U+0000"),
        ("a\x9b", "Steuerzeichen (U+009B"),
        ("a\u202e", "Schreibrichtung (U+202E"),
        ("a\u2066", "Schreibrichtung (U+2066"),
        ("a\nb", "Zeilenumbrüche"),
        (HUGE, "Zu lang"),
        ("xx", "keine Übersetzung"),
        ("", "Bitte wählen Sie eine Sprachfassung"),
        (7, "Text"),
    ):
        response = await lotse.post(
            "berater1", f"{base}/signature-request", json={"language": value}
        )
        assert response.status_code == 422, (value, response.text)
        error = response.json()["errors"][0]
        assert error["field"] == "language" and words in error["message"], (value, error)
    assert await _fingerprint(lotse, case_id) == before
    first = await lotse.ok("berater1", "POST", f"{base}/signature-request", json={"language": "ar"})
    before = await _fingerprint(lotse, case_id)
    for bad in ("a\x7fb", "a b", "a\tb", "k" * 200, ""):
        response = await lotse.post(
            "berater1", f"{base}/signature-request/withdrawal", headers={"Idempotency-Key": bad}
        )
        assert response.status_code == 422, (bad[:10], response.text)
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await _fingerprint(lotse, case_id) == before
    withdrawn = await lotse.ok("berater1", "POST", f"{base}/signature-request/withdrawal")
    assert withdrawn["stage"] == "drafting"
    again = await lotse.post("berater1", f"{base}/signature-request/withdrawal")
    assert again.status_code == 409 and "„Entwurf“" in again.json()["detail"], again.text
    stale = {"party": "client", "document_hash": first["document_hash"]}
    refused = await lotse.post("berater1", f"{base}/signatures", json=stale)
    assert refused.status_code == 409, refused.text
    requested: dict[str, Any] = await lotse.ok(
        "berater1", "POST", f"{base}/signature-request", json={"language": "ar"}
    )
    assert requested["document_hash"] != first["document_hash"]
    return requested


async def _agreement_pdf_refuses_hostile_ids(lotse: Lotse, case_id: str) -> None:
    """`GET /cases/{id}/agreement.pdf`: a bad id a 422 naming `case_id`, a missing one 404,
    and the current version still a PDF."""
    for bad, words in (
        ("case-%00", "Steuerzeichen"),
        ("case-%E2%80%AE", "Schreibrichtung"),
        ("case-%0A", "Zeilenumbrüche"),
        ("c" * 300, "Zu lang"),
    ):
        response = await lotse.get("berater1", f"/cases/{bad}/agreement.pdf")
        assert response.status_code == 422, (bad[:12], response.status_code)
        error = response.json()["errors"][0]
        assert error["field"] == "case_id" and words in error["message"], error
    missing = await lotse.get("berater1", "/cases/case-nichts/agreement.pdf")
    assert missing.status_code == 404, missing.text
    pdf = await lotse.get("berater1", f"/cases/{case_id}/agreement.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def _own_measure_check_off_refuses_hostile_values(
    lotse: Lotse, case_id: str, step: Any
) -> None:
    """The client's measure ticked off after every bad day and measure id was refused: a
    partner's measure 422 naming `measure_id`, a measure of no case 404."""
    base = f"/cases/{case_id}"
    state = await lotse.ok("berater1", "GET", base)
    own = next(m for m in state["measures"] if m["responsible"] == "client")
    partners = next(m for m in state["measures"] if m["responsible"] == "partner")
    today = german_day(datetime.fromisoformat(state["activated_at"]))
    before = await _fingerprint(lotse, case_id)
    for measure_id, status, field, words in (
        ("m1%00", 422, "measure_id", "Steuerzeichen"),
        ("m1%E2%81%A6", 422, "measure_id", "Schreibrichtung"),
        ("m1%09", 422, "measure_id", "Zeilenumbrüche"),
        ("m" * 500, 422, "measure_id", "Zu lang"),
        (partners["id"], 422, "measure_id", "Partner"),
        ("m999", 404, "", "Nicht gefunden"),
    ):
        response = await lotse.post(
            "berater1",
            f"{base}/measures/{measure_id}/completion",
            json={"done_on": today.isoformat()},
        )
        assert response.status_code == status, (measure_id[:12], response.text)
        answer = response.json()
        message = answer["errors"][0]["message"] if field else answer["detail"]
        assert not field or answer["errors"][0]["field"] == field, answer
        assert words in message, (measure_id[:12], message)
    for day, words in (
        ("2999-01-01", "außerhalb"),
        ("2100-01-01", "Zukunft"),
        ("2000-01-01", "Beginn der Vereinbarung"),
        ("gestern", "JJJJ-MM-TT"),
        (None, "JJJJ-MM-TT"),
    ):
        response = await lotse.post(
            "berater1", f"{base}/measures/{own['id']}/completion", json={"done_on": day}
        )
        assert response.status_code == 422, (day, response.text)
        error = response.json()["errors"][0]
        assert error["field"] == "done_on" and words in error["message"], (day, error)
    assert await _fingerprint(lotse, case_id) == before
    path = f"{base}/measures/{own['id']}/completion"
    await step(path, {"done_on": today.isoformat()}, {"done_on": "date"})
    done = next(
        m for m in (await lotse.ok("berater1", "GET", base))["measures"] if m["id"] == own["id"]
    )
    assert done["done"] is True


async def _a_duplicate_is_closed_after_hostile_values(lotse: Lotse) -> None:
    """A case opened twice, still in intake: a bad reason or note refused naming the field,
    then closed as `duplicate`."""
    case_id = await lotse.open_case("berater1", given="Amina")
    path = f"/cases/{case_id}/close"
    before = await _fingerprint(lotse, case_id)
    for label, value, _ in variants("line"):
        response = await lotse.post("berater1", path, json={"reason": value})
        assert response.status_code == 422, (label, response.text)
        error = response.json()["errors"][0]
        assert error["field"] == "reason" and "'duplicate'" in error["message"], (label, error)
    await _refused(
        lotse, "berater1", path, {"reason": "duplicate", "note": "doppelt"}, {"note": "text"}
    )
    assert await _fingerprint(lotse, case_id) == before
    closed = await lotse.ok("berater1", "POST", path, json={"reason": "duplicate"})
    assert closed["stage"] == "closed"
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["closure"]["reason"] == "duplicate"


async def _case_ids(lotse: Lotse) -> set[str]:
    page = await lotse.ok("berater1", "GET", "/cases", params={"page_size": 200})
    return {item["id"] for item in page["items"]}


async def _referral(lotse: Lotse, partner: str, case_id: str) -> str:
    async def listed() -> str | None:
        page = await lotse.ok(partner, "GET", "/referrals")
        ids = [r["id"] for r in page["items"] if r["id"].startswith(case_id + "-ref-")]
        return ids[0] if ids else None

    return await eventually(listed)


async def _inbox_row(lotse: Lotse, referral_id: str) -> dict[str, Any]:
    page = await lotse.ok("sprachkurs", "GET", "/referrals")
    rows = [row for row in page["items"] if row["id"] == referral_id]
    assert len(rows) == 1
    row: dict[str, Any] = rows[0]
    return row


async def test_a_login_name_with_control_characters_is_422_and_logins_go_on(lotse: Lotse) -> None:
    # On PostgreSQL the account lookup itself would fail on a NUL (a 500 before).
    for username, words in (
        ("berater1\x00", "Steuerzeichen (U+0000"),
        ("berater1\u202e", "Schreibrichtung"),
        ("berater1\n", "Zeilenumbrüche"),
        ("b" * 5000, "Zu lang"),
    ):
        response = await lotse.http.post(
            "/auth/token", data={"username": username, "password": "demo"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "username"
        assert words in response.json()["errors"][0]["message"]
    me = (await lotse.get("berater1", "/me")).json()
    assert (me["username"], me["display_name"]) == ("berater1", "Katrin Schulte")


async def test_control_characters_in_ids_searches_and_login_names_are_refused_not_500(
    lotse: Lotse,
) -> None:
    """Found by hand on PostgreSQL (which cannot store NUL): a NUL in a path id reached the
    audit insert, one in the page search or the web login's name reached a query."""
    case_id = await lotse.open_case("berater1")
    for user, path in (
        ("berater1", "/cases/case-%00"),
        ("berater1", "/cases/abc%00/history"),
        ("sprachkurs", "/referrals/x%00/acknowledge"),
        ("koordination", "/supervision/cases/%00"),
    ):
        method = "POST" if path.endswith("acknowledge") else "GET"
        response = await lotse.call(user, method, path)
        assert response.status_code == 422, (path, response.status_code, response.text)
        assert "Steuerzeichen" in response.text
    browser = Browser(lotse)
    assert (await browser.login("berater1")).status_code == 303
    # A malformed path is the pages' "not found" page (api/ui/web.py); a malformed search
    # is said beside the search field, the list page still shown.
    response = await browser.get("/faelle/case-%00")
    assert response.status_code == 404, response.status_code
    assert "text/html" in response.headers["content-type"]
    response = await browser.get("/faelle?q=%00")
    assert response.status_code == 422, response.status_code
    assert "text/html" in response.headers["content-type"]
    assert "Steuerzeichen" in response.text and "<h1>Meine Fälle</h1>" in response.text
    await browser.aclose()
    assert (await lotse.ok("berater1", "GET", f"/cases/{case_id}"))["id"] == case_id
    assert store_texts_are_clean(lotse.engine)


async def test_hostile_notification_inputs_are_german_422s_naming_the_field(
    lotse: Lotse,
) -> None:
    """The notification routes: bad, huge, out-of-range and control-character ids, filters and
    settings are each refused in German, naming the field; nothing changes."""
    # (user, method, path, body, field, words of the German message)
    cases: list[tuple[str, str, str, Any, str, str]] = [
        ("berater1", "POST", "/notifications/abc/read", None, "notification_id", "ganze Zahl"),
        ("berater1", "POST", "/notifications/%00/read", None, "notification_id", "ganze Zahl"),
        ("berater1", "POST", "/notifications/1%1b/read", None, "notification_id", "ganze Zahl"),
        ("berater1", "POST", "/notifications/0/read", None, "notification_id", "mindestens 1"),
        ("berater1", "POST", "/notifications/-5/read", None, "notification_id", "mindestens 1"),
        ("berater1", "POST", f"/notifications/{10**30}/read", None, "notification_id", "höchstens"),
        ("berater1", "POST", f"/notifications/{HUGE}/read", None, "notification_id", "Zahl"),
        ("sprachkurs", "GET", "/notifications?unread=%00", None, "unread", "true oder false"),
        ("sprachkurs", "GET", f"/notifications?unread={HUGE}", None, "unread", "true oder false"),
        ("sprachkurs", "GET", "/notifications?page=0", None, "page", "mindestens 1"),
        ("sprachkurs", "GET", "/notifications?page_size=100000", None, "page_size", "höchstens"),
        ("koordination", "PUT", "/me/notification-settings", {"email": "ja"}, "email", "true"),
        ("koordination", "PUT", "/me/notification-settings", {"email": "\x00"}, "email", "true"),
        ("koordination", "PUT", "/me/notification-settings", {"email": 0}, "email", "true"),
        (
            "koordination",
            "PUT",
            "/me/notification-settings",
            {},
            "email",
            "Bitte geben Sie an, ob Sie E-Mail-Benachrichtigungen erhalten möchten.",
        ),
        (
            "koordination",
            "PUT",
            "/me/notification-settings",
            {"email": False, "name": "Amina\u202e"},
            "name",
            "Unbekanntes Feld",
        ),
        ("admin", "GET", "/admin/mail-deliveries?status=failed%00", None, "status", "erlaubt"),
        ("admin", "GET", f"/admin/mail-deliveries?status={HUGE}", None, "status", "erlaubt"),
        ("admin", "GET", "/admin/mail-deliveries?page=-1", None, "page", "mindestens 1"),
    ]
    for user, method, path, body, field, words in cases:
        kwargs = {"json": body} if body is not None else {}
        response = await lotse.call(user, method, path, **kwargs)
        assert response.status_code == 422, (path, body, response.status_code, response.text)
        errors = response.json()["errors"]
        assert errors[0]["field"] == field, (path, body, errors)
        assert words in errors[0]["message"], (path, body, errors)
    huge = await lotse.call(
        "koordination", "PUT", "/me/notification-settings", json={"email": True, "x": HUGE * 20}
    )
    assert huge.status_code == 413 and "zu groß" in huge.json()["detail"]
    # Nothing changed: mail is still on for everyone, the digest off.
    assert (await lotse.ok("berater1", "GET", "/me/notification-settings")) == {"email": True}
    assert (await lotse.ok("koordination", "GET", "/me/notification-settings")) == {
        "email": True,
        "daily_digest": False,
    }
