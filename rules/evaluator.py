"""The routing evaluator: a catalog's rules matched by durable-rules, routing a profile's needs.

`Evaluator.route` derives facts (facts.py), lets durable-rules pick the rule of each item
(a `Matcher`, by default compiler.InProcessMatcher) and shapes the answer (plan.py). It never
reads the clock ("today" is passed in) and never picks a partner (partners.py does,
separately).
"""

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from domain.enums import CentreKind
from domain.needs import Need, RoutingResult
from domain.profile import IntakeData
from rules.catalog import load_catalog
from rules.compiler import InProcessMatcher
from rules.plan import build_result, make_plan
from rules.schema import Catalog

Event = Mapping[str, object]


class Matcher(Protocol):
    """Matches the items of one or more evaluations against a catalog's rules."""

    def match(
        self, catalog: Catalog, batches: Sequence[Sequence[Event]]
    ) -> list[list[int | None]]: ...


@dataclass(frozen=True)
class Evaluation:
    """One routing question, for `Evaluator.route_many`."""

    profile: IntakeData
    needs: Sequence[Need]
    today: date
    centre_kind: CentreKind


class Evaluator:
    """Routes needs by one catalog; safe to share between threads."""

    def __init__(self, catalog: Catalog, matcher: Matcher | None = None) -> None:
        self.catalog = catalog
        self.version = catalog.version
        self._matcher = matcher if matcher is not None else InProcessMatcher()

    def route(
        self,
        profile: IntakeData,
        needs: Sequence[Need],
        *,
        today: date,
        centre_kind: CentreKind,
    ) -> RoutingResult:
        """Raises rules.RoutingEngineError when the engine refused the batch."""
        [result] = self.route_many([Evaluation(profile, needs, today, centre_kind)])
        return result

    def route_many(self, evaluations: Sequence[Evaluation]) -> list[RoutingResult]:
        """Several evaluations with one call of the matcher (same errors as route)."""
        plans = [
            make_plan(self.catalog, e.profile, e.needs, today=e.today, centre_kind=e.centre_kind)
            for e in evaluations
        ]
        batches = [[item.event() for item in plan.items] for plan in plans]
        matches = self._matcher.match(self.catalog, batches)
        return [build_result(self.catalog, p, m) for p, m in zip(plans, matches, strict=True)]


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
