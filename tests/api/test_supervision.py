"""The supervisor's lists through the API, with the clocks run forward: a case whose first
review is not recorded 14 days after it was due shows up as overdue, in the counsellor's
filter and in the supervisor's lists. And the coordination's one change to a case's owner: a
case transferred without a counsellor is in its task list until it gives the case one of the
new centre's counsellors (`POST /supervision/cases/{id}/assign`, through the case's
`reassign`). A time-skipping server of its own: skipping months moves every timer of the
server, and another module's leftover workflows must not take part."""

import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from store.models import Municipality, Role
from store.projections import AuditEvent, CaseSummary
from store.seed import DEMO_PASSWORD
from store.users import create_user, hash_password
from tests.api_harness import Lotse, eventually
from tests.hostile_values import CONTROL_VALUES, SINGLE_LINE_ONLY, store_texts_are_clean


async def _referrals(lotse: Lotse, partner: str, case_id: str) -> list[dict[str, Any]]:
    page = await lotse.ok(partner, "GET", "/referrals")
    return [r for r in page["items"] if r["id"].startswith(case_id + "-ref-")]


async def test_supervisor_sees_overdue_reviews_open_referrals_and_caseload(
    lotse: Lotse, own_env: WorkflowEnvironment
) -> None:
    case_id = await lotse.active_case()
    await eventually(lambda: _referrals(lotse, "sprachkurs", case_id))
    opened = await lotse.ok("koordination", "GET", "/supervision/open-referrals")
    assert any(r["case_id"] == case_id for r in opened["items"])
    caseload = await lotse.ok("koordination", "GET", "/supervision/caseload")
    assert any(row["counsellor_id"] == "berater1" and row["stage"] == "active" for row in caseload)

    # First review due 3 months after signing, overdue 14 days later.
    await own_env.sleep(timedelta(days=31 * 3 + 15))

    async def overdue() -> dict[str, Any] | None:
        page = await lotse.ok("koordination", "GET", "/supervision/overdue-reviews")
        return next((row for row in page["items"] if row["case_id"] == case_id), None)

    row = await eventually(overdue)
    # days_overdue counts from the API's clock, which the time-skipping server has left behind.
    assert row["centre_id"] == "mbe-mitte" and isinstance(row["days_overdue"], int)
    listed = await lotse.ok("berater1", "GET", "/cases", params={"overdue": "true"})
    assert case_id in [item["id"] for item in listed["items"]]
    overview = await lotse.ok("koordination", "GET", f"/supervision/cases/{case_id}")
    assert overview["review_overdue"]
    assert any(task["kind"] == "review_overdue" for task in overview["supervisor_tasks"])
    assert "client" not in overview  # coordination sees no names


def _foreign_supervisor(lotse: Lotse) -> str:
    """A supervisor of another municipality (the demo password)."""
    with Session(lotse.engine) as session:
        if session.get(Municipality, "anderswo") is None:
            session.add(Municipality(id="anderswo", name="Anderswo", land="BY"))
            session.flush()
            create_user(
                session,
                "koordination-anderswo",
                Role.SUPERVISOR,
                password_hash=hash_password(DEMO_PASSWORD),
                municipality_id="anderswo",
            )
            session.commit()
    return "koordination-anderswo"


def _centre_of(lotse: Lotse, case_id: str) -> str | None:
    row: CaseSummary | None = lotse.summary(case_id)
    return row.centre_id if row is not None else None


async def _waiting_task(lotse: Lotse, case_id: str) -> dict[str, Any] | None:
    page = await lotse.ok("koordination", "GET", "/supervision/tasks", params={"page_size": 200})
    found = [t for t in page["items"] if t["case_id"] == case_id and t["kind"] == "case_unassigned"]
    return found[0] if found else None


async def test_the_coordination_assigns_a_case_transferred_without_a_counsellor(
    lotse: Lotse,
) -> None:
    case_id = await lotse.open_case("berater1")
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/transfer", json={"centre_id": "mbe-nord"})
    # The supervisors' task, in their list, with the centre that holds the case now.
    task = await eventually(lambda: _waiting_task(lotse, case_id))
    assert task["centre_id"] == "mbe-nord" and "zuweisen" in task["title"]
    await eventually(lambda: _centre_of(lotse, case_id) == "mbe-nord")
    assign = f"/supervision/cases/{case_id}/assign"

    # Hostile, unknown and wrong choices: 422 on counsellor_id, in German; nothing changes.
    bodies: list[tuple[Any, str]] = [
        ({"counsellor_id": value}, words) for _, value, words in CONTROL_VALUES + SINGLE_LINE_ONLY
    ]
    bodies += [
        ({"counsellor_id": ""}, "Bitte wählen Sie eine Beraterin oder einen Berater."),
        ({"counsellor_id": 7}, "Text"),
        ({"counsellor_id": None}, "Text"),
        ({}, "Bitte wählen Sie eine Beraterin oder einen Berater."),
        ({"counsellor_id": "berater1"}, "kein aktives Beratungskonto"),  # of mbe-mitte
        ({"counsellor_id": "koordination"}, "kein aktives Beratungskonto"),
        ({"counsellor_id": "niemand"}, "kein aktives Beratungskonto"),
    ]
    for body, words in bodies:
        refused = await lotse.post("koordination", assign, json=body)
        assert refused.status_code == 422, (body, refused.text[:200])
        error = refused.json()["errors"][0]
        assert error["field"] == "counsellor_id" and words in error["message"], (body, error)
    extra = await lotse.post("koordination", assign, json={"counsellor_id": "berater2", "x": 1})
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "x"
    waiting = await lotse.ok("berater2", "GET", f"/cases/{case_id}")
    assert waiting["counsellor_id"] is None
    # Another municipality's supervisor: exactly as for a missing case.
    stranger = _foreign_supervisor(lotse)
    foreign = await lotse.post(stranger, assign, json={"counsellor_id": "berater2"})
    missing = await lotse.post(
        stranger, f"/supervision/cases/case-{uuid.uuid4()}/assign", json={"counsellor_id": "x"}
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert await _waiting_task(lotse, case_id) is not None

    key = {"Idempotency-Key": f"assign-{case_id}"}
    done = await lotse.ok(
        "koordination", "POST", assign, json={"counsellor_id": "berater2"}, headers=key
    )
    state = await lotse.ok("berater2", "GET", f"/cases/{case_id}")
    assert (state["centre_id"], state["counsellor_id"]) == ("mbe-nord", "berater2")
    unassigned = [t for t in state["tasks"] if t["kind"] == "case_unassigned"]
    assert unassigned and all(t["done"] for t in unassigned)
    # Sent again with the same key: the first answer; without: nothing left to assign (409).
    again = await lotse.ok(
        "koordination", "POST", assign, json={"counsellor_id": "berater2"}, headers=key
    )
    assert again == done
    refused = await lotse.post("koordination", assign, json={"counsellor_id": "berater2"})
    assert refused.status_code == 409 and "nach einer Abgabe" in refused.json()["detail"]

    async def left_the_list() -> bool:
        return await _waiting_task(lotse, case_id) is None

    await eventually(left_the_list)
    assert store_texts_are_clean(lotse.engine)
    with Session(lotse.engine) as session:
        actions = session.exec(
            select(AuditEvent.action).where(
                AuditEvent.object_id == case_id, AuditEvent.actor == "koordination"
            )
        ).all()
    assert "supervision.case_assign" in actions


async def test_the_coordination_assigns_no_case_that_has_its_counsellor(lotse: Lotse) -> None:
    case_id = await lotse.open_case("berater1")
    await lotse.projected(case_id)
    refused = await lotse.post(
        "koordination", f"/supervision/cases/{case_id}/assign", json={"counsellor_id": "kollege"}
    )
    # The directory answers first: not a counsellor of mbe-mitte.
    assert refused.status_code == 422
    refused = await lotse.post(
        "koordination", f"/supervision/cases/{case_id}/assign", json={"counsellor_id": "berater1"}
    )
    # berater1 is of mbe-mitte, but the case waits for nobody: the workflow refuses (409).
    assert refused.status_code == 409, refused.text
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["counsellor_id"] == "berater1"
