"""The routing evaluator: a catalog compiled once into durable-rules, routing a profile's needs.

`Evaluator.route` derives facts (facts.py), lets durable-rules pick the rule of each item
(compiler.py) and shapes the answer (plan.py). It never reads the clock ("today" is passed in)
and never picks a partner (partners.py does, separately).
"""

import threading
from collections.abc import Sequence
from datetime import date

from domain.enums import CentreKind
from domain.needs import Need, RoutingResult
from domain.profile import IntakeData
from rules.catalog import load_catalog
from rules.compiler import compile_catalog
from rules.plan import build_result, make_plan
from rules.schema import Catalog


class Evaluator:
    """Routes needs by one catalog; safe to share between threads."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.version = catalog.version
        self._ruleset = compile_catalog(catalog)

    def route(
        self,
        profile: IntakeData,
        needs: Sequence[Need],
        *,
        today: date,
        centre_kind: CentreKind,
    ) -> RoutingResult:
        plan = make_plan(self.catalog, profile, needs, today=today, centre_kind=centre_kind)
        matches = self._ruleset.match([item.event() for item in plan.items])
        return build_result(self.catalog, plan, matches)


_EVALUATORS: dict[str | None, Evaluator] = {}
_EVALUATORS_LOCK = threading.Lock()


def evaluator_for(municipality: str | None) -> Evaluator:
    """The cached evaluator of a municipality's merged catalog (the default when it has none)."""
    evaluator = _EVALUATORS.get(municipality)
    if evaluator is None:
        with _EVALUATORS_LOCK:
            evaluator = _EVALUATORS.get(municipality)
            if evaluator is None:
                evaluator = _EVALUATORS[municipality] = Evaluator(load_catalog(municipality))
    return evaluator
