"""A plain-Python evaluator of the same catalogs, with the same API as rules.Evaluator.

Used only as the benchmark baseline (bench/rules.py) and as a cross-check in tests: for any
input it must give exactly what the durable-rules evaluator gives. Production routing must not
use it: the rules engine of record is durable-rules.
"""

from collections.abc import Sequence
from datetime import date

from domain.enums import CentreKind
from domain.needs import Need, RoutingResult
from domain.profile import IntakeData
from rules.conditions import Predicate, to_predicate
from rules.plan import Item, build_result, make_plan
from rules.schema import CASE_SCOPE, Catalog


class ReferenceEvaluator:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.version = catalog.version
        # Per scope, the (position, rule id, predicate) triples in table order.
        self._by_scope: dict[str, list[tuple[int, str, Predicate]]] = {}
        for position, rule in enumerate(catalog.rules):
            entry = (position, rule.id, to_predicate(rule.when))
            self._by_scope.setdefault(str(rule.need), []).append(entry)

    def _first_match(self, item: Item) -> int | None:
        for position, rule_id, predicate in self._by_scope.get(item.scope, ()):
            if item.scope == CASE_SCOPE and rule_id != item.slot:
                continue
            if predicate(item.facts):
                return position
        return None

    def route(
        self,
        profile: IntakeData,
        needs: Sequence[Need],
        *,
        today: date,
        centre_kind: CentreKind,
    ) -> RoutingResult:
        plan = make_plan(self.catalog, profile, needs, today=today, centre_kind=centre_kind)
        return build_result(self.catalog, plan, [self._first_match(i) for i in plan.items])
