"""Routing by the federal table (ROUTING.md) through the real durable-rules evaluator: one
test per row (a match and a near miss), ordering, ages on "today", the case-level age-jmd,
credentials with several qualifications, unrouted needs and the Musterstadt override."""

from datetime import date, timedelta
from typing import Any

import pytest

from domain.enums import CentreKind, NeedKind
from domain.needs import Need, RoutingResult
from domain.profile import IntakeData
from rules import evaluator_for, load_catalog

TODAY = date(2025, 3, 14)


def years_ago(years: int, *, days: int = 0) -> date:
    """A birth date `years` years before TODAY, moved `days` later (so not yet had birthday)."""
    return TODAY.replace(year=TODAY.year - years) + timedelta(days=days)


def profile(**fields: Any) -> IntakeData:
    data: dict[str, Any] = {
        "birth_date": years_ago(40),
        "german_level": "B2",
        "residence": {"status": "settlement"},
        "employment": "unemployed",
    }
    data.update(fields)
    return IntakeData.model_validate(data, context={"today": TODAY})


def qualification(kind: str = "vocational", **fields: Any) -> dict[str, Any]:
    return {
        "title": "Elektroniker",
        "country": "SY",
        "kind": kind,
        "regulated": False,
        "documents_complete": True,
        **fields,
    }


def child(years: int, *, days: int = 0, care: bool = False) -> dict[str, Any]:
    return {"birth_date": years_ago(years, days=days), "has_childcare": care}


def route(
    kinds: list[str],
    *,
    municipality: str | None = None,
    centre_kind: CentreKind = CentreKind.JMD,  # no age-jmd: tested on its own
    today: date = TODAY,
    **fields: Any,
) -> RoutingResult:
    needs = [Need(kind=NeedKind(kind)) for kind in kinds]
    return evaluator_for(municipality).route(
        profile(**fields), needs, today=today, centre_kind=centre_kind
    )


def rule_ids(result: RoutingResult) -> list[str]:
    return [r.rule for r in result.routes]


# (row id, need, fields that match the row, fields of a near miss, rule the near miss gets)
ROWS: list[tuple[str, str, dict[str, Any], dict[str, Any], str | None]] = [
    ("lang-literacy", "language", {"literacy_need": True}, {}, "lang-job"),
    (
        "lang-youth",
        "language",
        {"german_level": "A2", "birth_date": years_ago(27, days=1)},  # 26 until tomorrow
        {"german_level": "A2", "birth_date": years_ago(27)},  # 27 today
        "lang-integration",
    ),
    (
        "lang-parents",
        "language",
        {"german_level": "A1", "children": [child(5, days=1)]},
        {"german_level": "A1", "children": [child(5, days=1, care=True)]},
        "lang-integration",
    ),
    ("lang-integration", "language", {"german_level": "A2"}, {"german_level": "B1"}, "lang-job"),
    (
        "lang-job",
        "language",
        {"german_level": "A2", "integration_course_completed": True},
        {"german_level": "A2"},
        "lang-integration",
    ),
    ("emp-sgb2", "employment", {"receives_citizens_benefit": True}, {}, "emp-sgb3"),
    ("emp-sgb3", "employment", {}, {"receives_citizens_benefit": True}, "emp-sgb2"),
    ("train-guidance", "training", {"birth_date": years_ago(60)}, {}, "train-guidance"),
    (
        "cred-counselling",
        "credential",
        {"qualifications": [qualification(documents_complete=False, regulated=True)]},
        {"qualifications": [qualification(regulated=True)]},
        "cred-regulated",
    ),
    (
        "cred-regulated",
        "credential",
        {"qualifications": [qualification("academic", regulated=True)]},
        {"qualifications": [qualification("academic")]},
        "cred-academic",
    ),
    (
        "cred-vocational",
        "credential",
        {"qualifications": [qualification("vocational")]},
        {"qualifications": [qualification("vocational", documents_complete=False)]},
        "cred-counselling",
    ),
    (
        "cred-academic",
        "credential",
        {"qualifications": [qualification("academic")]},
        {"qualifications": [qualification("vocational")]},
        "cred-vocational",
    ),
    (
        "care-place",
        "childcare",
        {"children": [child(1)]},  # first birthday today
        {"children": [child(1, days=1)]},  # first birthday tomorrow
        "care-under1",
    ),
    (
        "care-under1",
        "childcare",
        {"children": [child(0), child(8)]},
        {"children": [child(0), child(3)]},
        "care-place",
    ),
    (
        "res-urgent",
        "residence",
        {"residence": {"status": "permit", "expires_on": TODAY + timedelta(days=90)}},
        {"residence": {"status": "permit", "expires_on": TODAY + timedelta(days=91)}},
        "res-routine",
    ),
    (
        "res-routine",
        "residence",
        {"residence": {"status": "eu"}},
        {"residence": {"status": "gestattung"}},
        "res-urgent",
    ),
    ("other", "other", {}, {}, "other"),
]


@pytest.mark.parametrize(
    ("row", "need", "match", "near", "near_rule"), ROWS, ids=[r[0] for r in ROWS]
)
def test_each_routing_row_matches_and_its_near_miss_does_not(
    row: str, need: str, match: dict[str, Any], near: dict[str, Any], near_rule: str | None
) -> None:
    matched = route([need], **match)
    assert rule_ids(matched) == [row]
    assert matched.unrouted == []
    (routed,) = matched.routes
    catalog_rule = next(r for r in load_catalog().rules if r.id == row)
    assert routed.actor == catalog_rule.actor
    assert routed.measure == catalog_rule.measure
    assert [(f.after_days, f.action) for f in routed.follow_ups] == [
        (f.after_days, f.action) for f in catalog_rule.follow_ups
    ]
    assert routed.reason and "{" not in routed.reason
    if row != near_rule:  # rows matching "any" have no near miss within their need
        assert rule_ids(route([need], **near)) == [near_rule]


def test_row_conditions_are_not_borrowed_across_need_kinds() -> None:
    assert rule_ids(route(["employment"], literacy_need=True)) == ["emp-sgb3"]
    assert "train-guidance" not in rule_ids(route(["other"]))


def test_age_jmd_added_once_per_case_for_under_27_at_mbe() -> None:
    young: dict[str, Any] = {"birth_date": years_ago(27, days=1)}
    result = route(["language", "employment", "other"], centre_kind=CentreKind.MBE, **young)
    jmd = [r for r in result.routes if r.rule == "age-jmd"]
    assert len(jmd) == 1
    assert jmd[0].need_index == 0 and jmd[0].measure == "transfer_suggestion"
    assert "26 Jahre alt" in jmd[0].reason
    assert rule_ids(result)[:3] == ["lang-job", "emp-sgb3", "other"]
    mbe = CentreKind.MBE
    assert "age-jmd" not in rule_ids(route(["other"], centre_kind=mbe, birth_date=years_ago(27)))
    assert "age-jmd" not in rule_ids(route(["other"], centre_kind=CentreKind.JMD, **young))


def test_residence_toleration_and_unclear_are_urgent_with_priority_1() -> None:
    for status in ("toleration", "gestattung", "unclear"):
        result = route(["residence"], residence={"status": status})
        assert rule_ids(result) == ["res-urgent"]
        assert result.routes[0].priority == 1
    expiring = route(
        ["residence"], residence={"status": "permit", "expires_on": TODAY + timedelta(days=30)}
    )
    assert expiring.routes[0].reason.startswith(
        "Aufenthaltserlaubnis bis 13.04.2025 (noch 30 Tage)"
    )
    assert route(["residence"]).routes[0].priority == 2


def test_route_priority_follows_the_need_unless_the_rule_sets_one() -> None:
    needs = [Need(kind=NeedKind.OTHER, priority=3), Need(kind=NeedKind.RESIDENCE, priority=3)]
    result = evaluator_for(None).route(
        profile(residence={"status": "unclear"}), needs, today=TODAY, centre_kind=CentreKind.MBE
    )
    assert [r.priority for r in result.routes] == [3, 1]


def test_first_rule_in_table_order_wins() -> None:
    everything: dict[str, Any] = {
        "literacy_need": True,
        "german_level": "A1",
        "birth_date": years_ago(20),
        "children": [child(2)],
    }
    assert rule_ids(route(["language"], **everything)) == ["lang-literacy"]
    everything["literacy_need"] = False
    assert rule_ids(route(["language"], **everything)) == ["lang-youth"]
    everything["birth_date"] = years_ago(30)
    assert rule_ids(route(["language"], **everything)) == ["lang-parents"]


def test_reason_names_the_facts_that_matched() -> None:
    result = route(["language"], german_level="A2", birth_date=years_ago(24))
    assert result.routes[0].reason == (
        "Deutschkenntnisse unter B1 (A2), Integrationskurs nicht abgeschlossen, "
        "24 Jahre alt: Jugendintegrationskurs"
    )


def test_age_is_computed_on_the_day_passed_in() -> None:
    fields: dict[str, Any] = {"german_level": "A2", "birth_date": date(1998, 6, 1)}
    assert rule_ids(route(["language"], today=date(2025, 5, 31), **fields)) == ["lang-youth"]
    assert rule_ids(route(["language"], today=date(2025, 6, 1), **fields)) == ["lang-integration"]


def test_credential_need_routes_each_qualification() -> None:
    quals = [
        qualification("vocational", title="Elektroniker"),
        qualification("academic", title="Bachelor Informatik", documents_complete=False),
        qualification("academic", title="Medizin", regulated=True),
    ]
    result = route(["other", "credential"], qualifications=quals)
    credential = [r for r in result.routes if r.need is NeedKind.CREDENTIAL]
    assert [(r.rule, r.qualification, r.need_index) for r in credential] == [
        ("cred-vocational", "Elektroniker", 1),
        ("cred-counselling", "Bachelor Informatik", 1),
        ("cred-regulated", "Medizin", 1),
    ]
    assert "„Bachelor Informatik“" in credential[1].reason
    # The country by its German name, not its code.
    assert "„Elektroniker“ (Syrien)" in credential[0].reason


def test_need_without_matching_rule_is_unrouted_with_a_german_reason() -> None:
    result = route(["credential", "childcare", "other"], children=[child(7)])
    assert rule_ids(result) == ["other"]
    assert [(u.need, u.need_index) for u in result.unrouted] == [
        (NeedKind.CREDENTIAL, 0),
        (NeedKind.CHILDCARE, 1),
    ]
    assert "keine ausländische Qualifikation" in result.unrouted[0].reason
    assert "Kinderbetreuung" in result.unrouted[1].reason
    assert result.ruleset_version == load_catalog().version


def test_musterstadt_replaces_disables_and_adds_rules() -> None:
    town = "musterstadt"
    routine = route(["residence"], municipality=town)
    assert rule_ids(routine) == ["res-routine"]
    assert "Online-Portal der Ausländerbehörde Musterstadt" in routine.routes[0].reason
    assert "Online-Portal" not in route(["residence"]).routes[0].reason

    baby: dict[str, Any] = {"children": [child(0)]}
    assert rule_ids(route(["childcare"], **baby)) == ["care-under1"]
    disabled = route(["childcare"], municipality=town, **baby)
    assert disabled.routes == [] and len(disabled.unrouted) == 1

    assert rule_ids(route(["training"], municipality=town, birth_date=years_ago(22))) == [
        "train-youth-agency"
    ]
    assert rule_ids(route(["training"], municipality=town, birth_date=years_ago(25))) == [
        "train-guidance"
    ]
    assert routine.ruleset_version == load_catalog(town).version != load_catalog().version


def test_musterstadt_keeps_language_employment_and_credential_rules() -> None:
    def federal_core(municipality: str | None) -> list[Any]:
        prefixes = ("lang-", "emp-", "cred-")
        rules = load_catalog(municipality).rules
        return [r for r in rules if r.id.startswith(prefixes)]

    assert federal_core("musterstadt") == federal_core(None)


def test_municipality_without_file_routes_by_the_default() -> None:
    assert load_catalog("nirgendwo").version == load_catalog().version
    fields: dict[str, Any] = {"children": [child(0)], "residence": {"status": "eu"}}
    assert route(["childcare", "residence"], municipality="nirgendwo", **fields) == route(
        ["childcare", "residence"], **fields
    )
