"""Which of a case's events someone is told about, and whom: the notices of a projected batch.

The case's events already say everything a notice needs (ids, kinds, dates; never personal
data), so the notices follow from them: the workflow's projection loop sends them once the
read model has the batch (workflows/agreement_projection.py), each idempotent by its event's
sequence (`domain.notifications.event_key`).

- to the partner agency: a new referral (with the deadline to acknowledge), the reminder at
  that deadline, a withdrawal (by the counsellor, the coordination, or the case closing);
- to the case's counsellor: a decline, a completion, a progress note, a review due in seven
  days, a review overdue;
- to the municipality's supervisors: an escalation (with the day the referral expires).

A case without a counsellor (transferred to a centre that has not named one yet) tells the
counsellor nothing: the coordination's task for that case is the notice.

Pure: the state is read for the referrals' partners and the case's counsellor now.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from domain.case import CaseEvent, CaseEventKind, CaseState, TaskKind
from domain.events import (
    EventData,
    ReferralDispatched,
    ReferralProgress,
    ReferralStatusChanged,
    ReferralWithdrawn,
    ReviewDueSoon,
    ReviewOverdue,
    TaskCreated,
    event_payload,
)
from domain.months import german_day
from domain.notifications import Addressee, Notice, NoticeKind, event_key
from domain.referral import ReferralStatus

# The case events that can cause a notice (all others are skipped unread).
TOLD = frozenset(
    {
        CaseEventKind.REFERRAL_DISPATCHED,
        CaseEventKind.REFERRAL_STATUS_CHANGED,
        CaseEventKind.REFERRAL_PROGRESS,
        CaseEventKind.REFERRAL_WITHDRAWN,
        CaseEventKind.REVIEW_DUE_SOON,
        CaseEventKind.REVIEW_OVERDUE,
        CaseEventKind.TASK_CREATED,
    }
)
_STATUS_NOTICES = {
    ReferralStatus.DECLINED: NoticeKind.REFERRAL_DECLINED,
    ReferralStatus.COMPLETED: NoticeKind.REFERRAL_COMPLETED,
}


def _day(instant: datetime | None) -> date | None:
    """The German calendar day of an instant (what a mail names as the deadline)."""
    return german_day(instant) if instant is not None else None


def notices_for(state: CaseState, events: Sequence[CaseEvent]) -> list[Notice]:
    """The notices `events` (of `state`'s case) cause, in the events' order."""
    notices: list[Notice] = []
    for event in events:
        if event.kind not in TOLD:
            continue
        notice = _notice(state, event, event_payload(event))
        if notice is not None:
            notices.append(notice)
    return notices


def _notice(state: CaseState, event: CaseEvent, payload: EventData) -> Notice | None:
    case_id = state.id

    def build(kind: NoticeKind, to: Addressee, **fields: object) -> Notice:
        key = event_key(case_id, event.sequence, kind)
        return Notice.model_validate(
            {"event_key": key, "kind": kind, "to": to, "case_id": case_id, **fields}
        )

    counsellor = Addressee.counsellor(state.counsellor_id) if state.counsellor_id else None
    match payload:
        case ReferralDispatched():
            return build(
                NoticeKind.REFERRAL_NEW,
                Addressee.partner(payload.partner_id),
                referral_id=payload.referral_id,
                deadline=_day(payload.acknowledge_by),
            )
        case ReferralWithdrawn():
            return build(
                NoticeKind.REFERRAL_WITHDRAWN,
                Addressee.partner(payload.partner_id),
                referral_id=payload.referral_id,
            )
        case ReferralStatusChanged() if payload.status in _STATUS_NOTICES and counsellor:
            return build(
                _STATUS_NOTICES[payload.status], counsellor, referral_id=payload.referral_id
            )
        case ReferralProgress() if counsellor:
            return build(NoticeKind.PROGRESS_NOTE, counsellor, referral_id=payload.referral_id)
        case ReviewDueSoon() if counsellor:
            return build(NoticeKind.REVIEW_DUE_SOON, counsellor, deadline=_day(payload.due_at))
        case ReviewOverdue() if payload.overdue and counsellor:
            return build(NoticeKind.REVIEW_OVERDUE, counsellor, deadline=_day(payload.due_at))
        case TaskCreated() if payload.referral_id:
            return _referral_task(state, payload, build)
    return None


class _Build(Protocol):
    """How `_notice` builds a notice of the event at hand (its key and its case filled in)."""

    def __call__(self, kind: NoticeKind, to: Addressee, **fields: object) -> Notice: ...


def _referral_task(state: CaseState, payload: TaskCreated, build: _Build) -> Notice | None:
    referral = next((r for r in state.referrals if r.id == payload.referral_id), None)
    if referral is None:
        return None
    if payload.task_kind is TaskKind.REFERRAL_REMINDER:
        deadline = referral.deadlines.acknowledge_by if referral.deadlines else None
        return build(
            NoticeKind.REFERRAL_REMINDER,
            Addressee.partner(referral.partner_id),
            referral_id=referral.id,
            deadline=_day(deadline),
        )
    if payload.task_kind is TaskKind.REFERRAL_ESCALATION:
        expires = referral.deadlines.expires_at if referral.deadlines else None
        return build(
            NoticeKind.ESCALATION,
            Addressee.supervisors(state.municipality_id),
            referral_id=referral.id,
            deadline=_day(expires),
        )
    return None
