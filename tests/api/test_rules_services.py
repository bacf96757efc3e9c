"""The rules engine inside the services (issue 10): the API and the worker run in this test
process (tests/api_harness.py), the engine in their evaluator processes (rules/pool.py).

- The issue's request (only an unroutable need) answers 200 with the need under `unrouted`,
  by `POST /rules/explain` and by a case's assessment, many times over, and the case goes on.
- Partners may not dry-run routing (403, German); counsellors, supervisors and admins may.
- A real crash of the evaluator process (SIGSEGV, SIGABRT in the child) answers 503 with
  Retry-After on the API and is a retryable failure of the `route_needs` activity, which its
  retry then completes on a fresh process; this process, the other endpoints and the next
  evaluation carry on.
"""

from datetime import date
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import rules
from activities.case import CaseActivities, RouteNeedsInput
from activities.case_events import InMemoryCaseEventSink
from activities.directory import InMemoryDirectory
from domain.enums import CentreKind, NeedKind
from domain.needs import Need, RoutingResult
from domain.profile import IntakeData
from tests.api_harness import Lotse
from tests.samples import ASSESSMENT, INTAKE, ISSUE_REQUEST


def _unrouted(body: dict[str, Any]) -> list[tuple[str, int]]:
    return [(item["need"], item["need_index"]) for item in body["unrouted"]]


async def test_explain_with_only_an_unroutable_need_answers_200_every_time(lotse: Lotse) -> None:
    for _ in range(25):
        response = await lotse.post("berater1", "/rules/explain", json=ISSUE_REQUEST)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["routes"] == []
        assert _unrouted(body) == [("childcare", 0)]
    for user in ("koordination", "admin"):
        response = await lotse.post(user, "/rules/explain", json=ISSUE_REQUEST)
        assert response.status_code == 200 and _unrouted(response.json()) == [("childcare", 0)]
    assert (await lotse.get("berater1", "/me")).status_code == 200


async def test_partners_may_not_dry_run_routing(lotse: Lotse) -> None:
    response = await lotse.post("sprachkurs", "/rules/explain", json=ISSUE_REQUEST)
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Diese Funktion steht nur folgenden Rollen offen: Beratung, Koordination, Regelwerk, "
        "Verwaltung."
    )
    # The catalog itself stays readable for partners (GET /rules).
    assert (await lotse.get("sprachkurs", "/rules")).status_code == 200


@pytest.mark.parametrize("fault", ["segv", "abort"])
async def test_a_crashed_evaluator_answers_503_and_the_next_request_works(
    lotse: Lotse, fault: str
) -> None:
    pool = rules.default_pool()
    assert (await lotse.post("berater1", "/rules/explain", json=ISSUE_REQUEST)).is_success
    before = set(pool.pids())
    pool.arm_fault(fault)  # type: ignore[arg-type]
    response = await lotse.post("berater1", "/rules/explain", json=ISSUE_REQUEST)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["detail"] == (
        "Die Regelauswertung ist gerade ausgefallen; bitte in einigen Sekunden erneut versuchen."
    )
    # The API (this process) is alive, other endpoints answer, the next evaluation runs on a
    # fresh evaluator process.
    assert (await lotse.get("berater1", "/me")).status_code == 200
    again = await lotse.post("berater1", "/rules/explain", json=ISSUE_REQUEST)
    assert again.status_code == 200 and _unrouted(again.json()) == [("childcare", 0)]
    after = set(pool.pids())
    assert len(before - after) == 1 and len(after - before) == 1


def _intake_with_a_schoolchild() -> dict[str, Any]:
    return INTAKE | {"children": [{"birth_date": "2019-01-01", "has_childcare": False}]}


async def test_an_assessment_with_only_unroutable_needs_is_recorded_and_the_case_goes_on(
    lotse: Lotse,
) -> None:
    case_id = await lotse.open_case()
    await lotse.ok(
        "berater1", "POST", f"/cases/{case_id}/intake", json=_intake_with_a_schoolchild()
    )
    assessment = {"needs": [{"kind": "childcare", "priority": 1}]}
    result = await lotse.ok("berater1", "POST", f"/cases/{case_id}/assessment", json=assessment)
    assert result["stage"] == "drafting"
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["routes"] == []
    assert [u["need"] for u in state["unrouted"]] == ["childcare"]
    # The counsellor goes on with the case (a draft with a measure of the client's own) and
    # other cases are routed as before.
    draft = {
        "goals": [{"text": "Betreuung für das Schulkind klären"}],
        "measures": [{"text": "Hortplatz anfragen", "responsible": "client"}],
    }
    drafted = await lotse.ok("berater1", "POST", f"/cases/{case_id}/agreement", json=draft)
    assert drafted["stage"] == "drafting"
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert [g["text"] for g in state["goals"]] == ["Betreuung für das Schulkind klären"]
    assert [m["text"] for m in state["measures"]] == ["Hortplatz anfragen"]
    other = await lotse.case_in_drafting()
    assert (await lotse.ok("berater1", "GET", f"/cases/{other}"))["stage"] == "drafting"


async def test_a_crash_while_routing_an_assessment_is_retried_on_a_fresh_process(
    lotse: Lotse,
) -> None:
    pool = rules.default_pool()
    case_id = await lotse.open_case()
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=INTAKE)
    await lotse.post("berater1", "/rules/explain", json=ISSUE_REQUEST)  # processes running
    before = set(pool.pids())
    pool.arm_fault("segv")  # the first attempt of route_needs crashes its process
    result = await lotse.ok("berater1", "POST", f"/cases/{case_id}/assessment", json=ASSESSMENT)
    assert result["stage"] == "drafting"
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert {r["need"] for r in state["routes"]} >= {"language", "employment"}
    assert before - set(pool.pids()), "the crashed process was replaced"


async def test_the_route_needs_activity_fails_retryably_when_its_evaluator_crashes() -> None:
    activities = CaseActivities(InMemoryDirectory([]), InMemoryCaseEventSink())
    today = date(2026, 11, 30)
    input = RouteNeedsInput(
        case_id="case-1",
        municipality_id="musterstadt",
        centre_kind=CentreKind.MBE,
        profile=IntakeData.model_validate(ISSUE_REQUEST["profile"], context={"today": today}),
        needs=[Need(kind=NeedKind.CHILDCARE)],
        today=today,
    )
    env = ActivityEnvironment()
    rules.default_pool().arm_fault("abort")
    with pytest.raises(ApplicationError) as failed:
        await env.run(activities.route_needs, input)
    assert failed.value.type == "RulesUnavailable"
    assert not failed.value.non_retryable
    assert "SIGABRT" in failed.value.message
    # The retry (here: the next call) succeeds on a fresh process.
    result = await env.run(activities.route_needs, input)
    assert isinstance(result, RoutingResult)
    assert [u.need for u in result.unrouted] == [NeedKind.CHILDCARE] and result.routes == []
