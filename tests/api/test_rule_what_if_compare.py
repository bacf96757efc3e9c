"""The what-if's comparison without cases or Temporal: which rules a draft changes, and each
routed need that moves counted under the changed rule that moved it (the draft's rule that now
routes it, or the rule that no longer does), from (rule, actor, measure) to (rule, actor,
measure); an unchanged outcome is not counted."""

from api.rule_what_if import changed_rules, compare, shape
from domain.enums import ActorKind, NeedKind
from domain.needs import Route, RoutingResult, Unrouted
from rules.catalog import default_catalog
from rules.overrides import override_catalog

PUBLISHED = default_catalog()
DRAFT = override_catalog(
    "disable: [emp-sgb3]\n"
    "add:\n"
    "  - id: emp-local\n"
    "    before: emp-sgb2\n"
    "    need: employment\n"
    "    when: {age: {lt: 25}}\n"
    "    actor: youth_migration_service\n"
    "    measure: transfer_suggestion\n"
    "    reason: jung\n",
    "musterstadt",
)


def _routed(rule: str, actor: ActorKind, measure: str = "placement") -> RoutingResult:
    route = Route(
        need=NeedKind.EMPLOYMENT, need_index=1, actor=actor, measure=measure, rule=rule, reason="r"
    )
    return RoutingResult(ruleset_version="v", routes=[route])


def _unrouted() -> RoutingResult:
    item = Unrouted(need=NeedKind.EMPLOYMENT, need_index=1, reason="keine Regel")
    return RoutingResult(ruleset_version="v", unrouted=[item])


def test_the_changed_rules_are_the_added_and_the_removed_ones() -> None:
    assert changed_rules(PUBLISHED, DRAFT) == {"emp-sgb3": "removed", "emp-local": "added"}
    assert changed_rules(PUBLISHED, PUBLISHED) == {}


def test_each_moved_need_is_counted_under_the_rule_that_moved_it() -> None:
    jobcenter = _routed("emp-sgb2", ActorKind.JOBCENTER)
    agency = _routed("emp-sgb3", ActorKind.EMPLOYMENT_AGENCY)
    young = _routed("emp-local", ActorKind.YOUTH_MIGRATION_SERVICE, "transfer_suggestion")
    report = compare(
        PUBLISHED,
        DRAFT,
        [
            ("case-a", jobcenter, jobcenter),  # unchanged: not counted
            ("case-b", agency, _unrouted()),  # emp-sgb3 gone: no rule routes it now
            ("case-c", jobcenter, young),  # the new rule comes first
            ("case-d", agency, young),
        ],
    )
    answer = {entry["rule"]: entry for entry in shape(report, with_case_ids=True)}
    assert answer["emp-sgb3"]["cases"] == 1
    assert answer["emp-sgb3"]["moves"] == [
        {
            "from": {"rule": "emp-sgb3", "actor": "employment_agency", "measure": "placement"},
            "to": None,
            "cases": 1,
            "case_ids": ["case-b"],
        }
    ]
    assert answer["emp-local"]["cases"] == 2
    assert {tuple(m["case_ids"]) for m in answer["emp-local"]["moves"]} == {
        ("case-c",),
        ("case-d",),
    }
    counts = shape(report, with_case_ids=False)
    assert all("case_ids" not in move for entry in counts for move in entry["moves"])
