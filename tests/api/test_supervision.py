"""The supervisor's lists through the API, with the clocks run forward: a case whose first
review is not recorded 14 days after it was due shows up as overdue, in the counsellor's
filter and in the supervisor's lists. A time-skipping server of its own: skipping months moves
every timer of the server, and another module's leftover workflows must not take part."""

from datetime import timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.api_harness import Lotse, eventually


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
