"""The routing evaluator: a catalog's rules matched by durable-rules, routing a profile's needs,
and `route_needs`, routing the whole way as a case is routed (the rules, then the directory's
partners): the `route_needs` activity and `POST /rules/explain` both call it, so a dry run
routes exactly as a case does.

`Evaluator.route` derives facts (facts.py, in this process), lets durable-rules pick the rule
of each item and shapes the answer (plan.py, in this process). The matching runs in a
supervised evaluator process (pool.py) unless a test or the benchmark passes another
`Matcher` (compiler.InProcessMatcher runs the engine in this process). It never reads the
clock ("today" is passed in) and never picks a partner (partners.py does, separately).
"""

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from domain.enums import CentreKind
from domain.needs import Need, RoutingResult
from domain.partners import Partner
from domain.profile import IntakeData
from rules.catalog import load_catalog
from rules.partners import resolve_partners
from rules.plan import build_result, make_plan
from rules.pool import Event, default_pool
from rules.schema import Catalog


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
        # None: the process-wide pool, looked up per call (a forked process gets its own).
        self._matcher = matcher

    def route(
        self,
        profile: IntakeData,
        needs: Sequence[Need],
        *,
        today: date,
        centre_kind: CentreKind,
    ) -> RoutingResult:
        """Raises rules.RulesUnavailable (evaluator process crashed or hung: retry) and
        rules.RoutingEngineError (the engine refused the batch)."""
        [result] = self.route_many([Evaluation(profile, needs, today, centre_kind)])
        return result

    def route_many(self, evaluations: Sequence[Evaluation]) -> list[RoutingResult]:
        """Several evaluations with one trip to the evaluator process (same errors as route)."""
        plans = [
            make_plan(self.catalog, e.profile, e.needs, today=e.today, centre_kind=e.centre_kind)
            for e in evaluations
        ]
        batches = [[item.event() for item in plan.items] for plan in plans]
        matcher = self._matcher if self._matcher is not None else default_pool()
        matches = matcher.match(self.catalog, batches)
        return [build_result(self.catalog, p, m) for p, m in zip(plans, matches, strict=True)]


_EVALUATORS: dict[str | None, Evaluator] = {}
_EVALUATORS_LOCK = threading.Lock()


def evaluator_for(municipality: str | None) -> Evaluator:
    """The cached evaluator of a municipality's merged catalog (the default when it has none),
    matching in the process-wide evaluator pool."""
    evaluator = _EVALUATORS.get(municipality)
    if evaluator is None:
        with _EVALUATORS_LOCK:
            evaluator = _EVALUATORS.get(municipality)
            if evaluator is None:
                evaluator = _EVALUATORS[municipality] = Evaluator(load_catalog(municipality))
    return evaluator


PartnerSource = Callable[[str], Sequence[Partner] | None]


def route_needs(
    profile: IntakeData,
    needs: Sequence[Need],
    *,
    municipality: str | None,
    today: date,
    centre_kind: CentreKind,
    partners: PartnerSource,
    evaluators: Callable[[str | None], Evaluator] = evaluator_for,
) -> RoutingResult:
    """The routes of `needs` with their partners. Raises ValueError (not a municipality id),
    rules.CatalogError (its rules are broken), rules.RulesUnavailable and
    rules.RoutingEngineError (the evaluation failed; trying again may well succeed).
    `evaluators` gives a municipality's evaluator (`lotse simulate`'s core engine passes its
    own, see simulate/routing.py)."""
    evaluator = evaluators(municipality)
    result = evaluator.route(profile, needs, today=today, centre_kind=centre_kind)
    if municipality is None:
        return result
    directory = partners(municipality)
    if directory is None:
        return result
    routes = resolve_partners(result.routes, list(directory), municipality)
    return result.model_copy(update={"routes": routes})
