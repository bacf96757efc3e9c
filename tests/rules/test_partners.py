"""Partner resolution: the concrete partner of each route's actor kind in the municipality."""

from typing import Any

from domain.enums import ActorKind, NeedKind
from domain.needs import Route
from domain.partners import Partner
from rules import resolve_partners

TOWN = "musterstadt"


def a_route(actor: ActorKind = ActorKind.LANGUAGE_COURSE_PROVIDER, **fields: Any) -> Route:
    data: dict[str, Any] = {
        "need": NeedKind.LANGUAGE,
        "actor": actor,
        "measure": "integration_course",
        "rule": "lang-integration",
        "reason": "Grund",
    }
    data.update(fields)
    return Route.model_validate(data)


def a_partner(partner_id: str, **fields: Any) -> Partner:
    data: dict[str, Any] = {
        "id": partner_id,
        "kind": ActorKind.LANGUAGE_COURSE_PROVIDER,
        "municipality": TOWN,
        "measures": ["integration_course"],
        "open_referrals": 0,
    }
    data.update(fields)
    return Partner.model_validate(data)


def partner_ids(routes: list[Route]) -> list[str | None]:
    return [route.partner_id for route in routes]


def test_fewest_open_referrals_wins_and_ties_go_to_the_lowest_id() -> None:
    partners = [
        a_partner("c", open_referrals=1),
        a_partner("b", open_referrals=3),
        a_partner("a", open_referrals=1),
    ]
    (resolved,) = resolve_partners([a_route()], partners, TOWN)
    assert resolved.partner_id == "a" and resolved.unassigned_reason is None


def test_inactive_other_municipality_other_kind_and_measure_not_offered_are_skipped() -> None:
    partners = [
        a_partner("a-inactive", active=False),
        a_partner("b-elsewhere", municipality="nachbarstadt"),
        a_partner("c-jobcenter", kind=ActorKind.JOBCENTER),
        a_partner("d-other-measure", measures=["job_language_course"]),
        a_partner("z-fits", open_referrals=40),
    ]
    assert partner_ids(resolve_partners([a_route()], partners, TOWN)) == ["z-fits"]


def test_routes_of_one_call_spread_over_equal_partners() -> None:
    partners = [a_partner("a"), a_partner("b"), a_partner("c", open_referrals=5)]
    routes = [a_route(), a_route(), a_route()]
    assert partner_ids(resolve_partners(routes, partners, TOWN)) == ["a", "b", "a"]
    assert partners[0].open_referrals == 0  # pure: the directory records are not changed


def test_no_fitting_partner_keeps_the_route_with_a_german_reason() -> None:
    routes = [a_route(), a_route(ActorKind.JOBCENTER, measure="placement")]
    cases = {
        "Kein Partner der Art „Sprachkursträger“ in „musterstadt“ im Verzeichnis": [],
        "Kein aktiver Partner der Art „Sprachkursträger“": [a_partner("a", active=False)],
        "bietet die Maßnahme „integration_course“ an": [a_partner("a", measures=["x"])],
    }
    for expected, partners in cases.items():
        resolved = resolve_partners(routes, partners, TOWN)
        assert len(resolved) == 2
        assert resolved[0].partner_id is None
        assert resolved[0].unassigned_reason is not None
        assert expected in resolved[0].unassigned_reason
        assert resolved[0].unassigned_reason.endswith("bitte manuell zuweisen.")
        assert resolved[1].unassigned_reason is not None  # no jobcenter either


def test_excluded_partners_are_skipped_for_re_routing() -> None:
    partners = [a_partner("a"), a_partner("b", open_referrals=9)]
    assert partner_ids(resolve_partners([a_route()], partners, TOWN, exclude={"a"})) == ["b"]
    (alone,) = resolve_partners([a_route()], partners, TOWN, exclude={"a", "b"})
    assert alone.partner_id is None
    assert alone.unassigned_reason is not None and "abgelehnt" in alone.unassigned_reason


def test_migration_counselling_needs_no_partner_and_no_reason() -> None:
    own = a_route(ActorKind.MIGRATION_COUNSELLING, measure="counselling", rule="other")
    (resolved,) = resolve_partners([own], [a_partner("a")], TOWN)
    assert resolved.partner_id is None and resolved.unassigned_reason is None
    assert resolved.model_dump(exclude={"partner_id"}) == own.model_dump(exclude={"partner_id"})


def test_resolution_keeps_order_and_every_other_field() -> None:
    routes = [
        a_route(need_index=0),
        a_route(ActorKind.MIGRATION_COUNSELLING, measure="counselling", need_index=1),
        a_route(need_index=2, qualification="x"),
    ]
    resolved = resolve_partners(routes, [a_partner("a")], TOWN)
    assert [r.need_index for r in resolved] == [0, 1, 2]
    assert resolved[2].qualification == "x" and resolved[2].reason == "Grund"
