"""The what-if of a draft: the municipality's open cases routed by the published rules and by
the draft, and, per changed rule, how many would route differently, from what to what.

Each open case's profile and needs come from its workflow (a query per case: the read model
keeps no profile, on purpose), at most `MAX_CASES` of them, `PARALLEL` queries at a time; a
case still without needs (intake) has nothing to route and is skipped. Both catalogs route
all cases in trips of `BATCH` to an evaluator process (`Evaluator.route_many`), on today's date,
so the only difference is the rules. Partners are not chosen: the question is which actor
kind and rule, not which agency today. Case ids go to the municipality's supervisor only;
everyone else gets counts. Nothing is written, nothing is sent to a case.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import HTTPException, status

from api.gateway import Gateway
from domain.case import CaseState
from domain.needs import RoutingResult
from rules.errors import RoutingEngineError, RulesUnavailable
from rules.evaluator import Evaluation, Evaluator
from rules.municipal import MunicipalEvaluators
from rules.schema import CASE_SCOPE, Catalog

MAX_CASES = 2000
PARALLEL = 8  # workflow queries at a time
BATCH = 200  # evaluations per trip to an evaluator process

Outcome = tuple[str, str, str] | None  # (rule, actor, measure); None: no rule routes it


@dataclass
class _Move:
    cases: set[str] = field(default_factory=set)


@dataclass
class _RuleChange:
    change: str
    moves: dict[tuple[Outcome, Outcome], _Move] = field(default_factory=dict)


def changed_rules(published: Catalog, draft: Catalog) -> dict[str, str]:
    """Rule id -> added | replaced | removed, for every rule the draft changes."""
    before = {rule.id: rule for rule in published.rules}
    after = {rule.id: rule for rule in draft.rules}
    changes: dict[str, str] = {}
    for rule_id in [*before, *(r for r in after if r not in before)]:
        old, new = before.get(rule_id), after.get(rule_id)
        if old == new:
            continue
        changes[rule_id] = "added" if old is None else "removed" if new is None else "replaced"
    return changes


def _outcomes(catalog: Catalog, result: RoutingResult) -> dict[tuple[Any, ...], Outcome]:
    case_level = {rule.id for rule in catalog.rules if rule.need == CASE_SCOPE}
    found: dict[tuple[Any, ...], Outcome] = {}
    for route in result.routes:
        key: tuple[Any, ...] = (
            ("case", route.rule)
            if route.rule in case_level
            else ("need", route.need_index, route.qualification)
        )
        found[key] = (route.rule, route.actor.value, route.measure)
    for item in result.unrouted:
        found.setdefault(("need", item.need_index, item.qualification), None)
    return found


def compare(
    published: Catalog,
    draft: Catalog,
    routed: list[tuple[str, RoutingResult, RoutingResult]],
) -> dict[str, _RuleChange]:
    """For each changed rule, the moves (from, to) with the cases making each."""
    changes = changed_rules(published, draft)
    report = {rule_id: _RuleChange(change) for rule_id, change in changes.items()}
    for case_id, before, after in routed:
        old, new = _outcomes(published, before), _outcomes(draft, after)
        for key in old.keys() | new.keys():
            was, will = old.get(key), new.get(key)
            if was == will:
                continue
            rule = next(
                (o[0] for o in (will, was) if o is not None and o[0] in changes),
                None,
            )
            if rule is None:  # moved by the order of unchanged rules (an added rule before)
                rule = (will or was or ("",))[0]
                report.setdefault(rule, _RuleChange("order"))
            move = report[rule].moves.setdefault((was, will), _Move())
            move.cases.add(case_id)
    return report


def _side(outcome: Outcome) -> dict[str, str] | None:
    if outcome is None:
        return None
    rule, actor, measure = outcome
    return {"rule": rule, "actor": actor, "measure": measure}


def shape(report: dict[str, _RuleChange], *, with_case_ids: bool) -> list[dict[str, Any]]:
    answer = []
    for rule_id, change in report.items():
        cases: set[str] = set().union(*(m.cases for m in change.moves.values()))
        moves = []
        for (was, will), move in sorted(
            change.moves.items(), key=lambda item: (-len(item[1].cases), str(item[0]))
        ):
            entry: dict[str, Any] = {
                "from": _side(was),
                "to": _side(will),
                "cases": len(move.cases),
            }
            if with_case_ids:
                entry["case_ids"] = sorted(move.cases)
            moves.append(entry)
        answer.append(
            {"rule": rule_id, "change": change.change, "cases": len(cases), "moves": moves}
        )
    return answer


async def _states(gateway: Gateway, case_ids: list[str]) -> list[CaseState]:
    gate = asyncio.Semaphore(PARALLEL)

    async def one(case_id: str) -> CaseState | None:
        async with gate:
            try:
                return await gateway.case_state(case_id)
            except HTTPException as error:
                if error.status_code == status.HTTP_404_NOT_FOUND:
                    return None  # gone meanwhile: not an open case any more
                raise  # Temporal unavailable (503): no answer beats counts that miss cases

    found = await asyncio.gather(*(one(case_id) for case_id in case_ids))
    return [state for state in found if state is not None]


def _route_all(evaluator: Evaluator, evaluations: list[Evaluation]) -> list[RoutingResult]:
    # In slices: one request to an evaluator process must stay well inside its timeout.
    results: list[RoutingResult] = []
    for start in range(0, len(evaluations), BATCH):
        results.extend(evaluator.route_many(evaluations[start : start + BATCH]))
    return results


async def what_if(
    gateway: Gateway,
    evaluators: MunicipalEvaluators,
    published: Catalog,
    draft: Catalog,
    case_ids: list[str],
    today: date,
) -> tuple[int, dict[str, _RuleChange]]:
    """How many cases were routed again, and the report of `compare`."""
    states = [s for s in await _states(gateway, case_ids) if s.profile is not None and s.needs]
    evaluations = [
        Evaluation(state.profile, state.needs, today, state.centre_kind)
        for state in states
        if state.profile is not None
    ]
    try:
        before = await asyncio.to_thread(_route_all, evaluators.evaluator(published), evaluations)
        after = await asyncio.to_thread(_route_all, evaluators.evaluator(draft), evaluations)
    except (RulesUnavailable, RoutingEngineError) as error:
        # An evaluator process died or hung: replaced already, the question may be asked again.
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="Die Regelauswertung ist gerade ausgefallen; bitte in einigen Sekunden "
            "erneut versuchen.",
            headers={"Retry-After": "1"},
        ) from error
    routed = [(state.id, old, new) for state, old, new in zip(states, before, after, strict=True)]
    return len(routed), compare(published, draft, routed)
