"""The evaluation's counts (store/reads/evaluation.py) against their definition, computed here
row by row in Python, on the bench's generated cases (bench/evaluation.py: centres of very
different sizes, late and missing reviews, cases that moved to another centre, every referral
outcome, notes, referrals from partners), on SQLite and PostgreSQL, for the scopes a report
asks: all municipalities, one, several, one centre, a period that starts and ends mid-month.

Both ways the counts are made are checked: over the facts alone (`fact_counts`), and as the
report makes them (store/reads/evaluation_cells.py: the monthly cells of the whole months,
counted from the facts first, and the days around them from the facts). The queries are
shaped for their indexes (one range per month, the survey's `next_recorded_at`, notes read by
the municipality's partners); this test keeps them counting what the report promises."""

import bisect
import itertools
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from api.evaluation import ReportRequest, scope_of
from bench.evaluation import Directory, load
from domain.case import COUNTED_CLOSURES, ClosureReason
from domain.enums import ActorKind, NeedKind
from store.facts import AgreementVersionFact, ClosureFact, NeedFact, RuleHitFact
from store.models import InboundReferral
from store.projections import CaseSummary, ReferralNoteRecord, ReferralSummary, ReviewRecord
from store.reads.evaluation import (
    ON_TIME_DAYS,
    ActorReferrals,
    EvaluationCounts,
    InboundCounts,
    ReportScope,
    ReviewCounts,
    SurveyCounts,
    fact_counts,
)
from store.reads.evaluation_cells import evaluation_counts
from store.testing import migrated_store

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
DIRECTORY = Directory.build()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, dict[str, list[Any]]]]:
    """A store with 3,000 generated cases, and all its evaluation rows."""
    url = os.environ.get("LOTSE_TEST_POSTGRES_URL") if request.param == "postgresql" else None
    if request.param == "postgresql" and not url:
        pytest.skip("LOTSE_TEST_POSTGRES_URL unset: PostgreSQL tests skipped (.ci/run sets it)")
    with migrated_store(request.param, tmp_path_factory.mktemp("evaluation"), url) as engine:
        load({request.param: engine}, DIRECTORY, 3000, seed=11, now=NOW)  # every month marked
        tables: list[type[SQLModel]] = [
            AgreementVersionFact,
            ClosureFact,
            NeedFact,
            RuleHitFact,
            ReviewRecord,
            CaseSummary,
            ReferralSummary,
            ReferralNoteRecord,
            InboundReferral,
        ]
        with Session(engine) as session:
            rows = {table.__name__: list(session.exec(select(table)).all()) for table in tables}
        yield engine, rows


def _scope(
    first: date, last: date, municipalities: tuple[str, ...] | None, centre: str | None = None
) -> ReportScope:
    return scope_of(ReportRequest(municipalities, None, centre, first, last), NOW)


def _moved_centre(rows: dict[str, list[Any]]) -> str:
    """A centre a case left: its reviews were recorded at two centres."""
    centres: dict[str, set[str]] = {}
    for review in rows["ReviewRecord"]:
        centres.setdefault(review.case_id, set()).add(review.centre_id)
    return min(min(found) for found in centres.values() if len(found) > 1)


def _scopes(rows: dict[str, list[Any]]) -> dict[str, ReportScope]:
    largest = DIRECTORY.municipalities[0][0]
    moved = _moved_centre(rows)
    home = next(p.municipality_id for p in DIRECTORY.centres if p.centre_id == moved)
    others = tuple(m for m, _share in DIRECTORY.municipalities[3:6])
    return {
        "all, 18 months": _scope(date(2025, 6, 1), date(2026, 11, 30), None),
        "largest, a year": _scope(date(2025, 12, 1), date(2026, 11, 30), (largest,)),
        "three, mid-month to mid-month": _scope(date(2026, 1, 17), date(2026, 9, 12), others),
        "all, mid-month": _scope(date(2025, 9, 10), date(2026, 3, 20), None),
        "a centre a case left": _scope(date(2025, 6, 1), date(2026, 11, 30), (home,), moved),
    }


def _by_definition(rows: dict[str, list[Any]], scope: ReportScope) -> EvaluationCounts:
    """Every count as the report defines it, one row at a time."""

    def place(row: Any) -> bool:
        return (scope.municipalities is None or row.municipality_id in scope.municipalities) and (
            scope.centre_id is None or row.centre_id == scope.centre_id
        )

    def within(at: datetime | None) -> bool:
        return at is not None and scope.start <= at < scope.end

    def month(at: datetime) -> int:
        return bisect.bisect_right(scope.month_starts, at) - 1

    counts = EvaluationCounts(concluded_per_month=[0] * len(scope.month_starts))
    for fact in rows["AgreementVersionFact"]:
        if fact.version == 1 and place(fact) and within(fact.activated_at):
            counts.concluded += 1
            counts.concluded_per_month[month(fact.activated_at)] += 1
            centre = fact.centre_id
            counts.concluded_per_centre[centre] = counts.concluded_per_centre.get(centre, 0) + 1
    last: dict[str, Any] = {}  # each client's last review in the period (and in scope)
    for review in rows["ReviewRecord"]:
        earlier = last.get(review.case_id)
        if (
            place(review)
            and within(review.recorded_at)
            and (earlier is None or review.seq > earlier.seq)
        ):
            last[review.case_id] = review
    goals = dict.fromkeys(("open", "in_progress", "achieved", "dropped"), 0)
    for review in last.values():
        for survey in (
            counts.survey,
            counts.survey_per_centre.setdefault(review.centre_id, SurveyCounts()),
        ):
            helped, easier = review.agreement_helped, review.easier_to_keep_at_it
            survey.helped[helped] = survey.helped.get(helped, 0) + 1
            survey.easier[easier] = survey.easier.get(easier, 0) + 1
            survey.answered += helped is not None or easier is not None
        for status in goals:
            goals[status] += getattr(review, f"goals_{status}")
    counts.goals = goals
    counts.reviews_per_month = [ReviewCounts() for _ in scope.month_starts]
    for review in rows["ReviewRecord"]:
        # Recorded: counted by its date, also when recorded before the date.
        if place(review) and within(review.due_at):
            line = counts.reviews_per_month[month(review.due_at)]
            line.due += 1
            on_time = review.days_late is not None and review.days_late <= ON_TIME_DAYS
            line.on_time += on_time
            line.late += not on_time
    for summary in rows["CaseSummary"]:
        due = summary.next_review_due
        # Missing: overdue by the case's own clock, or due by now.
        if place(summary) and within(due) and (summary.review_overdue or due <= NOW):
            line = counts.reviews_per_month[month(due)]
            line.due += 1
            line.overdue_now += summary.review_overdue
    for line in counts.reviews_per_month:
        for key in ("due", "on_time", "late", "overdue_now"):
            setattr(counts.reviews, key, getattr(counts.reviews, key) + getattr(line, key))
    # Every reason but `duplicate`, which is in no figure (it has no closure fact either).
    counts.closures = {reason: 0 for reason in COUNTED_CLOSURES}
    for closure in rows["ClosureFact"]:
        if place(closure) and within(closure.closed_at):
            reason = ClosureReason(closure.reason)
            counts.closures[reason] = counts.closures.get(reason, 0) + 1
    referrals = {referral.id: referral for referral in rows["ReferralSummary"]}
    partners: set[str] = set()
    for referral in referrals.values():
        if not place(referral):
            continue
        if within(referral.acknowledged_at) or (
            within(referral.ended_at) and referral.status in ("declined", "completed")
        ):
            partners.add(referral.partner_id)
        if not within(referral.dispatched_at):
            continue
        found = counts.referrals.setdefault(ActorKind(referral.actor_kind), ActorReferrals())
        found.dispatched += 1
        found.acknowledged += referral.acknowledged_at is not None
        for status in ("declined", "expired", "withdrawn", "completed"):
            setattr(found, status, getattr(found, status) + (referral.status == status))
        found.achieved += referral.result == "achieved"
        if referral.acknowledge_hours is not None:
            hours = referral.acknowledge_hours
            found.acknowledge_hours[hours] = found.acknowledge_hours.get(hours, 0) + 1
    for note in rows["ReferralNoteRecord"]:
        noted = referrals.get(note.referral_id)
        if noted is not None and place(noted) and within(note.at):
            partners.add(note.partner_id)
    for inbound in rows["InboundReferral"]:
        if place(inbound) and within(inbound.created_at):
            decided = counts.inbound.setdefault(ActorKind(inbound.partner_kind), InboundCounts())
            setattr(decided, inbound.status, getattr(decided, inbound.status) + 1)
            partners.add(inbound.partner_id)
    counts.partners_active = len(partners)
    for need in rows["NeedFact"]:
        if place(need) and within(need.at):
            kind = NeedKind(need.need_kind)
            counts.needs[kind] = counts.needs.get(kind, 0) + 1
    for hit in rows["RuleHitFact"]:
        if place(hit) and within(hit.at):
            counts.rules[hit.rule] = counts.rules.get(hit.rule, 0) + 1
    return counts


def test_the_generated_cases_have_what_the_scopes_need(
    filled: tuple[Engine, dict[str, list[Any]]],
) -> None:
    _engine, rows = filled
    assert len(rows["CaseSummary"]) == 3000 and len(rows["ReviewRecord"]) == 9000
    assert {r.status for r in rows["ReferralSummary"]} == {
        "dispatched",
        "acknowledged",
        "completed",
        "declined",
        "expired",
        "withdrawn",
    }
    assert any(r.next_recorded_at is not None for r in rows["ReviewRecord"])
    # A client reviewed at a centre, then at another after she moved, both in the period:
    # the centre she left counts her at her last review there (the report's "one centre").
    left = _moved_centre(rows)
    reviews = sorted(rows["ReviewRecord"], key=lambda review: (review.case_id, review.seq))
    assert any(
        earlier.case_id == later.case_id
        and earlier.centre_id == left != later.centre_id
        and later.recorded_at < datetime(2026, 12, 1, tzinfo=UTC)
        for earlier, later in itertools.pairwise(reviews)
    )


@pytest.mark.parametrize(
    "label",
    [
        "all, 18 months",
        "largest, a year",
        "three, mid-month to mid-month",
        "all, mid-month",
        "a centre a case left",
    ],
)
@pytest.mark.parametrize("path", ["facts", "cells"])
def test_the_counts_are_the_definitions(
    filled: tuple[Engine, dict[str, list[Any]]], label: str, path: str
) -> None:
    """Counted over the facts, and as the report counts: the whole months from the monthly
    cells, the days around them from the facts."""
    engine, rows = filled
    scope = _scopes(rows)[label]
    with Session(engine) as session:
        if path == "facts":
            counted = fact_counts(session.connection(), scope)
        else:
            counted = evaluation_counts(session, scope)
    expected = _by_definition(rows, scope)
    for key in EvaluationCounts.__dataclass_fields__:
        assert getattr(counted, key) == getattr(expected, key), key
    assert counted.concluded and counted.survey.answered and counted.partners_active
