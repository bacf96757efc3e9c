"""Data protection (issue 15): the erasure of a closed case (Art. 17), the client's copy
(Art. 15) and the audit log's accountability, through the API on one running system.

The client of the erased case has distinctive data everywhere Lotse keeps it: the name the
language school referred her with (an inbound referral, with contact and reason), her date of
birth, a need's note, the partner's progress note, a review's goal note; the store is then
searched, every table and every row, for each of them. The evaluation is counted before and
after with no group suppressed (min_group 1), so every figure is compared.
"""

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session, SQLModel
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest

from api.evaluation import ReportRequest, report
from app.payload_codec import PayloadKeyUnavailable
from domain.months import german_day
from store.keys import SqlKeyStore
from store.projections import AuditEvent
from store.reads.erasure import referral_ids
from store.seed import DEMO_PASSWORD
from tests.api_harness import Lotse, eventually, running_lotse, time_skipping_server
from tests.hostile_values import CONTROL_VALUES, store_texts_are_clean
from tests.samples import ASSESSMENT, INTAKE
from tests.ui_harness import Browser

GIVEN, FAMILY = "Zofiaquell", "Wrzesniewskiquell"
BIRTH = "1987-03-29"
PHONE, EMAIL = "0171 9876543", "zofia.quell@beispiel.de"
SECRETS = (
    GIVEN,
    FAMILY,
    BIRTH,
    PHONE,
    EMAIL,
    "Anlassquellwasser",
    "Bedarfsquellwasser",
    "Partnerquellwasser",
    "Zielquellwasser",
)


@dataclass(frozen=True)
class System:
    lotse: Lotse


@pytest.fixture(scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    async with (
        time_skipping_server() as env,
        running_lotse(env, tmp_path_factory.mktemp("lotse")) as lotse,
    ):
        yield System(lotse)


def _key_destroyed(lotse: Lotse, case_id: str) -> bool:
    inner = lotse.keys.inner
    assert isinstance(inner, SqlKeyStore)
    return inner.is_destroyed(case_id)


async def _history_decodes(lotse: Lotse, workflow_id: str) -> bool:
    """Whether Lotse's own codec still opens the workflow's first input (the client's data)."""
    history = await lotse.client.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    try:
        await lotse.client.data_converter.decode(started.input.payloads)
    except PayloadKeyUnavailable:
        return False
    return True


async def _referred_case(lotse: Lotse) -> str:
    """The client referred by the language school, accepted by berater1: her case."""
    body = {
        "centre_id": "mbe-mitte",
        "client": {"given_name": GIVEN, "family_name": FAMILY},
        "contact": {"phone": PHONE, "email": EMAIL},
        "reason": "Anlassquellwasser",
        "client_consents": True,
    }
    created = await lotse.ok("sprachkurs", "POST", "/inbound-referrals", json=body)
    accepted = await lotse.ok("berater1", "POST", f"/inbound-referrals/{created['id']}/accept")
    case_id: str = accepted["case_id"]
    return case_id


async def _active(lotse: Lotse, case_id: str) -> None:
    intake = INTAKE | {"birth_date": BIRTH}
    needs = [ASSESSMENT["needs"][0] | {"note": "Bedarfsquellwasser"}, ASSESSMENT["needs"][1]]
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=intake)
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/assessment", json={"needs": needs})
    await lotse.sign_agreement(case_id)


async def _lived(lotse: Lotse, case_id: str) -> None:
    """The partner's note, a review with a goal note and the survey."""
    referral = await lotse.inbox_item("sprachkurs", case_id)
    await lotse.ok("sprachkurs", "POST", f"/referrals/{referral['id']}/acknowledge")
    note = {"note": "Partnerquellwasser beginnt"}
    await lotse.ok("sprachkurs", "POST", f"/referrals/{referral['id']}/progress", json=note)
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    review = {
        "goal_progress": [
            {"goal_id": state["goals"][0]["id"], "status": "in_progress", "note": "Zielquellwasser"}
        ],
        "survey": {"agreement_helped": True, "easier_to_keep_at_it": False},
    }
    result = await lotse.ok("berater1", "POST", f"/cases/{case_id}/reviews", json=review)
    await lotse.projected(case_id, result["sequence"])


async def _closed(lotse: Lotse, case_id: str) -> None:
    closed = await lotse.ok(
        "berater1", "POST", f"/cases/{case_id}/close", json={"reason": "goals_achieved"}
    )
    await eventually(lambda: _stage_is(lotse, case_id, "closed"))
    assert closed


def _stage_is(lotse: Lotse, case_id: str, stage: str) -> bool | None:
    summary = lotse.summary(case_id)
    return True if summary is not None and summary.stage == stage else None


def _evaluation(lotse: Lotse) -> dict[str, Any]:
    today = german_day(datetime.now(UTC))
    request = ReportRequest(
        municipalities=("musterstadt",),
        municipality_id="musterstadt",
        centre_id=None,
        start=today - timedelta(days=60),
        end=today + timedelta(days=400),
    )
    with Session(lotse.engine) as session:
        found = report(session, request, min_group=1, now=datetime(2030, 1, 1, tzinfo=UTC))
    return found.model_dump(mode="json")


def _store_holds(lotse: Lotse, text: str) -> list[str]:
    """The tables of the store with a row holding `text` anywhere."""
    found = []
    with lotse.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                if text in repr(tuple(row)):
                    found.append(table.name)
                    break
    return found


async def test_erasure_removes_the_clients_data_keeps_the_figures_and_answers_410(
    system: System,
) -> None:
    lotse = system.lotse
    case_id = await _referred_case(lotse)
    await _active(lotse, case_id)
    await _lived(lotse, case_id)
    # Before the closure: the data is there (else the search below would prove nothing). A
    # need's note stays in the workflow (and its history: the key's destruction covers it).
    held = {secret: bool(_store_holds(lotse, secret)) for secret in SECRETS}
    assert held == {secret: secret != "Bedarfsquellwasser" for secret in SECRETS}
    await _closed(lotse, case_id)
    before = _evaluation(lotse)
    referrals = referral_ids(lotse.engine, case_id)
    assert referrals and await _history_decodes(lotse, case_id)

    erased = await lotse.ok(
        "datenschutz", "POST", f"/admin/cases/{case_id}/erase", json={"reason": "Antrag 2026/17"}
    )
    assert erased["case_id"] == case_id and erased["erased_by"] == "datenschutz"
    # Crypto-shredded: neither the case's history nor its referrals' open with Lotse's codec.
    assert _key_destroyed(lotse, case_id)
    for workflow_id in (case_id, *referrals):
        assert not await _history_decodes(lotse, workflow_id), workflow_id
    # Idempotent: again, by anyone allowed, the first erasure's answer.
    again = await lotse.ok(
        "admin", "POST", f"/admin/cases/{case_id}/erase", json={"reason": "noch einmal"}
    )
    assert again == erased and _key_destroyed(lotse, case_id)

    leaks = {secret: _store_holds(lotse, secret) for secret in SECRETS}
    assert leaks == {secret: [] for secret in SECRETS}
    assert _evaluation(lotse) == before
    for username, path in (
        ("berater1", f"/cases/{case_id}"),
        ("berater1", f"/cases/{case_id}/history"),
        ("berater1", f"/cases/{case_id}/agreement"),
        ("berater1", f"/cases/{case_id}/export"),
        ("datenschutz", f"/cases/{case_id}/export"),
        ("koordination", f"/supervision/cases/{case_id}"),
    ):
        gone = await lotse.get(username, path)
        assert gone.status_code == 410, (path, gone.text)
        assert "aus Datenschutzgründen gelöscht" in gone.json()["detail"]
    listed = await lotse.ok("berater1", "GET", "/cases", params={"page_size": 200})
    assert case_id not in {item["id"] for item in listed["items"]}
    # Outside the caller's scope, an erased case is not found, like any other.
    for username, path in (
        ("berater2", f"/cases/{case_id}"),
        ("berater2", f"/cases/{case_id}/export"),
    ):
        assert (await lotse.get(username, path)).status_code == 404, path
    # The case page says the same in German.
    assert await _page_statuses(lotse, "berater1", f"/faelle/{case_id}") == [410]
    audit = await lotse.ok("admin", "GET", "/admin/audit", params={"object_id": case_id})
    actions = [(entry["actor"], entry["action"]) for entry in audit["items"]]
    assert ("datenschutz", "case.erased") in actions
    assert actions.count(("datenschutz", "case.erased")) == 1
    # The workflow is gone from Temporal's point of view too: terminated or ended.
    # (The raw call: the test server's search attributes do not decode.)
    request = DescribeWorkflowExecutionRequest(
        namespace=lotse.client.namespace, execution=WorkflowExecution(workflow_id=case_id)
    )
    described = await lotse.client.workflow_service.describe_workflow_execution(request)
    assert (
        described.workflow_execution_info.status
        != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    )


async def _page_statuses(lotse: Lotse, username: str, *paths: str) -> list[int]:
    """The statuses of the pages at `paths` for `username`'s session (one login)."""
    browser = Browser(lotse)
    try:
        await browser.login(username)
        headers = {"Accept": "text/html"}
        return [(await browser.get(path, headers=headers)).status_code for path in paths]
    finally:
        await browser.aclose()


async def test_the_officer_erases_a_closed_case_on_its_confirm_page(system: System) -> None:
    lotse = system.lotse
    case_id = await lotse.open_case("berater1", given="Seitenquell")
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/close", json={"reason": "withdrawn"})
    await eventually(lambda: _stage_is(lotse, case_id, "closed"))
    browser = Browser(lotse)
    try:
        await browser.login("datenschutz")
        start = await browser.get("/datenschutz")
        assert start.status_code == 200 and "Fall aufrufen" in start.text
        wrong = await browser.get("/datenschutz/fall", params={"fall": "MUS-2026-\x00"})
        assert wrong.status_code == 422 and "Bitte die Fall-Id angeben" in wrong.text
        found = await browser.get("/datenschutz/fall", params={"fall": case_id})
        page = f"/datenschutz/faelle/{case_id}/loeschen"
        assert found.status_code == 303 and found.headers["location"] == page
        confirm = await browser.get(page)
        assert "Fall endgültig löschen" in confirm.text and "Seitenquell" not in confirm.text
        refused = await browser.submit(page, page, {"reason": ""})
        assert refused.status_code == 422 and "Bitte begründen Sie die Löschung." in refused.text
        for label, value, words in CONTROL_VALUES:
            refused = await browser.submit(page, page, {"reason": value})
            assert refused.status_code == 422, label
            assert "Begründung der Löschung" in refused.text and words in refused.text, label
        done = await browser.submit(page, page, {"reason": "Antrag vom 3.11."})
        assert done.status_code == 303 and done.headers["location"] == (
            "/datenschutz?erledigt=geloescht"
        )
        assert "bereits gelöscht" in (await browser.get(page)).text
    finally:
        await browser.aclose()
    assert await _page_statuses(lotse, "berater1", f"/faelle/{case_id}") == [410]
    assert _store_holds(lotse, "Seitenquell") == []
    # Other roles do not find the pages at all; the officer's start page is her home.
    pages = ("/datenschutz", page, f"/datenschutz/faelle/{case_id}/auskunft.pdf")
    for username in ("berater1", "koordination", "sprachkurs", "auswertung"):
        assert await _page_statuses(lotse, username, *pages) == [404, 404, 404], username
    assert await _page_statuses(lotse, "datenschutz", "/faelle") == [404]


async def test_an_open_case_is_not_erased_and_hostile_reasons_are_refused(system: System) -> None:
    lotse = system.lotse
    case_id = await lotse.open_case("berater1", given="Offen")
    path = f"/admin/cases/{case_id}/erase"
    refused = await lotse.post("datenschutz", path, json={"reason": "Antrag"})
    assert refused.status_code == 409
    assert "Nur ein abgeschlossener Fall kann gelöscht werden" in refused.json()["detail"]
    for label, value, words in [*CONTROL_VALUES, ("empty", "", "Bitte begründen")]:
        response = await lotse.post("admin", path, json={"reason": value})
        assert response.status_code == 422, (label, response.text)
        [error] = response.json()["errors"]
        assert error["field"] == "reason", label
        assert words in error["message"], (label, error["message"])
    for body in ({}, {"reason": 7}, {"reason": "x", "extra": 1}, [], "Antrag"):
        response = await lotse.post("admin", path, json=body)
        assert response.status_code == 422, (body, response.text)
    for bad in ("not-a-case", "case-" + "0" * 200, "case-%00", "%E2%80%AE"):
        response = await lotse.post("admin", f"/admin/cases/{bad}/erase", json={"reason": "x"})
        assert response.status_code in (404, 422), (bad, response.text)
    # Nothing was lost or wedged: the case is still the counsellor's, and nothing was erased.
    assert (await lotse.get("berater1", f"/cases/{case_id}")).status_code == 200
    assert not _key_destroyed(lotse, case_id) and await _history_decodes(lotse, case_id)
    assert store_texts_are_clean(lotse.engine)


async def test_the_clients_copy_holds_everything_as_json_and_a_german_pdf(system: System) -> None:
    lotse = system.lotse
    case_id = await lotse.active_case("berater1")
    # The store's part of the copy (the signatures) once the read model has every event.
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    await lotse.projected(case_id, state["next_sequence"] - 1)
    copy = await lotse.ok("berater1", "GET", f"/cases/{case_id}/export")
    workflow = copy["workflow"]
    assert workflow["client"]["given_name"] == "Amina"
    assert workflow["profile"]["birth_date"] == INTAKE["birth_date"]
    assert workflow["needs"] and workflow["routes"][0]["reason"]
    [document] = copy["documents"]
    assert set(document["signed"]) == {"client", "counsellor"} and document["text"]
    assert len(copy["referrals"]) == 2 and all("notes" in r for r in copy["referrals"])
    assert copy["history"][0]["kind"] == "case_opened"
    # Who accessed the case: berater1's reads, and this export itself.
    accesses = {(a["actor"], a["action"]) for a in copy["accesses"]}
    assert ("berater1", "case.read") in accesses and ("berater1", "case.export") in accesses
    # The data protection officer of the case's municipality gets the same copy.
    by_officer = await lotse.ok("datenschutz", "GET", f"/cases/{case_id}/export")
    assert by_officer["documents"] == copy["documents"]

    pdf = await lotse.get("datenschutz", f"/cases/{case_id}/export", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    by_accept = await lotse.get(
        "berater1", f"/cases/{case_id}/export", headers={"Accept": "application/pdf"}
    )
    assert by_accept.content.startswith(b"%PDF")
    text = _pdf_text(pdf.content)
    for words in ("Auskunft nach Art. 15 DSGVO", "Amina", "17.05.1990", "Zugriffe auf den Fall"):
        assert words in text, words
    # The counsellor hands the copy over from the case page („Weitere Aktionen“); it is
    # audited like the API's. Another centre's counsellor and other roles do not find it.
    page_copy = f"/faelle/{case_id}/auskunft.pdf"
    browser = Browser(lotse)
    try:
        await browser.login("berater1")
        case_page = await browser.get(f"/faelle/{case_id}", headers={"Accept": "text/html"})
        assert f'href="{page_copy}"' in case_page.text
        from_page = await browser.get(page_copy)
        assert from_page.status_code == 200 and from_page.content.startswith(b"%PDF")
        assert "Auskunft nach Art. 15 DSGVO" in _pdf_text(from_page.content)
        for bad_id in ("not-a-case", "case-" + "f" * 300, "%E2%80%AE"):
            response = await browser.get(f"/faelle/{bad_id}/auskunft.pdf")
            assert response.status_code in (404, 422), bad_id
    finally:
        await browser.aclose()
    for username in ("berater2", "sprachkurs", "koordination", "datenschutz"):
        assert await _page_statuses(lotse, username, page_copy) == [404], username
    # Audited under the page's route name, as every page access is.
    assert ("berater1", "ui.case.export") in _accesses(lotse, case_id)

    for username in ("berater1", "datenschutz"):
        for bad_id in ("not-a-case", "case-%00", "case-" + "f" * 300, "%E2%80%AE"):
            response = await lotse.get(username, f"/cases/{bad_id}/export")
            assert response.status_code in (404, 422), (bad_id, response.text)
            assert response.json()["detail"]
    for bad in ({"format": "docx"}, {"format": "pdf\x00"}):
        assert (
            await lotse.get("berater1", f"/cases/{case_id}/export", params=bad)
        ).status_code == 422


def _accesses(lotse: Lotse, case_id: str) -> list[tuple[str, str]]:
    query = select(AuditEvent.actor, AuditEvent.action).where(
        AuditEvent.object_id == case_id  # type: ignore[arg-type]
    )
    with lotse.engine.connect() as connection:
        return [(actor, action) for actor, action in connection.execute(query)]


def _pdf_text(content: bytes) -> str:
    pypdf = pytest.importorskip("pypdf", reason="pypdf (dev extra) reads the PDF's text")

    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


async def test_logins_and_admin_writes_are_audited_without_a_typed_name(system: System) -> None:
    lotse = system.lotse
    typed = "jemand-unbekanntes"
    failed = await lotse.http.post("/auth/token", data={"username": typed, "password": "falsch"})
    assert failed.status_code == 401
    account = {
        "username": "neu.konto",
        "password": "geheim-genug",
        "role": "counsellor",
        "centre_id": "mbe-mitte",
    }
    await lotse.ok("admin", "POST", "/admin/users", json=account)
    entries = await lotse.ok("datenschutz", "GET", "/admin/audit", params={"page_size": 200})
    while entries["has_more"]:
        nxt = entries["page"] + 1
        more = await lotse.ok(
            "datenschutz", "GET", "/admin/audit", params={"page_size": 200, "page": nxt}
        )
        entries = {**more, "items": entries["items"] + more["items"]}
    actions = {(e["actor"], e["action"], e["object_id"]) for e in entries["items"]}
    assert ("-", "auth.login_failed", "-") in actions
    assert ("admin", "admin.user_create", "neu.konto") in actions
    assert any(action == "auth.login" for _, action, _ in actions)
    assert not any(typed in repr(entry) for entry in entries["items"])
    assert _store_holds(lotse, typed) == []


async def test_the_audit_log_pages_through_a_period_and_exports_csv(system: System) -> None:
    lotse = system.lotse
    today = german_day(datetime.now(UTC))
    period = {"from": today.isoformat(), "to": today.isoformat()}
    # Entries of today's own, whichever tests of the module ran before: three logins.
    for username in ("berater1", "koordination", "datenschutz"):
        login = {"username": username, "password": DEMO_PASSWORD}
        assert (await lotse.http.post("/auth/token", data=login)).status_code == 200
    first = await lotse.ok("admin", "GET", "/admin/audit", params=period | {"page_size": 2})
    assert len(first["items"]) == 2 and first["has_more"]
    second = await lotse.ok(
        "admin", "GET", "/admin/audit", params=period | {"page_size": 2, "page": 2}
    )
    assert second["items"][0] != first["items"][1]
    assert [e["at"] for e in first["items"]] == sorted(e["at"] for e in first["items"])
    long_ago = {"from": "2001-01-01", "to": "2001-01-31"}
    assert (await lotse.ok("admin", "GET", "/admin/audit", params=long_ago))["items"] == []

    exported = await lotse.get("datenschutz", "/admin/audit", params=period | {"format": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    body = exported.content.decode("utf-8")
    assert body.startswith("\ufeffat;actor;action;object_type;object_id\r\n")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
    assert len(rows) > 3 and all(len(row) == 5 for row in rows)
    # The read itself is in the log.
    assert any(row[1] == "datenschutz" and row[2] == "audit.read" for row in rows[1:])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "gestern"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "2201-01-01"}, "to"),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "to"),
        ({"from": "2001-01-01", "to": "2026-01-01"}, "from"),
        ({"from": "2026-01-01\x00"}, "from"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": str(10**12)}, "page"),
        ({"page": "eins"}, "page"),
        ({"page_size": "100000"}, "page_size"),
        ({"format": "xlsx"}, "format"),
        ({"object_id": "x" * 500}, "object_id"),
        ({"object_id": "case-\x1b[31m"}, "object_id"),
        ({"actor": "a\u202eb"}, "actor"),
    ],
)
async def test_hostile_audit_queries_are_422_naming_the_field(
    system: System, params: dict[str, str], field: str
) -> None:
    response = await system.lotse.get("admin", "/admin/audit", params=params)
    assert response.status_code == 422, response.text
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == [field], fields
    assert response.json()["errors"][0]["message"]
