"""The evaluation's facts, written from a case's events: one function the projector calls for
every new event and the backfill calls for every archived one (store/backfill.py), so both
write the same rows.

`CasePlace` follows the case through its events (opened at a centre, transferred to
another), because a fact counts for the centre that held the case when it happened, not the
one that holds it now. Every write is keyed by its business key (an upsert, or an update of a
row the event names), so replaying a case's events changes nothing.

What each event adds (tables: store/facts.py, and the evaluation's columns of `reviews` and
`referrals` in store/projections.py):
- agreement_activated: the version in force (1: concluded, later: an amendment);
- closed: the closure with its reason (none for a duplicate: it is in no figure);
- assessment_completed, review_recorded with new needs: the needs (`needs` of the batch's
  projection, or of the workflow's state for a backfill) and their rule hits;
- review_recorded: the review's centre and the goals' statuses after it; on the case's review
  before, when this one was recorded (the survey's "last review in a period");
- referral_dispatched: the sending centre; referral_status_changed and referral_withdrawn:
  the acknowledgement's hours, the end; measure_completed: the result.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, func, select

from domain.case import CaseEvent, CaseEventKind, ClosureReason, GoalStatus
from domain.events import (
    AgreementActivated,
    AssessmentCompleted,
    CaseOpened,
    Closed,
    EventData,
    MeasureCompleted,
    ReferralDispatched,
    ReferralStatusChanged,
    ReferralWithdrawn,
    ReviewRecorded,
    Transferred,
)
from domain.projection import AssessedNeed
from domain.referral import ReferralStatus
from store.evaluation_cells import mark_stale
from store.facts import AgreementVersionFact, ClosureFact, NeedFact, RuleHitFact
from store.projections import CaseEventRecord, ReferralSummary, ReviewRecord
from store.upsert import upsert

FINAL_STATUSES = frozenset(
    {
        ReferralStatus.DECLINED,
        ReferralStatus.EXPIRED,
        ReferralStatus.WITHDRAWN,
        ReferralStatus.COMPLETED,
    }
)


@dataclass
class CasePlace:
    """Where a case is, as its events so far say."""

    municipality_id: str
    centre_id: str


def write_facts(
    session: Session,
    case_id: str,
    place: CasePlace,
    event: CaseEvent,
    payload: EventData,
    needs: Sequence[AssessedNeed] | None,
) -> None:
    """Add what `event` tells the evaluation; `place` is updated to after the event. `needs`
    None: the needs are not known (a backfill without the workflow), leave them as they are.
    The months whose evaluation this changes are marked stale (store/evaluation_cells.py)."""
    match payload:
        case CaseOpened():
            place.municipality_id = payload.municipality_id
            place.centre_id = payload.centre_id
        case Transferred():
            place.centre_id = payload.centre_id
        case AgreementActivated():
            upsert(
                session,
                AgreementVersionFact,
                [
                    AgreementVersionFact(
                        case_id=case_id,
                        version=payload.version,
                        municipality_id=place.municipality_id,
                        centre_id=place.centre_id,
                        activated_at=event.at,
                    )
                ],
            )
        case Closed() if payload.reason is not ClosureReason.DUPLICATE:
            # A case opened twice by mistake is in no figure (it never left intake: it has no
            # need, agreement, review or referral either).
            upsert(
                session,
                ClosureFact,
                [
                    ClosureFact(
                        case_id=case_id,
                        municipality_id=place.municipality_id,
                        centre_id=place.centre_id,
                        closed_at=event.at,
                        reason=payload.reason,
                    )
                ],
            )
        case AssessmentCompleted():
            if needs is not None:
                _needs(session, case_id, place, event, payload.needs, needs)
        case ReviewRecorded():
            _review(session, case_id, place, event)
            if payload.new_needs and needs is not None:
                _needs(session, case_id, place, event, payload.new_needs, needs)
        case ReferralDispatched():
            referral = session.get(ReferralSummary, payload.referral_id)
            if referral is not None:
                referral.centre_id = place.centre_id
                session.add(referral)
        case ReferralStatusChanged():
            _referral_step(session, place, payload.referral_id, payload.status, event)
        case ReferralWithdrawn():
            _referral_step(session, place, payload.referral_id, ReferralStatus.WITHDRAWN, event)
        case MeasureCompleted():
            referral = session.get(ReferralSummary, payload.referral_id)
            if referral is not None:
                referral.result = payload.result
                session.add(referral)
                # Referrals count in the month they were dispatched.
                mark_stale(session, place.municipality_id, [referral.dispatched_at])

    mark_stale(session, place.municipality_id, [event.at])


def _needs(
    session: Session,
    case_id: str,
    place: CasePlace,
    event: CaseEvent,
    count: int,
    needs: Sequence[AssessedNeed],
) -> None:
    """The `count` needs this event added: the next indices after those the read model has
    (needs are only ever appended to a case)."""
    session.flush()
    known = session.exec(
        select(func.count()).select_from(NeedFact).where(col(NeedFact.case_id) == case_id)
    ).one()
    by_index = {need.index: need for need in needs}
    added = [by_index[i] for i in range(known, known + count) if i in by_index]
    # (A need missing from `needs` is not expected: the state holds every need of its events.)
    upsert(
        session,
        NeedFact,
        [
            NeedFact(
                case_id=case_id,
                need_index=need.index,
                municipality_id=place.municipality_id,
                centre_id=place.centre_id,
                at=event.at,
                need_kind=need.kind,
            )
            for need in added
        ],
    )
    upsert(
        session,
        RuleHitFact,
        [
            RuleHitFact(
                case_id=case_id,
                route_id=hit.route_id,
                municipality_id=place.municipality_id,
                centre_id=place.centre_id,
                at=event.at,
                rule=hit.rule[:120],
                need_kind=need.kind,
                actor_kind=hit.actor,
            )
            for need in added
            for hit in need.hits
        ],
    )


def _review(session: Session, case_id: str, place: CasePlace, event: CaseEvent) -> None:
    """The review's place, and the statuses of the goals after it: each goal as the latest
    review that mentioned it left it; on the review before, that this one followed it."""
    session.flush()
    reviews = session.exec(
        select(ReviewRecord)
        .where(col(ReviewRecord.case_id) == case_id, col(ReviewRecord.seq) <= event.sequence)
        .order_by(col(ReviewRecord.seq))
    ).all()
    if not reviews or reviews[-1].seq != event.sequence:
        return
    statuses: dict[str, str] = {}
    for review in reviews:
        for progress in review.goal_progress:
            statuses[progress.get("goal_id", "")] = progress.get("status", "")
    counted = list(statuses.values())
    # A goal no review mentioned yet is open: the agreement's goals are the last draft's.
    drafted = session.exec(
        select(CaseEventRecord.data)
        .where(
            col(CaseEventRecord.case_id) == case_id,
            col(CaseEventRecord.kind) == CaseEventKind.AGREEMENT_DRAFTED.value,
            col(CaseEventRecord.seq) < event.sequence,
        )
        .order_by(col(CaseEventRecord.seq).desc())
        .limit(1)
    ).first()
    goals = drafted.get("goals") if drafted is not None else None
    total = goals if isinstance(goals, int) else len(counted)
    row = reviews[-1]
    row.municipality_id = place.municipality_id
    row.centre_id = place.centre_id
    row.goals_in_progress = counted.count(GoalStatus.IN_PROGRESS.value)
    row.goals_achieved = counted.count(GoalStatus.ACHIEVED.value)
    row.goals_dropped = counted.count(GoalStatus.DROPPED.value)
    row.goals_open = max(
        counted.count(GoalStatus.OPEN.value),
        total - row.goals_in_progress - row.goals_achieved - row.goals_dropped,
    )
    if row.due_at is not None:
        row.days_late = math.ceil((row.recorded_at - row.due_at) / timedelta(days=1))
    session.add(row)
    stale = [row.recorded_at, row.due_at]
    if len(reviews) >= 2:
        before = reviews[-2]
        before.next_recorded_at = row.recorded_at
        session.add(before)
        stale.append(before.recorded_at)
    here = [review for review in reviews[:-1] if review.centre_id == place.centre_id]
    if here:  # its next review at the same centre is this one now
        here[-1].next_here_recorded_at = row.recorded_at
        session.add(here[-1])
        stale.append(here[-1].recorded_at)
    mark_stale(session, place.municipality_id, stale)


def _referral_step(
    session: Session, place: CasePlace, referral_id: str, status: ReferralStatus, event: CaseEvent
) -> None:
    referral = session.get(ReferralSummary, referral_id)
    if referral is None:
        return
    mark_stale(session, place.municipality_id, [referral.dispatched_at])
    if status is ReferralStatus.ACKNOWLEDGED and referral.acknowledge_hours is None:
        seconds = (event.at - referral.dispatched_at).total_seconds()
        referral.acknowledge_hours = max(0, int(seconds // 3600))
    if status in FINAL_STATUSES and referral.ended_at is None:
        referral.ended_at = event.at
    session.add(referral)
