"""A case's whole life driven only through the HTTP API by the demo users, against a real
Temporal (time-skipping server) with the real workflows and activities, and a real SQLite read
model filled by the projection: counsellor steps, the partner inbox and its effect on the case,
the supervisor's lists, audit entries, and idempotent retries."""

import re
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select
from temporalio.common import HeaderCodecBehavior
from temporalio.worker import Replayer

from store.projections import AuditEvent, CaseNameKey, CaseSummary, ReferralSummary
from tests.api_harness import Lotse, eventually
from tests.case_histories import REGENERATE, run_histories, save_histories
from tests.key_harness import session_converter
from tests.samples import ASSESSMENT, INTAKE
from worker.names_backfill import backfill_names
from workflows.actor_header import ActorInterceptor
from workflows.agreement import AgreementWorkflow
from workflows.referral import ReferralWorkflow


async def _referrals(lotse: Lotse, partner: str, case_id: str) -> list[dict[str, Any]]:
    page = await lotse.ok(partner, "GET", "/referrals")
    return [r for r in page["items"] if r["id"].startswith(case_id + "-ref-")]


async def test_counsellor_drives_a_case_from_intake_to_active(lotse: Lotse) -> None:
    opened = await lotse.ok(
        "berater1", "POST", "/cases", json={"client": {"given_name": "Amina", "family_name": "K"}}
    )
    case_id = opened["id"]
    assert opened["stage"] == "intake" and opened["centre_id"] == "mbe-mitte"
    assert opened["counsellor_id"] == "berater1"

    result = await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=INTAKE)
    assert result["stage"] == "assessment"
    result = await lotse.ok("berater1", "POST", f"/cases/{case_id}/assessment", json=ASSESSMENT)
    assert result["stage"] == "drafting"

    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["profile"]["german_level"] == "A2"
    routed = {route["need"]: route for route in state["routes"]}
    assert routed["language"]["partner_id"] == "sprachschule-musterstadt"
    assert routed["employment"]["partner_id"] == "jobcenter-musterstadt"
    assert "recent_updates" not in state

    draft = {
        "goals": [{"text": "Deutsch auf B1", "target_date": "2027-03-01"}],
        "measures": [
            {"text": "Integrationskurs", "responsible": "partner", "route_id": route["id"]}
            for route in routed.values()
        ],
    }
    result = await lotse.ok("berater1", "POST", f"/cases/{case_id}/agreement", json=draft)
    assert result["stage"] == "drafting"
    requested = await lotse.ok("berater1", "POST", f"/cases/{case_id}/signature-request")
    assert requested["version"] == 1 and len(requested["document_hash"]) == 64
    assert requested["stage"] == "awaiting_signature"

    document = await lotse.ok("berater1", "GET", f"/cases/{case_id}/agreement")
    assert document["hash"] == requested["document_hash"]
    assert document["signed_by"] == [] and document["text"]

    for party in ("client", "counsellor"):
        body = {"party": party, "document_hash": requested["document_hash"]}
        result = await lotse.ok("berater1", "POST", f"/cases/{case_id}/signatures", json=body)
    assert result["stage"] == "active"

    # The read model follows: the case list, and a referral in the language school's inbox
    # with the partner view only (no residence status, no other needs).
    await lotse.projected(case_id, result["sequence"])
    listed = await lotse.ok("berater1", "GET", "/cases", params={"stage": "active"})
    assert case_id in [item["id"] for item in listed["items"]]
    item = next(item for item in listed["items"] if item["id"] == case_id)
    assert item["client"] == "Amina K."
    inbox = await eventually(lambda: _referrals(lotse, "sprachkurs", case_id))
    assert len(inbox) == 1
    assert set(inbox[0]) == {
        "id",
        "status",
        "centre",
        "counsellor",
        "priority",
        "need",
        "actor",
        "measure",
        "client_first_name",
        "languages",
        "client_details",
        "dispatched_at",
        "acknowledge_by",
        "escalate_at",
        "expires_at",
        "acknowledged_at",
    }
    assert (inbox[0]["client_first_name"], inbox[0]["languages"]) == ("Amina", ["ar", "en"])
    # Beyond that, what a language school needs to place her: her German level.
    assert inbox[0]["client_details"] == [
        {"key": "german_level", "label": "Deutschkenntnisse", "value": "A2 (Grundstufe)"}
    ]
    assert inbox[0]["need"] == "language"
    # Who sent the client and whom to call: the demo directory's centre and counsellor.
    assert inbox[0]["centre"] == {
        "id": "mbe-mitte",
        "name": "MBE Musterstadt-Mitte",
        "phone": "01234 5678-210",
        "email": "mbe-mitte@musterstadt.example",
        "address": "Marktplatz 4, 12345 Musterstadt",
    }
    assert inbox[0]["counsellor"] == {
        "name": "Katrin Schulte",
        "phone": "01234 5678-211",
        "email": "berater1@musterstadt.example",
    }
    language_route = routed["language"]
    assert inbox[0]["priority"] == language_route["priority"]
    # The deadlines the referral runs on, as the case fixed them at dispatch (not recomputed).
    referral = await lotse.client.get_workflow_handle(inbox[0]["id"]).query(ReferralWorkflow.state)
    assert datetime.fromisoformat(inbox[0]["acknowledge_by"]) == referral.remind_at
    assert datetime.fromisoformat(inbox[0]["expires_at"]) == referral.expire_at

    history = await lotse.ok("berater1", "GET", f"/cases/{case_id}/history")
    kinds = [event["kind"] for event in history["events"]]
    assert kinds[0] == "case_opened" and "agreement_activated" in kinds
    assert kinds.count("referral_dispatched") == 2


async def test_partner_inbox_flow_reaches_the_case(lotse: Lotse) -> None:
    case_id = await lotse.active_case()
    [language] = await eventually(lambda: _referrals(lotse, "sprachkurs", case_id))
    [placement] = await eventually(lambda: _referrals(lotse, "jobcenter", case_id))
    assert language["status"] == "dispatched"

    acknowledged = await lotse.ok("sprachkurs", "POST", f"/referrals/{language['id']}/acknowledge")
    assert acknowledged["status"] == "acknowledged" and acknowledged["acknowledged_at"]
    progress = {"note": "Kurs beginnt am 1. des Monats"}
    await lotse.ok("sprachkurs", "POST", f"/referrals/{language['id']}/progress", json=progress)
    outcome = {"result": "achieved", "note": "B1 bestanden"}
    done = await lotse.ok(
        "sprachkurs", "POST", f"/referrals/{language['id']}/complete", json=outcome
    )
    assert done["status"] == "completed" and done["closed_at"]

    # A second answer to a closed referral is refused, naming the status.
    again = await lotse.post("sprachkurs", f"/referrals/{language['id']}/acknowledge")
    assert again.status_code == 409 and "abgeschlossen" in again.json()["detail"]

    # The Jobcenter declines: the case re-routes to the next partner of that kind (the
    # employment agency is another kind, so none is left: the counsellor gets a task).
    declined = await lotse.ok(
        "jobcenter", "POST", f"/referrals/{placement['id']}/decline", json={"reason": "voll"}
    )
    assert declined["status"] == "declined"

    async def case_caught_up() -> dict[str, Any] | None:
        state: dict[str, Any] = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
        statuses = {r["id"]: r["status"] for r in state["referrals"]}
        done = statuses.get(language["id"]) == "completed"
        return state if done and statuses.get(placement["id"]) == "declined" else None

    state = await eventually(case_caught_up)
    measure = next(m for m in state["measures"] if m["route_id"] == language_route(state))
    assert measure["done"] and measure["outcome"]["result"] == "achieved"

    def projected_statuses() -> dict[str, str] | None:
        with Session(lotse.engine) as session:
            rows = session.exec(
                select(ReferralSummary).where(ReferralSummary.case_id == case_id)
            ).all()
            statuses = {row.id: row.status.value for row in rows}
        done = statuses.get(language["id"]) == "completed"
        return statuses if done and statuses.get(placement["id"]) == "declined" else None

    await eventually(projected_statuses)
    inbox = await lotse.ok("sprachkurs", "GET", "/referrals", params={"status": "completed"})
    assert language["id"] in [r["id"] for r in inbox["items"]]

    # Every partner step reached the case, with the partner's words, oldest first: the
    # same whether the steps are still in the case or already in the read model.
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert "referral_steps" not in state
    timelines = {r["id"]: r["history"] for r in state["referrals"]}
    assert [(s["status"], s["note"]) for s in timelines[language["id"]]] == [
        ("dispatched", ""),
        ("acknowledged", ""),
        ("acknowledged", "Kurs beginnt am 1. des Monats"),
        ("completed", "B1 bestanden"),
    ]
    assert [(s["status"], s["note"]) for s in timelines[placement["id"]]] == [
        ("dispatched", ""),
        ("declined", "voll"),
    ]
    moments = [datetime.fromisoformat(s["at"]) for s in timelines[language["id"]]]
    assert moments == sorted(moments)
    # No other Jobcenter is left: one task for the counsellor, naming kinds, not codes.
    open_tasks = [t for t in state["tasks"] if not t["done"] and t["referral_id"]]
    assert [t["kind"] for t in open_tasks] == ["referral_unassigned"]
    assert open_tasks[0]["title"].startswith(
        "Kein weiterer Partner für „Arbeit“: Jobcenter hat die Vermittlung abgelehnt."
    )
    assert placement["id"] not in open_tasks[0]["title"]


def language_route(state: dict[str, Any]) -> str:
    route: str = next(r["id"] for r in state["routes"] if r["need"] == "language")
    return route


async def test_review_survey_reaches_the_evaluation_report(lotse: Lotse) -> None:
    case_id = await lotse.active_case()
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    review = {
        "goal_progress": [{"goal_id": state["goals"][0]["id"], "status": "in_progress"}],
        "survey": {"agreement_helped": True, "easier_to_keep_at_it": False},
    }
    result = await lotse.ok("berater1", "POST", f"/cases/{case_id}/reviews", json=review)
    await lotse.projected(case_id, result["sequence"])
    report = await lotse.ok("koordination", "GET", "/reports/evaluation")
    # Counted (a few clients so far: under the minimum group, so suppressed, not zero).
    assert report["survey"]["clients_answered"] != 0
    assert report["agreements"]["concluded"] != 0

    closed = await lotse.ok(
        "berater1", "POST", f"/cases/{case_id}/close", json={"reason": "goals_achieved"}
    )
    assert closed["stage"] == "closed"
    # A closed case takes no more changes; reading it still works.
    late = await lotse.post("berater1", f"/cases/{case_id}/close", json={"reason": "withdrawn"})
    assert late.status_code == 409
    state = await eventually(
        lambda: _stage_is(lotse, case_id, "closed"),
    )
    assert state


async def _stage_is(lotse: Lotse, case_id: str, stage: str) -> bool:
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    return bool(state["stage"] == stage)


async def test_idempotency_key_makes_a_retried_write_count_once(lotse: Lotse) -> None:
    headers = {"Idempotency-Key": "open-7f3a"}
    body = {"client": {"given_name": "Omar", "family_name": "S"}}
    first = await lotse.ok("berater1", "POST", "/cases", json=body, headers=headers)
    retry = await lotse.ok("berater1", "POST", "/cases", json=body, headers=headers)
    assert retry["id"] == first["id"]
    case_id = first["id"]
    # The retry gets the number the case got: the counter moved once.
    assert re.fullmatch(r"MUS-\d{4}-\d{4}", first["number"]) and retry["number"] == first["number"]
    other = await lotse.ok("berater1", "POST", "/cases", json=body)
    assert int(other["number"][-4:]) == int(first["number"][-4:]) + 1
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["number"] == first["number"] and state["id"] == case_id

    key = {"Idempotency-Key": "intake-1"}
    once = await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=INTAKE, headers=key)
    twice = await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=INTAKE, headers=key)
    assert twice == once  # the first answer, not "wrong stage"
    history = await lotse.ok("berater1", "GET", f"/cases/{case_id}/history")
    kinds = [event["kind"] for event in history["events"]]
    assert kinds.count("intake_completed") == 1
    # Without the key, the same request is a new write and the stage says no.
    fresh = await lotse.post("berater1", f"/cases/{case_id}/intake", json=INTAKE)
    assert fresh.status_code == 409 and "„Bedarfsklärung“" in fresh.json()["detail"]


async def test_every_case_access_is_audited_without_personal_data(lotse: Lotse) -> None:
    case_id = await lotse.open_case(given="Leyla")
    await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=INTAKE)
    foreign = await lotse.get("berater2", f"/cases/{case_id}")
    assert foreign.status_code == 404
    with Session(lotse.engine) as session:
        entries = session.exec(
            select(AuditEvent).where(AuditEvent.object_id == case_id).order_by(col(AuditEvent.id))
        ).all()
    trail = [(e.actor, e.action) for e in entries]
    assert trail == [
        ("berater1", "case.open"),
        ("berater1", "case.read"),
        ("berater1", "case.intake"),
        ("berater2", "case.read.denied"),
    ]
    for entry in entries:
        assert "Leyla" not in entry.model_dump_json()
    audit = await lotse.ok("admin", "GET", "/admin/audit", params={"object_id": case_id})
    assert len(audit["items"]) == 4


async def test_a_referral_in_the_inbox_before_its_workflow_started_asks_to_retry(
    lotse: Lotse,
) -> None:
    # The case's projection loop may put a referral into the inbox a moment before the case
    # starts its workflow: a partner quick enough is asked to try again, not told it is over.
    case_id = await lotse.active_case()
    referral_id = f"{case_id}-ref-9"
    row = (await eventually(lambda: _referrals(lotse, "sprachkurs", case_id)))[0]
    with Session(lotse.engine) as session:
        template = session.get(ReferralSummary, row["id"])
        assert template is not None
        session.add(ReferralSummary.model_validate(template.model_dump() | {"id": referral_id}))
        session.commit()
    early = await lotse.post("sprachkurs", f"/referrals/{referral_id}/acknowledge")
    assert early.status_code == 503, early.text
    assert early.headers["Retry-After"].isdigit()
    assert early.json()["detail"] == (
        "Die Vermittlung wird gerade übermittelt; bitte in einigen Sekunden erneut versuchen."
    )
    # A referral whose workflow has ended is still "over" (409), as before.
    done = await lotse.ok(
        "sprachkurs", "POST", f"/referrals/{row['id']}/decline", json={"reason": "voll"}
    )
    assert done["status"] == "declined"
    late = await lotse.post("sprachkurs", f"/referrals/{row['id']}/acknowledge")
    assert late.status_code == 409


async def test_a_numbered_case_closed_as_duplicate_replays(lotse: Lotse) -> None:
    """The history `case_number_duplicate` (tests/histories/): a case whose input carries its
    number, closed as a duplicate in intake; it replays like every recorded history."""
    body = {"client": {"given_name": "Doppelt", "family_name": "Angelegt"}}
    opened = await lotse.ok("berater1", "POST", "/cases", json=body)
    case_id = opened["id"]
    closed = await lotse.ok(
        "berater1", "POST", f"/cases/{case_id}/close", json={"reason": "duplicate"}
    )
    assert closed["stage"] == "closed"
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["number"] == opened["number"] and state["closure"]["reason"] == "duplicate"
    handle = lotse.client.get_workflow_handle(case_id)
    histories = await run_histories(lotse.client, handle)
    replayer = Replayer(
        workflows=[AgreementWorkflow],
        data_converter=session_converter(),
        header_codec_behavior=HeaderCodecBehavior.CODEC,
        interceptors=[ActorInterceptor()],
    )
    for history in histories:
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert replayed.replay_failure is None
    if REGENERATE:
        save_histories("case_number_duplicate", histories)


async def test_backfill_names_asks_the_workflows_of_rows_from_before_full_names(
    lotse: Lotse,
) -> None:
    """`lotse db backfill-names`: a row as migration 0012 left it (the given name only) gets
    the full name, date of birth and keys from its workflow; a row that has them is left."""
    body = {"client": {"given_name": "Nour", "family_name": "Haddad"}}
    case_id = (await lotse.ok("berater1", "POST", "/cases", json=body))["id"]
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=INTAKE)

    async def searchable(q: str) -> list[str]:
        page = await lotse.ok("berater1", "GET", "/cases", params={"q": q})
        return [item["id"] for item in page["items"] if item["id"] == case_id]

    async def with_birth_date() -> bool:
        page = await lotse.ok("berater1", "GET", "/cases", params={"q": "Nour Hadad"})
        return any(item["birth_date"] for item in page["items"] if item["id"] == case_id)

    await eventually(with_birth_date)
    with Session(lotse.engine) as session:  # as migration 0012 left a row projected before it
        row = session.get(CaseSummary, case_id)
        assert row is not None
        row.client_family_name, row.client_birth_date = "", None
        session.add(row)
        for key in session.exec(select(CaseNameKey).where(CaseNameKey.case_id == case_id)):
            if key.key != "nr":
                session.delete(key)
        session.commit()
    assert await searchable("Haddad") == []
    result = await backfill_names(lotse.settings, lotse.engine, lotse.client)
    assert result.written >= 1
    assert await searchable("Hadad") == [case_id] and await with_birth_date()
    again = await backfill_names(lotse.settings, lotse.engine, lotse.client)
    assert again.written == 0  # nothing left to fill


async def test_the_search_finds_variants_beginnings_scripts_and_serials(lotse: Lotse) -> None:
    """`GET /cases?q=`: a name in Cyrillic or Arabic script found as typed, a variant spelling
    (Ö/Oe, ß/ss, Mohammed/Muhammad), a word's first letters, the number and its serial."""
    opened: dict[str, dict[str, Any]] = {}
    for given, family in (
        ("Олена", "Коваленко"),
        ("يوسف", "الحداد"),
        ("Mohammed", "Özdemir-Strauß"),
    ):
        body = {"client": {"given_name": given, "family_name": family}}
        case = await lotse.ok("berater1", "POST", "/cases", json=body)
        await lotse.projected(case["id"])
        opened[family] = case

    async def found(q: str) -> set[str]:
        page = await lotse.ok("berater1", "GET", "/cases", params={"q": q, "page_size": 200})
        return {item["id"] for item in page["items"]} & {c["id"] for c in opened.values()}

    cyrillic, arabic, latin = (opened[f]["id"] for f in ("Коваленко", "الحداد", "Özdemir-Strauß"))
    assert await found("Коваленко Олена") == {cyrillic}
    assert await found("Ковал") == {cyrillic}
    assert await found("يوسف الحداد") == {arabic}
    assert await found("Muhammad Oezdemir Strauss") == {latin}
    assert await found("Mohamad Özd") == {latin}
    number = opened["Özdemir-Strauß"]["number"]
    assert await found(number) == {latin}
    assert latin in await found(number.rsplit("-", 1)[1].lstrip("0"))
