"""Withdrawing and re-routing a referral, through the HTTP API, against a real Temporal
(time-skipping server), the real workflows and activities, and the seeded SQLite read model.

The counsellor takes back an open referral with a reason: it leaves the partner's inbox and
open counts, its child workflow ends, and the partner's row keeps no personal data. After a
decline with no partner of the kind left, the counsellor hands the measure to another partner
of the same kind; one of another kind is refused, naming the field. The coordination may
withdraw or re-route an escalated referral (ten working days unanswered), and nothing else.
"""

from datetime import timedelta
from typing import Any

from sqlmodel import Session
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from store.directory import SqlDirectory
from store.projections import ReferralNoteRecord, ReferralSummary
from tests.api_harness import Lotse, eventually

REASON = {"reason": "Die Klientin besucht bereits einen Kurs bei einem anderen Träger."}


async def _row(lotse: Lotse, referral_id: str) -> ReferralSummary:
    def projected() -> ReferralSummary | None:
        with Session(lotse.engine) as session:
            return session.get(ReferralSummary, referral_id)

    return await eventually(projected)


async def _row_where(lotse: Lotse, referral_id: str, status: str) -> ReferralSummary:
    def reached() -> ReferralSummary | None:
        with Session(lotse.engine) as session:
            row = session.get(ReferralSummary, referral_id)
            return row if row is not None and row.status.value == status else None

    return await eventually(reached)


def _load(lotse: Lotse, partner_id: str) -> int:
    """The partner's open referrals as routing counts them (the directory)."""
    partners = {p.id: p for p in SqlDirectory(lotse.engine).partners("musterstadt")}
    return partners[partner_id].open_referrals


async def _status_of_child(lotse: Lotse, referral_id: str) -> WorkflowExecutionStatus | None:
    described = await lotse.client.get_workflow_handle(referral_id).describe()
    return described.status


async def test_a_counsellor_withdraws_an_open_referral(lotse: Lotse) -> None:
    case_id = await lotse.active_case()
    school = await lotse.open_referral(case_id, "sprachschule-musterstadt")
    await _row(lotse, school["id"])
    note = {"note": "Amina hat sich zum Einstufungstest angemeldet."}
    await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/acknowledge")
    await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/progress", json=note)
    path = f"/cases/{case_id}/referrals/{school['id']}/withdraw"

    # Hostile reasons: a German 422 naming the field, and the referral stays as it was.
    for body, words in (
        ({}, "Bitte nennen Sie einen Grund für das Zurückziehen"),
        ({"reason": ""}, "Bitte nennen Sie einen Grund für das Zurückziehen"),
        ({"reason": "x" * 2001}, "Zu lang"),
        ({"reason": "Kurs\x00voll"}, "Steuerzeichen (U+0000"),
        ({"reason": "Kurs\u202evoll"}, "Schreibrichtung"),
        ({"reason": ["voll"]}, "Text"),
        ({"reason": "voll", "partner_id": "x"}, "Unbekanntes Feld"),
    ):
        refused = await lotse.post("berater1", path, json=body)
        assert refused.status_code == 422, (body, refused.text)
        errors = {e["field"]: e["message"] for e in refused.json()["errors"]}
        assert any(words in message for message in errors.values()), (body, errors)
        assert set(errors) <= {"reason", "partner_id"}, errors
    assert (await lotse.open_referral(case_id, "sprachschule-musterstadt"))["status"] == (
        "acknowledged"
    )

    # Another counsellor's centre, and a referral of another case: 404, like a missing one.
    other = await lotse.post("berater2", path, json=REASON)
    assert other.status_code == 404
    other_case = await lotse.active_case()
    foreign = await lotse.post(
        "berater1", f"/cases/{other_case}/referrals/{school['id']}/withdraw", json=REASON
    )
    assert foreign.status_code == 404

    await _row(lotse, (await lotse.open_referral(other_case, "sprachschule-musterstadt"))["id"])
    load_before = _load(lotse, "sprachschule-musterstadt")
    withdrawn = await lotse.ok("berater1", "POST", path, json=REASON)
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    referral = next(r for r in state["referrals"] if r["id"] == school["id"])
    assert referral["status"] == "withdrawn"
    assert (referral["history"][-1]["status"], referral["history"][-1]["note"]) == (
        "withdrawn",
        REASON["reason"],
    )
    assert withdrawn["sequence"] >= state["next_sequence"] - 2

    # The child ends; the partner's inbox and open counts no longer hold it.
    async def cancelled() -> bool:
        return await _status_of_child(lotse, school["id"]) == WorkflowExecutionStatus.CANCELED

    await eventually(cancelled)
    row = await _row_where(lotse, school["id"], "withdrawn")
    assert (row.client_first_name, row.languages) == ("", [])
    with Session(lotse.engine) as session:
        assert session.get(ReferralNoteRecord, (school["id"], 1)) is None
    open_items = await lotse.ok("sprachkurs", "GET", "/referrals", params={"status": "dispatched"})
    assert school["id"] not in [item["id"] for item in open_items["items"]]
    assert _load(lotse, "sprachschule-musterstadt") == load_before - 1

    # Twice: 409, in German, naming the status; the partner can no longer answer it.
    again = await lotse.post("berater1", path, json=REASON)
    assert again.status_code == 409
    assert "zurückgezogen" in again.json()["detail"]
    late = await lotse.post("sprachkurs", f"/referrals/{school['id']}/complete", json={})
    assert late.status_code in (404, 409, 422)


async def test_after_a_decline_the_counsellor_hands_the_measure_to_another_partner(
    lotse: Lotse,
) -> None:
    case_id = await lotse.active_case()
    placement = await lotse.open_referral(case_id, "jobcenter-musterstadt")
    await _row(lotse, placement["id"])
    await lotse.ok(
        "jobcenter", "POST", f"/referrals/{placement['id']}/decline", json={"reason": "voll"}
    )

    async def unassigned() -> dict[str, Any] | None:
        state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
        tasks = [
            t
            for t in state["tasks"]
            if not t["done"] and t["kind"] == "referral_unassigned"
            if t["referral_id"] == placement["id"]
        ]
        return tasks[0] if tasks else None

    await eventually(unassigned)
    path = f"/cases/{case_id}/referrals/{placement['id']}/reroute"

    # A partner of another kind is outside what the client signed: 422 naming partner_id.
    other_kind = {"partner_id": "arbeitsagentur-musterstadt", "reason": "Termin frei"}
    refused = await lotse.post("berater1", path, json=other_kind)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "partner_id" and "Jobcenter" in error["message"]
    # The partner that declined: 422 as well.
    same = await lotse.post(
        "berater1", path, json={"partner_id": "jobcenter-musterstadt", "reason": "erneut"}
    )
    assert same.status_code == 422 and same.json()["errors"][0]["field"] == "partner_id"

    # A second Jobcenter site joins the directory: the counsellor hands the measure to it.
    second = {
        "id": "jobcenter-musterstadt-sued",
        "name": "Jobcenter Musterstadt, Standort Süd",
        "kind": "jobcenter",
        "municipality_id": "musterstadt",
        "measures": ["placement"],
        "contact_email": "sued@jobcenter.example",
    }
    await lotse.ok("admin", "POST", "/admin/partners", json=second)
    chosen = {"partner_id": second["id"], "reason": "Standort Süd hat Termine frei"}
    await lotse.ok("berater1", "POST", path, json=chosen)
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    newest = state["referrals"][-1]
    assert newest["partner_id"] == second["id"] and newest["status"] == "dispatched"
    assert newest["tried_partner_ids"] == ["jobcenter-musterstadt", second["id"]]
    open_kinds = {t["kind"] for t in state["tasks"] if not t["done"] and t["referral_id"]}
    assert "referral_unassigned" not in open_kinds and "referral_declined" not in open_kinds
    # It reaches the new site's inbox (its child started).
    row = await _row(lotse, newest["id"])
    assert row.partner_id == second["id"] and row.client_first_name == "Amina"
    # The old one cannot be handed on a second time: only the latest referral of a measure.
    twice = await lotse.post("berater1", path, json={"reason": "nochmal"})
    assert twice.status_code == 409


async def test_the_coordination_changes_only_escalated_referrals(
    lotse: Lotse, own_env: WorkflowEnvironment
) -> None:
    case_id = await lotse.active_case()
    placement = await lotse.open_referral(case_id, "jobcenter-musterstadt")
    school = await lotse.open_referral(case_id, "sprachschule-musterstadt")
    await _row(lotse, placement["id"])
    await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/acknowledge")

    # Not escalated (yet): 409 in German; a counsellor cannot use the coordination's path.
    early = await lotse.post(
        "koordination", f"/supervision/referrals/{placement['id']}/withdraw", json=REASON
    )
    assert early.status_code == 409 and "eskaliert" in early.json()["detail"]
    assert (
        await lotse.post(
            "berater1", f"/supervision/referrals/{placement['id']}/withdraw", json=REASON
        )
    ).status_code == 403
    # A counsellor's path is not the coordination's either.
    assert (
        await lotse.post(
            "koordination",
            f"/cases/{case_id}/referrals/{placement['id']}/withdraw",
            json=REASON,
        )
    ).status_code == 403

    # Ten working days pass without an answer from the Jobcenter: escalated.
    await own_env.sleep(timedelta(days=15))

    async def escalated() -> bool:
        row = await _row(lotse, placement["id"])
        return row.escalated

    await eventually(escalated)
    # The acknowledged school referral is no coordination matter.
    acknowledged = await lotse.post(
        "koordination", f"/supervision/referrals/{school['id']}/reroute", json=REASON
    )
    assert acknowledged.status_code == 409

    answer = await lotse.ok(
        "koordination", "POST", f"/supervision/referrals/{placement['id']}/withdraw", json=REASON
    )
    assert answer["stage"] == "active"
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    referral = next(r for r in state["referrals"] if r["id"] == placement["id"])
    assert referral["status"] == "withdrawn"
    escalations = [
        t
        for t in state["tasks"]
        if t["kind"] == "referral_escalation"
        if t["referral_id"] == placement["id"]
    ]
    assert escalations and all(t["done"] for t in escalations)


async def test_a_measure_without_partner_goes_to_the_coordination_or_rests(lotse: Lotse) -> None:
    case_id = await lotse.active_case()
    # The only language school of the directory declines: no partner of the kind is left.
    school = await lotse.open_referral(case_id, "sprachschule-musterstadt")
    await _row(lotse, school["id"])
    await lotse.ok(
        "sprachkurs", "POST", f"/referrals/{school['id']}/decline", json={"reason": "voll"}
    )

    async def unassigned() -> bool:
        state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
        return any(
            t["kind"] == "referral_unassigned"
            and not t["done"]
            and t["referral_id"] == school["id"]
            for t in state["tasks"]
        )

    await eventually(unassigned)
    path = f"/cases/{case_id}/referrals/{school['id']}/set-aside"
    for body, field, words in (
        ({"how": "vergessen", "reason": "x"}, "how", "erlaubt"),
        ({"how": "consent_withdrawn", "reason": "x"}, "how", "erlaubt"),
        ({"how": "rest", "reason": "Kein\x07Platz"}, "reason", "Steuerzeichen"),
        ({"how": "rest", "reason": "x" * 2001}, "reason", "Zu lang"),
        ({"how": "rest"}, "reason", "Bitte nennen Sie einen Grund"),
    ):
        refused = await lotse.post("berater1", path, json=body)
        assert refused.status_code == 422, (body, refused.text)
        errors = {e["field"]: e["message"] for e in refused.json()["errors"]}
        assert words in errors[field], (body, errors)
    # The open Jobcenter referral is no measure gone nowhere: 409.
    placement = await lotse.open_referral(case_id, "jobcenter-musterstadt")
    open_one = f"/cases/{case_id}/referrals/{placement['id']}/set-aside"
    assert (
        await lotse.post("berater1", open_one, json={"how": "rest", "reason": "x"})
    ).status_code == 409

    report = {"how": "coordination", "reason": "Kein Integrationskurs mit Kinderbetreuung"}
    await lotse.ok("berater1", "POST", path, json=report)
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    open_tasks = [t for t in state["tasks"] if not t["done"] and t["referral_id"] == school["id"]]
    assert [(t["kind"], t["role"]) for t in open_tasks] == [("referral_reported", "supervisor")]
    measure = next(m for m in state["measures"] if m["id"] == school["measure_id"])
    assert measure["set_aside"] == "coordination"
    history = next(r for r in state["referrals"] if r["id"] == school["id"])["history"]
    assert history[-1]["note"] == "An Koordination gemeldet: " + report["reason"]
    # Resting it afterwards is the counsellor's call too.
    await lotse.ok("berater1", "POST", path, json={"how": "rest", "reason": "bis zum Sommer"})
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    measure = next(m for m in state["measures"] if m["id"] == school["measure_id"])
    assert measure["set_aside"] == "rest"


async def test_the_client_withdraws_consent_for_one_measure(lotse: Lotse) -> None:
    case_id = await lotse.active_case()
    school = await lotse.open_referral(case_id, "sprachschule-musterstadt")
    await _row(lotse, school["id"])
    body = {"reason": "Die Klientin möchte den Kurs nicht mehr.", "consent_withdrawn": True}
    path = f"/cases/{case_id}/referrals/{school['id']}"
    refused = await lotse.post(
        "berater1", f"{path}/withdraw", json=body | {"consent_withdrawn": "ja"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "consent_withdrawn"
    await lotse.ok("berater1", "POST", f"{path}/withdraw", json=body)
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    measure = next(m for m in state["measures"] if m["id"] == school["measure_id"])
    assert measure["set_aside"] == "consent_withdrawn"
    # Not handed on again without a changed agreement: 422 naming the referral, in German.
    again = await lotse.post("berater1", f"{path}/reroute", json={"reason": "doch"})
    assert again.status_code == 422
    [error] = again.json()["errors"]
    assert error["field"] == "referral_id" and "Einwilligung" in error["message"]
    row = await _row_where(lotse, school["id"], "withdrawn")
    assert row.client_first_name == ""
