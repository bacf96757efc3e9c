"""What a case no longer carries, read through the API: the agreement's text from the archive
(exactly what its hash says, every version), the whole history, and the administrators' view
of projection failures (a task and a metric)."""

from datetime import UTC, datetime

from sqlmodel import Session, select

from activities.agreement_text import sha256
from activities.case_events import ProjectionFailure
from store.projections import AgreementDocumentRecord
from store.projector import SqlCaseEventSink
from tests.api_harness import Lotse, eventually


async def test_the_signed_text_comes_from_the_archive_and_matches_its_hash(lotse: Lotse) -> None:
    case_id = await lotse.active_case()
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    # No text (that is the archive's); which consent clause it holds, and so what its
    # referrals send partners (domain/consent.py); its edition and whether it was withdrawn.
    assert [set(d) for d in state["documents"]] == [
        {"version", "hash", "created_at", "consent_terms", "language", "withdrawn_at"}
    ]
    assert state["documents"][0]["language"] is None  # German only, as requested without body
    assert state["documents"][0]["withdrawn_at"] is None
    assert state["documents"][0]["consent_terms"] == 2
    assert {r["consent_terms"] for r in state["referrals"]} == {2}
    document = await lotse.ok("berater1", "GET", f"/cases/{case_id}/agreement")
    assert document["version"] == 1 and sha256(document["text"]) == document["hash"]
    assert document["signed_by"] == ["client", "counsellor"]
    assert "Deutsch auf B1" in document["text"]
    with Session(lotse.engine) as session:
        rows = session.exec(
            select(AgreementDocumentRecord).where(AgreementDocumentRecord.case_id == case_id)
        ).all()
    assert [(row.version, row.hash) for row in rows] == [(1, document["hash"])]

    # An amendment: the new version is archived too, the old one stays readable in the UI.
    kept = [
        {"text": m["text"], "responsible": m["responsible"], "route_id": m["route_id"]}
        for m in state["measures"]
    ]
    draft = {"goals": [{"text": "Deutsch auf B2"}], "measures": kept}
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/agreement", json=draft)
    second = await lotse.ok("berater1", "POST", f"/cases/{case_id}/signature-request")
    current = await lotse.ok("berater1", "GET", f"/cases/{case_id}/agreement")
    assert current["version"] == 2 and current["hash"] == second["document_hash"]
    assert "Deutsch auf B2" in current["text"] and current["signed_by"] == []


async def test_the_history_is_whole_and_in_order(lotse: Lotse) -> None:
    case_id = await lotse.active_case()
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    await lotse.projected(case_id, state["next_sequence"] - 1)
    history = await lotse.ok("berater1", "GET", f"/cases/{case_id}/history")
    sequences = [event["sequence"] for event in history["events"]]
    assert sequences == list(range(1, state["next_sequence"]))
    kinds = [event["kind"] for event in history["events"]]
    assert kinds[0] == "case_opened" and "agreement_activated" in kinds


async def test_a_projection_failure_is_an_admin_task_and_a_metric(lotse: Lotse) -> None:
    case_id = await lotse.open_case()
    failure = ProjectionFailure(
        case_id=case_id, first_sequence=4, last_sequence=6, error="DataError", at=datetime.now(UTC)
    )
    SqlCaseEventSink(lotse.engine).record_projection_failure(failure)

    tasks = await lotse.ok("admin", "GET", "/admin/tasks")
    mine = [task for task in tasks if task["case_id"] == case_id]
    assert [task["kind"] for task in mine] == ["projection_failed"]
    assert "Ereignisse 4–6" in mine[0]["title"] and "Amina" not in mine[0]["title"]

    async def metric() -> float | None:
        text = (await lotse.get(None, "/metrics")).text
        line = next(line for line in text.splitlines() if line.startswith("lotse_projection_"))
        value = float(line.rsplit(" ", 1)[1])
        return value if value >= 1 else None

    assert await eventually(metric) >= 1
    refused = await lotse.get("berater1", "/admin/tasks")
    assert refused.status_code == 403
