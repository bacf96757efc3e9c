"""The evaluation's monthly cells (store/evaluation_cells.py) after writes that change months
already counted: each writer marks the months its write changes, and the report's counts (the
cells, counted again where marked) stay what the facts say.

On the bench's generated cases (bench/evaluation.py), on SQLite and PostgreSQL: every month is
counted into its cells first; then, months later, through the real writers (the projector's
batches, the notes, the inbound decisions):
- a referral dispatched months ago is acknowledged, another completed with a result;
- a client whose last review lies months back is reviewed again (the earlier review is no
  longer her last), once at another centre of the municipality;
- a referral with a partner's notes is withdrawn (the notes go, and with them a partner's acts);
- a partner's referral from months ago is declined.
"""

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from api.evaluation import ReportRequest, scope_of
from bench.evaluation import Directory, load
from domain.case import CaseEvent, CaseEventKind, ClientName, Stage
from domain.enums import ActorKind
from domain.inbound import InboundReferralRequest, InboundStatus
from domain.months import start_of_german_day, start_of_german_month
from domain.projection import CaseEventBatch, CaseProjection, ReferralNote
from domain.referral import OutcomeResult, ReferralStatus
from store.evaluation_cells import CELL_TABLES, EvaluationCount, EvaluationStaleMonth
from store.evaluation_cells_build import mark_everything_stale, refresh
from store.inbound import new_referral, record_decline
from store.models import Centre, PartnerAgency
from store.projections import CaseSummary, ReferralNoteRecord, ReferralSummary, ReviewRecord
from store.projector import SqlCaseEventSink
from store.reads.evaluation import EvaluationCounts, ReportScope, fact_counts
from store.reads.evaluation_cells import evaluation_counts
from store.testing import migrated_store

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
# The writes: in a month after the generated cases' (the scopes count it as a whole month too).
LATER = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
LAST = date(2026, 12, 31)
FIRST = date(2025, 6, 1)
DIRECTORY = Directory.build()
FIRST_AT = start_of_german_day(FIRST)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    url = os.environ.get("LOTSE_TEST_POSTGRES_URL") if request.param == "postgresql" else None
    if request.param == "postgresql" and not url:
        pytest.skip("LOTSE_TEST_POSTGRES_URL unset: PostgreSQL tests skipped (.ci/run sets it)")
    with migrated_store(request.param, tmp_path_factory.mktemp("cells"), url) as found:
        load({request.param: found}, DIRECTORY, 500, seed=5, now=NOW)  # every month marked
        yield found


def _scope(
    first: date, last: date, municipalities: tuple[str, ...] | None, centre: str | None = None
) -> ReportScope:
    return scope_of(ReportRequest(municipalities, None, centre, first, last), NOW)


def _stale(engine: Engine) -> int:
    """Months marked to be counted again among the whole months the scopes count."""
    stale = EvaluationStaleMonth
    with Session(engine) as session:
        return session.exec(
            select(func.count())
            .select_from(stale)
            .where(
                col(stale.month) >= start_of_german_day(FIRST),
                col(stale.month) <= start_of_german_month(LATER),
            )
        ).one()


def _both(engine: Engine, scope: ReportScope) -> tuple[EvaluationCounts, EvaluationCounts]:
    with Session(engine) as session:
        return evaluation_counts(session, scope), fact_counts(session.connection(), scope)


def _case(engine: Engine, case_id: str) -> CaseProjection:
    with Session(engine) as session:
        summary = session.get(CaseSummary, case_id)
        assert summary is not None
        return CaseProjection(
            case_id=case_id,
            municipality_id=summary.municipality_id,
            centre_id=summary.centre_id,
            counsellor_id=summary.counsellor_id,
            stage=Stage.ACTIVE,
            opened_at=summary.opened_at,
            next_review_due=summary.next_review_due,
            review_overdue=False,
            open_task_count=0,
        )


def _events(engine: Engine, case_id: str, *events: tuple[CaseEventKind, dict[str, Any]]) -> None:
    """The events as the case's next batch, at LATER, through the projector."""
    with Session(engine) as session:
        summary = session.get(CaseSummary, case_id)
        assert summary is not None
        last = session.exec(
            select(func.max(ReviewRecord.seq)).where(ReviewRecord.case_id == case_id)
        ).one()
        sequence = max(summary.last_applied_seq, last or 0) + 1
    batch = CaseEventBatch(
        case=_case(engine, case_id),
        events=[
            CaseEvent(
                sequence=sequence + n,
                at=LATER + timedelta(minutes=n),
                kind=kind,
                stage=Stage.ACTIVE,
                data=data,
            )
            for n, (kind, data) in enumerate(events)
        ],
    )
    assert SqlCaseEventSink(engine).append(batch) == len(events)


def _referral(engine: Engine, *conditions: Any) -> ReferralSummary:
    """A referral dispatched in a whole month before the last, as `conditions` say."""
    with Session(engine) as session:
        found = session.exec(
            select(ReferralSummary)
            .where(
                col(ReferralSummary.dispatched_at) < start_of_german_month(LATER),
                col(ReferralSummary.dispatched_at) >= start_of_german_day(FIRST),
                *conditions,
            )
            .order_by(col(ReferralSummary.id))
            .limit(1)
        ).first()
    assert found is not None
    return found


def _last_review(engine: Engine) -> ReviewRecord:
    """A client's last review, in a whole month months back, answered."""
    with Session(engine) as session:
        found = session.exec(
            select(ReviewRecord)
            .where(
                col(ReviewRecord.next_recorded_at).is_(None),
                col(ReviewRecord.recorded_at) < start_of_german_month(LATER) - timedelta(days=40),
                col(ReviewRecord.recorded_at) >= start_of_german_day(FIRST),
                col(ReviewRecord.agreement_helped).is_not(None),
            )
            .order_by(col(ReviewRecord.case_id))
            .limit(1)
        ).first()
    assert found is not None
    return found


def _left_centre(engine: Engine) -> tuple[ReviewRecord, ReviewRecord]:
    """A client reviewed at a centre, then moved and reviewed at another: her last review at
    the first centre, and her last review."""
    with Session(engine) as session:
        reviews = session.exec(
            select(ReviewRecord)
            .where(col(ReviewRecord.recorded_at) >= start_of_german_day(FIRST))
            .order_by(col(ReviewRecord.case_id), col(ReviewRecord.seq))
        ).all()
    by_case: dict[str, list[ReviewRecord]] = {}
    for review in reviews:
        by_case.setdefault(review.case_id, []).append(review)
    for found in by_case.values():
        last = found[-1]
        earlier = [r for r in found if r.centre_id != last.centre_id]
        if (
            earlier
            and last.next_recorded_at is None
            and last.recorded_at < start_of_german_month(LATER)
        ):
            return earlier[-1], last
    raise AssertionError("no client moved between two reviews")


def _noted_alone(engine: Engine) -> ReferralSummary:
    """An open referral with a note that is its partner's only act for its centre in that
    month: withdrawn, the note goes, and with it the partner's act (the active partners)."""
    month = start_of_german_month
    with Session(engine) as session:
        referrals = {r.id: r for r in session.exec(select(ReferralSummary)).all()}
        notes = session.exec(select(ReferralNoteRecord)).all()
    acts: dict[tuple[str, str, datetime], set[str]] = {}  # (centre, partner, month): sources
    for referral in referrals.values():
        for at in (referral.acknowledged_at, referral.ended_at):
            if at is not None:
                key = (referral.centre_id, referral.partner_id, month(at))
                acts.setdefault(key, set()).add(f"act:{referral.id}")
    for note in notes:
        owner = referrals[note.referral_id]
        acts.setdefault((owner.centre_id, note.partner_id, month(note.at)), set()).add(owner.id)
    for note in sorted(notes, key=lambda n: (n.referral_id, n.number)):
        owner = referrals[note.referral_id]
        alone = acts[(owner.centre_id, note.partner_id, month(note.at))] == {owner.id}
        if alone and owner.status is ReferralStatus.ACKNOWLEDGED and note.at >= FIRST_AT:
            return owner
    raise AssertionError("no note alone in its month")


def _review_event(helped: bool | None) -> tuple[CaseEventKind, dict[str, Any]]:
    return (
        CaseEventKind.REVIEW_RECORDED,
        {
            "review_id": "later",
            "due_at": None,
            "next_review_due": (LATER + timedelta(days=90)).isoformat(),
            "agreement_helped": helped,
            "easier_to_keep_at_it": None,
            "new_needs": 0,
            "goals_achieved": 0,
        },
    )


def test_later_writes_mark_the_months_they_change(engine: Engine) -> None:
    largest = DIRECTORY.municipalities[0][0]
    scopes = [
        _scope(FIRST, LAST, None),
        _scope(date(2025, 12, 1), date(2026, 10, 31), (largest,)),
    ]
    # A partner's referral in the last month of the generated cases, still open.
    with Session(engine) as session:
        partner = session.exec(select(PartnerAgency).order_by(col(PartnerAgency.id))).first()
        assert partner is not None
        centre = session.exec(
            select(Centre).where(Centre.municipality_id == partner.municipality_id)
        ).first()
        assert centre is not None
    request = InboundReferralRequest(
        centre_id=centre.id,
        client=ClientName(given_name="Amal", family_name="Haddad"),
        reason="Beratung zur Anerkennung.",
        client_consents=True,
    )
    inbound = new_referral(engine, "inbound-cells", partner, centre.id, request, NOW)
    assert inbound.status is InboundStatus.OPEN

    def check() -> None:
        """The report's counts are the facts' (and the months the write marked, counted)."""
        for scope in scopes:
            cells, facts = _both(engine, scope)
            assert cells == facts
        assert _stale(engine) == 0

    check()  # every month counted into its cells
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(EvaluationCount)).one() > 0

    acknowledged = _referral(engine, col(ReferralSummary.status) == ReferralStatus.DISPATCHED)
    _events(
        engine,
        acknowledged.case_id,
        (
            CaseEventKind.REFERRAL_STATUS_CHANGED,
            {
                "referral_id": acknowledged.id,
                "partner_id": acknowledged.partner_id,
                "status": "acknowledged",
            },
        ),
    )
    assert _stale(engine) >= 1
    check()
    completed = _referral(
        engine,
        col(ReferralSummary.status) == ReferralStatus.ACKNOWLEDGED,
        col(ReferralSummary.actor_kind) == ActorKind.LANGUAGE_COURSE_PROVIDER,
    )
    _events(
        engine,
        completed.case_id,
        (
            CaseEventKind.REFERRAL_STATUS_CHANGED,
            {
                "referral_id": completed.id,
                "partner_id": completed.partner_id,
                "status": "completed",
            },
        ),
        (
            CaseEventKind.MEASURE_COMPLETED,
            {
                "measure_id": "m1",
                "referral_id": completed.id,
                "result": OutcomeResult.ACHIEVED.value,
            },
        ),
    )
    assert _stale(engine) >= 1
    check()
    before = _last_review(engine)
    _events(engine, before.case_id, _review_event(not before.agreement_helped))
    assert _stale(engine) >= 1
    check()
    # Back to the centre she left, and reviewed there: her review there before is no longer
    # her last there (the centre's figures), her last review no longer her last.
    left, moved = _left_centre(engine)
    transfer = {"centre_id": left.centre_id, "centre_kind": "MBE", "counsellor_id": None}
    _events(engine, moved.case_id, (CaseEventKind.TRANSFERRED, transfer), _review_event(None))
    assert _stale(engine) >= 1
    check()
    withdrawn = _noted_alone(engine)
    _events(
        engine,
        withdrawn.case_id,
        (
            CaseEventKind.REFERRAL_WITHDRAWN,
            {"referral_id": withdrawn.id, "partner_id": withdrawn.partner_id},
        ),
    )
    assert _stale(engine) >= 1
    check()
    sink = SqlCaseEventSink(engine)
    sink.append_referral_note(
        ReferralNote(
            referral_id=acknowledged.id,
            number=1,
            case_id=acknowledged.case_id,
            partner_id=acknowledged.partner_id,
            at=LATER,
            note="Termin vereinbart.",
        )
    )
    assert _stale(engine) >= 1
    check()
    assert record_decline(engine, inbound.id, "berater", "Nicht zuständig.", LATER) is not None

    assert _stale(engine) >= 1
    check()
    # And the centre she left and came back to.
    municipality = left.municipality_id
    first = date(left.recorded_at.year, left.recorded_at.month, 1)
    cells, facts = _both(engine, _scope(first, LAST, (municipality,), left.centre_id))
    assert cells == facts
    # Counted month by month as the writes came, the cells are what counting every month
    # afresh gives (also where no figure of these scopes shows it: a partner's acts).
    incremental = _cells(engine)
    with Session(engine) as session, session.begin():
        mark_everything_stale(session)
    far = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    assert refresh(engine, None, *far, NOW) > 0
    assert _cells(engine) == incremental


def _cells(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every cell row of the months the scopes count, sorted (the survey rows without their
    generated id)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with Session(engine) as session:
        for table in CELL_TABLES:
            columns = [c for c in table.__table__.c if c.name != "id"]  # type: ignore[attr-defined]
            month = table.__table__.c.month  # type: ignore[attr-defined]
            rows = (
                session.connection()
                .execute(
                    sqlalchemy.select(*columns).where(
                        month >= start_of_german_day(FIRST), month <= start_of_german_month(LATER)
                    )
                )
                .all()
            )
            found[table.__tablename__] = sorted(  # type: ignore[attr-defined]
                (tuple(row) for row in rows), key=repr
            )
    return found
