"""A property test of routing (issue 10, item 2): for profiles and needs drawn by hypothesis, the
durable-rules evaluator answers exactly what the plain-Python reference (rules/reference.py)
answers, and every need is either routed or listed as unrouted.

The drawing aims at the edges: clients around 27 (the JMD/MBE line) and children around 1 and
6 (the childcare rules), each a few days either side of the birthday, besides every other age;
every German level, employment, residence status and qualification kind; permits expiring
around 90 days (res-urgent) and far off or past; 1-7 needs of any kind (repeats allowed);
the federal catalog or Musterstadt's; both centre kinds; a leap day among the "today"s.

durable-rules runs in evaluator processes (rules/pool.py), never in pytest's process: a crash
of the engine fails the test with EvaluatorCrashed (and hypothesis shrinks to the batch that
crashes it) instead of ending pytest. Hypothesis draws in this process and sends each example's
evaluations to an evaluator process in one trip (`Evaluator.route_many`), so 20,000
evaluations take seconds. The examples are fixed (derandomize): CI runs the same ones.

The last tests keep this honest: a matcher with a deliberate boundary bug, and an evaluator
process that crashes, are both caught.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from domain.enums import (
    CentreKind,
    Employment,
    GermanLevel,
    NeedKind,
    QualificationKind,
    ResidenceStatus,
)
from domain.needs import Need, RoutingResult
from domain.profile import IntakeData
from rules import (
    Catalog,
    Evaluation,
    Evaluator,
    EvaluatorCrashed,
    EvaluatorPool,
    ReferenceEvaluator,
    load_catalog,
)
from rules.evaluator import Matcher
from rules.pool import Event
from rules.schema import CASE_SCOPE

MUNICIPALITIES: tuple[str | None, ...] = (None, "musterstadt")
CATALOGS = {m: load_catalog(m) for m in MUNICIPALITIES}
REFERENCE = {m: ReferenceEvaluator(c) for m, c in CATALOGS.items()}
DAYS = (date(2026, 3, 14), date(2028, 2, 29), date(2027, 1, 1))
# Evaluations per hypothesis example and examples per run: 20,000 evaluations in all.
BATCH = 50
EXAMPLES = 400


def years_before(day: date, years: int) -> date:
    """The birthday `years` years before `day` (28 Feb for a 29 Feb in a common year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def birthdays(day: date, years: Sequence[int], shifts: Sequence[int]) -> list[date]:
    """Birth dates of people turning each of `years` on `day`, moved by each of `shifts` days
    (never after `day`), without repeats."""
    dates = (min(day, years_before(day, y) + timedelta(days=s)) for y in years for s in shifts)
    return list(dict.fromkeys(dates))


# Hypothesis draws each field as one choice from a precomputed list (an edge value or any
# value), not as several small draws: drawing dominates the cost of this test, and the edges
# stay one choice away. Built once, since hypothesis checks a strategy on its first draw.
NEAR = range(-3, 4)  # days either side of a birthday
ANYWHERE = range(-364, 365, 7)


def edge_or_any(edges: list[Any], anything: list[Any]) -> st.SearchStrategy[Any]:
    """One choice: an edge value half of the time (edges first, so they shrink first)."""
    repeat = max(1, len(anything) // len(edges))
    return st.sampled_from(edges * repeat + anything)


CLIENT_BIRTHS = {
    day: edge_or_any(
        birthdays(day, [26, 27, 28], NEAR), birthdays(day, range(16, 76), [*NEAR, *ANYWHERE])
    )
    for day in DAYS
}
CHILDREN = {
    day: st.lists(
        edge_or_any(
            [(b, care) for b in birthdays(day, [0, 1, 5, 6], NEAR) for care in (False, True)],
            [
                (b, care)
                for b in birthdays(day, range(18), [*NEAR, *ANYWHERE])
                for care in (False, True)
            ],
        ),
        max_size=4,
    )
    for day in DAYS
}
EXPIRY_DAYS = edge_or_any([None, *range(85, 96)], list(range(-400, 801, 5)))
QUALIFICATIONS = st.lists(
    st.sampled_from(
        [
            {
                "title": title,
                "country": country,
                "kind": kind,
                "regulated": regulated,
                "documents_complete": complete,
            }
            for title in ("Elektroniker", "Pflege", "Informatik")
            for country in ("SY", "UA")
            for kind in QualificationKind
            for regulated in (False, True)
            for complete in (False, True)
        ]
    ),
    max_size=3,
)
# Residence status, German level, employment and three flags (literacy need, integration
# course completed, citizen's benefit) in one choice.
SITUATIONS = st.sampled_from(
    [
        (status, level, employment, flags)
        for status in ResidenceStatus
        for level in GermanLevel
        for employment in Employment
        for flags in range(8)
    ]
)
SETTINGS = st.sampled_from(
    [(day, m, kind) for day in DAYS for m in MUNICIPALITIES for kind in CentreKind]
)
NEEDS = st.lists(
    st.sampled_from([Need(kind=kind, priority=p) for kind in NeedKind for p in (1, 2, 3)]),
    min_size=1,
    max_size=7,
)


@st.composite
def profiles(draw: st.DrawFn, today: date) -> IntakeData:
    status, level, employment, flags = draw(SITUATIONS)
    expiry = draw(EXPIRY_DAYS)
    expires_on = None if expiry is None else today + timedelta(days=expiry)
    if status is ResidenceStatus.PERMIT and expires_on is not None and expires_on < today:
        expires_on = today  # an expired permit is refused at intake ("unclear" instead)
    data: dict[str, Any] = {
        "birth_date": draw(CLIENT_BIRTHS[today]),
        "german_level": level,
        "literacy_need": bool(flags & 1),
        "integration_course_completed": bool(flags & 2),
        "residence": {"status": status, "expires_on": expires_on},
        "receives_citizens_benefit": bool(flags & 4),
        "employment": employment,
        "qualifications": draw(QUALIFICATIONS),
        "children": [
            {"birth_date": birth, "has_childcare": care} for birth, care in draw(CHILDREN[today])
        ],
    }
    return IntakeData.model_validate(data, context={"today": today})


PROFILES = {day: profiles(day) for day in DAYS}


@dataclass(frozen=True)
class Question:
    municipality: str | None
    evaluation: Evaluation


@st.composite
def questions(draw: st.DrawFn) -> Question:
    today, municipality, centre_kind = draw(SETTINGS)
    evaluation = Evaluation(
        profile=draw(PROFILES[today]),
        needs=draw(NEEDS),
        today=today,
        centre_kind=centre_kind,
    )
    return Question(municipality, evaluation)


def every_need_answered(catalog: Catalog, evaluation: Evaluation, result: RoutingResult) -> None:
    """Each need has exactly one answer (a route or an unrouted entry); a credential need one
    per qualification, or one unrouted entry when the profile lists none."""
    case_level = {rule.id for rule in catalog.rules if rule.need == CASE_SCOPE}
    qualifications = len(evaluation.profile.qualifications)
    for index, need in enumerate(evaluation.needs):
        routed = [r for r in result.routes if r.need_index == index and r.rule not in case_level]
        unrouted = [u for u in result.unrouted if u.need_index == index]
        expected = qualifications if need.kind is NeedKind.CREDENTIAL else 1
        assert len(routed) + len(unrouted) == max(expected, 1), (index, need.kind, result)
        assert all(r.need is need.kind for r in routed)
        assert all(u.need is need.kind for u in unrouted)


@dataclass
class Tally:
    evaluations: int = 0
    fired: set[str] | None = None
    unrouted: int = 0


def check_batch(batch: Sequence[Question], matcher: Matcher, tally: Tally) -> None:
    """Route the batch with durable-rules (one trip per catalog) and with the reference."""
    for municipality, catalog in CATALOGS.items():
        evaluations = [q.evaluation for q in batch if q.municipality == municipality]
        if not evaluations:
            continue
        durable = Evaluator(catalog, matcher).route_many(evaluations)
        for evaluation, result in zip(evaluations, durable, strict=True):
            expected = REFERENCE[municipality].route(
                evaluation.profile,
                evaluation.needs,
                today=evaluation.today,
                centre_kind=evaluation.centre_kind,
            )
            assert result == expected
            every_need_answered(catalog, evaluation, result)
            tally.evaluations += 1
            tally.unrouted += len(result.unrouted)
            if tally.fired is not None:
                tally.fired.update(f"{catalog.name}:{r.rule}" for r in result.routes)


@pytest.fixture(scope="module")
def pool() -> Iterator[EvaluatorPool]:
    pool = EvaluatorPool(2, timeout=30)
    pool.start()
    yield pool
    pool.close()


def run_property(
    matcher: Matcher, examples: int, batch: int, tally: Tally, *, shrink: bool = True
) -> None:
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=phases,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(questions(), min_size=batch, max_size=batch))
    def durable_rules_routes_like_the_reference(questions: list[Question]) -> None:
        check_batch(questions, matcher, tally)

    durable_rules_routes_like_the_reference()


def test_durable_rules_routes_every_drawn_case_like_the_reference(pool: EvaluatorPool) -> None:
    tally = Tally(fired=set())
    run_property(pool, EXAMPLES, BATCH, tally)
    assert tally.evaluations >= 20_000
    # The drawing reaches every rule of both catalogs, and needs no rule matches.
    every_rule = {f"{c.name}:{rule.id}" for c in CATALOGS.values() for rule in c.rules}
    assert tally.fired == every_rule
    assert tally.unrouted > 0


@dataclass
class MisroutesTheBoundary:
    """A matcher with a deliberate off-by-one: clients aged exactly 27 lose every match."""

    pool: EvaluatorPool

    def match(self, catalog: Catalog, batches: Sequence[Sequence[Event]]) -> list[list[int | None]]:
        matched = self.pool.match(catalog, batches)
        return [
            [None if event.get("age") == 27 else m for event, m in zip(events, ms, strict=True)]
            for events, ms in zip(batches, matched, strict=True)
        ]


def test_the_property_catches_a_boundary_bug(pool: EvaluatorPool) -> None:
    with pytest.raises(AssertionError):
        run_property(MisroutesTheBoundary(pool), 40, 5, Tally(), shrink=False)


@dataclass
class CrashesTheEvaluator:
    """The pool, but any trip carrying a client aged exactly 27 crashes the evaluator process
    for real (SIGSEGV), as an engine bug triggered by some input would."""

    pool: EvaluatorPool

    def match(self, catalog: Catalog, batches: Sequence[Sequence[Event]]) -> list[list[int | None]]:
        if any(event.get("age") == 27 for events in batches for event in events):
            self.pool.arm_fault("segv")
        return self.pool.match(catalog, batches)


def test_an_engine_crash_fails_the_property_instead_of_pytest(pool: EvaluatorPool) -> None:
    with pytest.raises(EvaluatorCrashed, match="SIGSEGV"):
        run_property(CrashesTheEvaluator(pool), 40, 5, Tally(), shrink=False)
    # pytest's process is still here; the pool carries on with fresh processes.
    tally = Tally()
    run_property(pool, 2, BATCH, tally, shrink=False)
    assert tally.evaluations == 2 * BATCH
