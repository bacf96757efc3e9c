"""`POST /cases/{id}/measures/{measure_id}/completion` over HTTP with the real workflows: the
client's measure ticked off once (a retry with its Idempotency-Key acts once), its day checked
(German 422s naming `done_on` for bad, huge, out-of-range, future and too early days and for
control characters), a partner's measure refused naming `measure_id`, a measure of no case 404
like a missing case, and nothing of it counted as a partner's completion by the evaluation.
"""

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from domain.months import german_day
from store.projections import CaseEventRecord, ReferralSummary
from tests.api_harness import Lotse, eventually, running_lotse
from tests.hostile_values import CONTROL_VALUES, HUGE, variants
from tests.samples import draft_body


@pytest.fixture(scope="module")
async def lotse(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lotse]:
    async with running_lotse(dev_env, tmp_path_factory.mktemp("lotse")) as system:
        yield system


async def _active_with_own_measure(lotse: Lotse) -> tuple[str, dict[str, Any]]:
    """An active case whose agreement has a measure of the client's beside the partners'."""
    case_id = await lotse.case_in_drafting()
    api = f"/cases/{case_id}"
    state = await lotse.ok("berater1", "GET", api)
    body = draft_body(state["routes"])
    body["measures"].append(
        {"text": "Unterlagen für die Anerkennung sammeln", "responsible": "client"}
    )
    await lotse.ok("berater1", "POST", f"{api}/agreement", json=body)
    requested = await lotse.ok("berater1", "POST", f"{api}/signature-request")
    for party in ("client", "counsellor"):
        signature = {"party": party, "document_hash": requested["document_hash"]}
        await lotse.ok("berater1", "POST", f"{api}/signatures", json=signature)
    return case_id, await lotse.ok("berater1", "GET", api)


def _errors(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


async def test_the_clients_measure_is_ticked_off_once_with_its_day(lotse: Lotse) -> None:
    case_id, state = await _active_with_own_measure(lotse)
    own = next(m for m in state["measures"] if m["responsible"] == "client")
    today = german_day(datetime.fromisoformat(state["activated_at"]))
    path = f"/cases/{case_id}/measures/{own['id']}/completion"
    key = {"Idempotency-Key": f"tick-{case_id}"}
    first = await lotse.ok(
        "berater1", "POST", path, json={"done_on": today.isoformat()}, headers=key
    )
    again = await lotse.ok(
        "berater1", "POST", path, json={"done_on": today.isoformat()}, headers=key
    )
    assert first == again and first["stage"] == "active"
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    done = next(m for m in state["measures"] if m["id"] == own["id"])
    assert done["done"] is True and german_day(datetime.fromisoformat(done["done_at"])) == today
    # Without the key, a second tick is refused: it is done already.
    assert (
        "schon als erledigt"
        in _errors(await lotse.post("berater1", path, json={"done_on": today.isoformat()}))[
            "measure_id"
        ]
    )

    def recorded() -> list[CaseEventRecord]:
        with Session(lotse.engine) as session:
            return list(
                session.exec(
                    select(CaseEventRecord)
                    .where(CaseEventRecord.case_id == case_id)
                    .where(CaseEventRecord.kind == "own_measure_completed")
                ).all()
            )

    (event,) = await eventually(recorded)
    assert event.data == {
        "measure_id": own["id"],
        "responsible": "client",
        "done_on": today.isoformat(),
    }
    # The evaluation counts partners' completions from the referrals: none of them is done.
    with Session(lotse.engine) as session:
        referrals = session.exec(
            select(ReferralSummary).where(ReferralSummary.case_id == case_id)
        ).all()
    assert referrals and all(r.status != "completed" for r in referrals)

    history = await lotse.ok("berater1", "GET", f"/cases/{case_id}/history")
    assert "own_measure_completed" in str(history)


async def test_bad_days_and_foreign_measures_are_refused_naming_the_field(lotse: Lotse) -> None:
    case_id, state = await _active_with_own_measure(lotse)
    own = next(m for m in state["measures"] if m["responsible"] == "client")
    partners = next(m for m in state["measures"] if m["responsible"] == "partner")
    activated = german_day(datetime.fromisoformat(state["activated_at"]))
    path = f"/cases/{case_id}/measures/{own['id']}/completion"
    bad: list[tuple[str, object, str]] = [
        *variants("date"),
        ("not a date", "gestern", "Datum"),
        ("huge", HUGE, "Datum"),
        ("a number", 20270228, "Datum"),
        ("future", (date.today() + timedelta(days=2)).isoformat(), "Zukunft"),
        ("too early", (activated - timedelta(days=3)).isoformat(), "vor dem Beginn"),
        *[(label, f"2027-01-0{value}", "Datum") for label, value, _ in CONTROL_VALUES[:2]],
    ]
    for label, value, words in bad:
        errors = _errors(await lotse.post("berater1", path, json={"done_on": value}))
        assert "done_on" in errors, (label, errors)
        assert words in errors["done_on"], (label, errors["done_on"])
    assert "done_on" in _errors(await lotse.post("berater1", path, json={}))

    partner_path = f"/cases/{case_id}/measures/{partners['id']}/completion"
    errors = _errors(
        await lotse.post("berater1", partner_path, json={"done_on": activated.isoformat()})
    )
    assert "Partner" in errors["measure_id"]
    for missing in ("m999", "x%00"):
        response = await lotse.post(
            "berater1",
            f"/cases/{case_id}/measures/{missing}/completion",
            json={"done_on": activated.isoformat()},
        )
        # A measure no case has: 404 like a missing one; a control character in the id: 422.
        assert response.status_code == (404 if missing == "m999" else 422), response.text
    # Another centre's counsellor: the case is not found at all.
    other = await lotse.post("berater2", path, json={"done_on": activated.isoformat()})
    assert other.status_code == 404
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert not any(m["done"] for m in state["measures"])
