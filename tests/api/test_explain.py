"""`POST /rules/explain` routes as a case is routed: the same function (`rules.route_needs`) with
the same directory gives the dry run the routes and partners that the `route_needs` activity
gives a case's assessment. Without a municipality the routes name no partner. On SQLite and
PostgreSQL (the partners and their open referrals come from the store), without Temporal.
"""

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.case import CaseActivities, RouteNeedsInput
from activities.case_events import InMemoryCaseEventSink
from domain.enums import CentreKind
from domain.needs import Need, RoutingResult
from domain.profile import IntakeData
from store.directory import SqlDirectory
from store.seed import MUNICIPALITY_ID
from tests.api_harness import StoreOnly, store_only
from tests.samples import ASSESSMENT, INTAKE

TODAY = date(2026, 11, 25)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("explain")) as system:
        yield system


def _request(**extra: Any) -> dict[str, Any]:
    return {"today": TODAY.isoformat(), "profile": INTAKE, "needs": ASSESSMENT["needs"]} | extra


async def test_a_dry_run_routes_and_picks_partners_as_a_case_does(system: StoreOnly) -> None:
    response = await system.call(
        "berater1", "POST", "/rules/explain", json=_request(municipality=MUNICIPALITY_ID)
    )
    assert response.status_code == 200, response.text
    explained = RoutingResult.model_validate(response.json())
    activities = CaseActivities(SqlDirectory(system.engine), InMemoryCaseEventSink())
    routed = await ActivityEnvironment().run(
        activities.route_needs,
        RouteNeedsInput(
            case_id="case-00000000-0000-4000-8000-000000000001",
            municipality_id=MUNICIPALITY_ID,
            centre_kind=CentreKind.MBE,
            profile=IntakeData.model_validate(INTAKE, context={"today": TODAY}),
            needs=[Need.model_validate(need) for need in ASSESSMENT["needs"]],
            today=TODAY,
        ),
    )
    assert explained == routed
    partners = {route.need.value: route.partner_id for route in explained.routes}
    assert partners["language"] == "sprachschule-musterstadt"
    assert all(route.partner_id for route in explained.routes)


async def test_without_a_municipality_no_partner_is_picked(system: StoreOnly) -> None:
    body = await system.call("koordination", "POST", "/rules/explain", json=_request())
    assert body.status_code == 200, body.text
    routes = body.json()["routes"]
    assert routes and all(route["partner_id"] is None for route in routes)
