"""The core engine's routing (simulate/routing.py): matched in this process and remembered for
the run, with the same answers as the evaluator pool gives, asking the engine once per batch."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from domain.enums import CentreKind, NeedKind
from domain.needs import Need
from domain.profile import IntakeData
from rules import load_catalog
from rules.compiler import InProcessMatcher
from rules.evaluator import Evaluator
from rules.pool import Event
from rules.schema import Catalog
from simulate.routing import RunEvaluators

TODAY = date(2025, 3, 14)


def profile(**fields: Any) -> IntakeData:
    data: dict[str, Any] = {
        "birth_date": date(1985, 1, 2),
        "german_level": "B2",
        "residence": {"status": "settlement"},
        "employment": "unemployed",
    }
    data.update(fields)
    return IntakeData.model_validate(data, context={"today": TODAY})


class Counting(InProcessMatcher):
    def __init__(self) -> None:
        self.batches: list[Sequence[Event]] = []

    def match(self, catalog: Catalog, batches: Sequence[Sequence[Event]]) -> list[list[int | None]]:
        self.batches.extend(batches)
        return super().match(catalog, batches)


NEEDS = [Need(kind=NeedKind.LANGUAGE), Need(kind=NeedKind.EMPLOYMENT)]


def test_a_repeated_question_is_matched_once_with_the_same_answer() -> None:
    inner = Counting()
    evaluators = RunEvaluators(inner)
    first = evaluators(None).route(profile(), NEEDS, today=TODAY, centre_kind=CentreKind.MBE)
    again = evaluators(None).route(profile(), NEEDS, today=TODAY, centre_kind=CentreKind.MBE)
    assert again == first and len(inner.batches) == 1 and evaluators.matcher.asked == 1
    plain = Evaluator(load_catalog(None), InProcessMatcher())
    assert first == plain.route(profile(), NEEDS, today=TODAY, centre_kind=CentreKind.MBE)


def test_other_facts_are_matched_anew() -> None:
    inner = Counting()
    evaluators = RunEvaluators(inner)
    young = evaluators(None).route(
        profile(birth_date=TODAY.replace(year=TODAY.year - 20)),
        NEEDS,
        today=TODAY,
        centre_kind=CentreKind.MBE,
    )
    older = evaluators(None).route(profile(), NEEDS, today=TODAY, centre_kind=CentreKind.MBE)
    assert len(inner.batches) == 2
    assert inner.batches[0] != inner.batches[1] and young.routes and older.routes
