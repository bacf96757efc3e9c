"""The what-if of a draft over a municipality's open cases, and publishing it, with real cases
(workflows on a time-skipping server): a draft that replaces `emp-sgb2` (employment of a client
on Bürgergeld goes to the employment agency instead of the Jobcenter) reports exactly the open
cases whose employment need would move, with their ids for the municipality's supervisor only;
publishing it leaves the running cases on the version they were routed with.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.api_harness import Lotse, eventually, running_lotse, time_skipping_server
from tests.samples import ASSESSMENT, INTAKE

EMP_SGB2 = {
    "id": "emp-sgb2",
    "need": "employment",
    "when": {"sgb2": True},
    "actor": "employment_agency",
    "measure": "placement",
    "reason": "Bürgergeld (SGB II): Arbeitsvermittlung durch die Agentur für Arbeit",
}


@dataclass(frozen=True)
class World:
    lotse: Lotse
    on_benefit: str  # employment need, Bürgergeld: emp-sgb2 routes it (the Jobcenter)
    signed: str  # the same, signed: active, its referrals dispatched
    not_on_benefit: str  # employment need, no Bürgergeld: emp-sgb3, unchanged
    language_only: str  # Bürgergeld, no employment need: nothing to move
    in_intake: str  # no needs yet: nothing to route
    published_version: str  # the catalog version the cases were routed with


async def _case(lotse: Lotse, intake: dict[str, object], needs: list[dict[str, object]]) -> str:
    case_id = await lotse.open_case("berater1")
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=intake)
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/assessment", json={"needs": needs})
    return case_id


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with (
        time_skipping_server() as env,
        running_lotse(env, tmp_path_factory.mktemp("what-if")) as lotse,
    ):
        needs = ASSESSMENT["needs"]
        on_benefit = await _case(lotse, INTAKE, needs)
        signed = await _case(lotse, INTAKE, needs)
        await lotse.sign_agreement(signed)
        no_benefit = INTAKE | {"receives_citizens_benefit": False}
        not_on_benefit = await _case(lotse, no_benefit, needs)
        language_only = await _case(lotse, INTAKE, [needs[0]])
        in_intake = await lotse.open_case("berater1")
        state = await lotse.ok("berater1", "GET", f"/cases/{on_benefit}")
        ids = (on_benefit, signed, not_on_benefit, language_only, in_intake)

        async def all_projected() -> bool:
            page = await lotse.ok("koordination", "GET", "/supervision/caseload")
            return page is not None and await _listed(lotse, ids)

        await eventually(all_projected)
        yield World(
            lotse,
            on_benefit,
            signed,
            not_on_benefit,
            language_only,
            in_intake,
            state["ruleset_version"],
        )


async def _listed(lotse: Lotse, ids: tuple[str, ...]) -> bool:
    page = await lotse.ok("berater1", "GET", "/cases", params={"page_size": 100})
    return set(ids) <= {item["id"] for item in page["items"]}


async def _draft(lotse: Lotse) -> int:
    """Musterstadt's published rules with `emp-sgb2` replaced as well."""
    versions = await lotse.ok("regelwerk", "GET", "/rules/versions")
    published = next(v for v in versions if v["status"] == "published")
    text = (await lotse.ok("regelwerk", "GET", f"/rules/versions/{published['id']}"))["text"]
    override = yaml.safe_load(text)
    override["replace"] = [*override.get("replace", []), EMP_SGB2]
    created = await lotse.ok("regelwerk", "POST", "/rules/drafts", json={"override": override})
    draft_id: int = created["id"]
    return draft_id


async def test_a_draft_replacing_emp_sgb2_moves_exactly_the_cases_on_benefit_with_employment(
    world: World,
) -> None:
    lotse = world.lotse
    draft_id = await _draft(lotse)
    counted = await lotse.ok("regelwerk", "POST", "/rules/what-if", json={"draft_id": draft_id})
    assert counted["open_cases"] >= 5 and counted["routed_cases"] == counted["open_cases"] - 1
    [change] = counted["changes"]
    assert (change["rule"], change["change"], change["cases"]) == ("emp-sgb2", "replaced", 2)
    [move] = change["moves"]
    assert move["from"] == {"rule": "emp-sgb2", "actor": "jobcenter", "measure": "placement"}
    assert move["to"] == {"rule": "emp-sgb2", "actor": "employment_agency", "measure": "placement"}
    assert move["cases"] == 2 and "case_ids" not in move  # counts only for the rule editor
    for_admin = await lotse.ok("admin", "POST", "/rules/what-if", json={"draft_id": draft_id})
    assert "case_ids" not in for_admin["changes"][0]["moves"][0]
    supervised = await lotse.ok(
        "koordination", "POST", "/rules/what-if", json={"draft_id": draft_id}
    )
    [moved] = supervised["changes"][0]["moves"]
    assert moved["case_ids"] == sorted([world.on_benefit, world.signed])

    # Published: the running cases keep the version and routes they were routed with.
    before = {
        case_id: await lotse.ok("berater1", "GET", f"/cases/{case_id}")
        for case_id in (world.on_benefit, world.signed)
    }
    await lotse.ok("regelwerk", "POST", f"/rules/drafts/{draft_id}/publish")
    for case_id, state in before.items():
        now = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
        assert now["ruleset_version"] == world.published_version == state["ruleset_version"]
        assert now["routes"] == state["routes"]
        employment = next(r for r in now["routes"] if r["need"] == "employment")
        assert employment["actor"] == "jobcenter"
    # A case routed from now on is routed by the published draft.
    fresh = await _case(lotse, INTAKE, ASSESSMENT["needs"])
    state = await lotse.ok("berater1", "GET", f"/cases/{fresh}")
    assert state["ruleset_version"] != world.published_version
    assert next(r for r in state["routes"] if r["need"] == "employment")["actor"] == (
        "employment_agency"
    )
    # A review of the signed case routes its new need by the published draft: the new route
    # names the new version, the old routes stay as they were.
    review = {"new_needs": [{"kind": "employment", "priority": 2}]}
    await lotse.ok("berater1", "POST", f"/cases/{world.signed}/reviews", json=review)
    old_routes = before[world.signed]["routes"]

    async def reviewed_state() -> dict[str, Any] | None:
        # The review may continue the case as new: a read in that moment answers 503.
        response = await lotse.get("berater1", f"/cases/{world.signed}")
        answer: dict[str, Any] = response.json()
        return answer if response.status_code == 200 else None

    reviewed = await eventually(reviewed_state)
    assert reviewed["ruleset_version"] == state["ruleset_version"] != world.published_version
    assert reviewed["routes"][: len(old_routes)] == old_routes
    [added] = reviewed["routes"][len(old_routes) :]
    assert (added["need"], added["actor"]) == ("employment", "employment_agency")
    # Nothing is left to move: the draft is what routes now.
    after = await lotse.ok("regelwerk", "POST", "/rules/what-if", json={"draft_id": draft_id})
    assert after["changes"] == []
