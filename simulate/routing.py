"""Routing for the core engine: the municipalities' own rules, matched in this process and
remembered for the run.

The core engine routes every case through the same code as the `route_needs` activity
(`CaseActivities.routed`, then `rules.route_needs`: the rules, then the partners). Only the
matching differs, and only in where it runs:

- In this process (`rules.compiler.InProcessMatcher`), as the benchmark does, not in the
  supervised evaluator pool. A run is a batch job that owns its process; a fault of the C
  engine ends the run, not a service. Each trip to an evaluator process costs a pipe round
  trip, and a fresh evaluator process imports the entry script again (Python 3.11's
  forkserver never preloads `__main__`), which on a loaded machine took longer than the
  pool's 5 s timeout for its first answer.
- Remembered (`MemoMatcher`): the matches of a batch depend on nothing but the catalog
  version and the batch's flat events (the facts derived from the profile, the needs and the
  day), and thousands of clients share the same few. Partners are still chosen per case,
  after the match, from the read model's current counts.
"""

import json
from collections.abc import Sequence

from rules.catalog import load_catalog
from rules.compiler import InProcessMatcher
from rules.evaluator import Evaluator as RulesEvaluator
from rules.evaluator import Matcher
from rules.municipal import MunicipalEvaluators, RuleSetSource
from rules.pool import Event
from rules.schema import Catalog


class MemoMatcher:
    """A `rules.evaluator.Matcher` that asks `inner` once per distinct batch."""

    def __init__(self, inner: Matcher) -> None:
        self._inner = inner
        self._known: dict[tuple[str, str], list[int | None]] = {}
        self.asked = 0  # batches passed on to `inner` (for tests and the profile)

    def match(self, catalog: Catalog, batches: Sequence[Sequence[Event]]) -> list[list[int | None]]:
        keys = [(catalog.version, _key(batch)) for batch in batches]
        missing = [i for i, key in enumerate(keys) if key not in self._known]
        if missing:
            self.asked += len(missing)
            found = self._inner.match(catalog, [batches[i] for i in missing])
            for i, matches in zip(missing, found, strict=True):
                self._known[keys[i]] = matches
        return [list(self._known[key]) for key in keys]


def _key(batch: Sequence[Event]) -> str:
    # The events are flat JSON-able facts; sorted keys make equal batches equal strings.
    return json.dumps([dict(event) for event in batch], sort_keys=True, default=str)


class RunEvaluators:
    """A municipality's evaluator for one run (`CaseActivities(evaluators=...)`), one memo
    shared by all. With `rule_sets` (the run's store, as the core engine passes it), each
    municipality's published rules as the services read them (rules/municipal.py), so both
    engines route alike and an unknown municipality is refused; without, the packaged
    catalogs (`rules.load_catalog`), for the tests of the memo."""

    def __init__(
        self, matcher: Matcher | None = None, rule_sets: RuleSetSource | None = None
    ) -> None:
        self.matcher = MemoMatcher(matcher or InProcessMatcher())
        self._municipal = (
            MunicipalEvaluators(rule_sets, self.matcher) if rule_sets is not None else None
        )
        self._evaluators: dict[str | None, RulesEvaluator] = {}

    def __call__(self, municipality: str | None) -> RulesEvaluator:
        if self._municipal is not None:
            return self._municipal(municipality)
        evaluator = self._evaluators.get(municipality)
        if evaluator is None:
            evaluator = RulesEvaluator(load_catalog(municipality), self.matcher)
            self._evaluators[municipality] = evaluator
        return evaluator
