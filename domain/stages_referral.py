"""Referrals seen from the case: dispatching a measure to a partner, what a referral child
reports (`ReferralReport`), and handing a declined or expired referral to the next partner.

Every step the case hears of is kept as a `ReferralStep` with the partner's words (the
referral's timeline on the counsellor's page and in `GET /cases/{id}`), and a decline gives
the counsellor a task to check it ("Ablehnung prüfen"), whether or not the measure finds
another partner.

A referral is dispatched in the state first (`started=False`); the workflow then starts the
child and marks it started. Re-routing is two steps as well: a decline or expiry marks the
referral `awaiting_reroute`, the workflow asks the directory (an activity) for the next
partner of the same kind that has not had it yet, and `reroute` records the answer. Reports
are idempotent: a status a referral already left is ignored, so a repeated signal is harmless.
"""

from datetime import datetime, timedelta

from domain.case import (
    CaseRoute,
    CaseState,
    Measure,
    Party,
    PendingFollowUp,
    ReferralRecord,
    ReferralStep,
    Stage,
    StepBy,
    TaskKind,
    TaskRole,
)
from domain.case_log import add_task, finish_tasks, has_open_task, new_id, record
from domain.clocks import Clocks
from domain.consent import COMMON_MINIMUM_TERMS
from domain.events import (
    MeasureCompleted,
    ReferralDispatched,
    ReferralProgress,
    ReferralStatusChanged,
)
from domain.labels import ACTOR_LABELS, NEED_LABELS
from domain.referral import (
    OPEN,
    ReferralDeadlines,
    ReferralInput,
    ReferralReport,
    ReferralStatus,
    ReportKind,
    referral_deadlines,
)

REFERRAL_TASKS = frozenset({TaskKind.REFERRAL_REMINDER, TaskKind.REFERRAL_ESCALATION})
DECLINE_TASKS = frozenset({TaskKind.REFERRAL_DECLINED})


def add_step(
    state: CaseState,
    referral_id: str,
    status: ReferralStatus,
    at: datetime,
    note: str = "",
    *,
    by: StepBy = StepBy.PARTNER,
) -> None:
    """Keep a step of `referral_id`, recorded by the event just recorded (the last sequence)."""
    state.referral_steps.append(
        ReferralStep(
            sequence=state.last_sequence,
            referral_id=referral_id,
            at=at,
            status=status,
            note=note,
            by=by,
        )
    )


def route_words(state: CaseState, referral: ReferralRecord) -> tuple[str, str]:
    """The German names of the partner kind and the need of a referral's route."""
    route = next((r for r in state.routes if r.id == referral.route_id), None)
    if route is None:
        return "Der Partner", "Maßnahme"
    return ACTOR_LABELS[route.actor], NEED_LABELS[route.need]


def dispatch_measure(
    state: CaseState,
    measure: Measure,
    route: CaseRoute,
    partner_id: str,
    at: datetime,
    clocks: Clocks,
    *,
    previous: ReferralRecord | None,
) -> ReferralRecord:
    """A new referral of `measure` to `partner_id`, with the next never-used number and its
    deadlines (the calendar of the case's Land; none for a Land without one: the referral
    then refuses to start, as it always did)."""
    try:
        deadlines: ReferralDeadlines | None = referral_deadlines(at, state.land, clocks)
    except ValueError:
        deadlines = None
    referral = ReferralRecord(
        id=f"{state.id}-ref-{state.next_referral_number}",
        route_id=route.id,
        measure_id=measure.id,
        partner_id=partner_id,
        tried_partner_ids=[*(previous.tried_partner_ids if previous else []), partner_id],
        dispatched_at=at,
        deadlines=deadlines,
        consent_terms=consent_terms_in_force(state),
    )
    state.next_referral_number += 1
    state.referrals.append(referral)
    measure.partner_id = partner_id
    record(
        state,
        ReferralDispatched(
            referral_id=referral.id,
            route_id=route.id,
            measure_id=measure.id,
            partner_id=partner_id,
            actor=route.actor,
            measure=route.measure,
            need=route.need,
            previous_referral_id=previous.id if previous else None,
            acknowledge_by=deadlines.acknowledge_by if deadlines else None,
            escalate_at=deadlines.escalate_at if deadlines else None,
            expires_at=deadlines.expires_at if deadlines else None,
            priority=route.priority,
        ),
        at,
    )
    add_step(state, referral.id, ReferralStatus.DISPATCHED, at, by=StepBy.CASE)
    schedule_follow_ups(state, route, referral.id, at)
    return referral


def consent_terms_in_force(state: CaseState) -> int:
    """The consent clause of the newest version both parties signed: what a referral
    dispatched now may send (during an amendment, the version still in force). The common
    minimum when no signed version is left in the state (compacted away behind five unsigned
    ones): less data, never more than was signed."""
    signed_by: dict[int, set[Party]] = {}
    for signature in state.signatures:
        signed_by.setdefault(signature.version, set()).add(signature.party)
    for document in reversed(state.documents):
        if signed_by.get(document.version) == set(Party):
            return document.consent_terms
    return COMMON_MINIMUM_TERMS


def schedule_follow_ups(
    state: CaseState, route: CaseRoute, referral_id: str | None, at: datetime
) -> None:
    """The rule's follow-ups of `route`, counted from `at` (the dispatch or the signature)."""
    for follow_up in route.follow_ups:
        state.follow_ups.append(
            PendingFollowUp(
                id=new_id(state, "f"),
                route_id=route.id,
                referral_id=referral_id,
                action=follow_up.action,
                due_at=at + timedelta(days=follow_up.after_days),
            )
        )


def mark_started(state: CaseState, referral_id: str) -> CaseState:
    new = state.fork()
    for referral in new.referrals:
        if referral.id == referral_id:
            referral.started = True
    return new


def referrals_to_start(state: CaseState) -> list[ReferralRecord]:
    """Dispatched in the state, their child not started yet (a referral withdrawn before its
    child started never starts)."""
    return [
        r
        for r in state.referrals
        if not r.started
        and r.status is not ReferralStatus.WITHDRAWN
        and state.stage is not Stage.CLOSED
    ]


def referrals_to_reroute(state: CaseState) -> list[ReferralRecord]:
    return [r for r in state.referrals if r.awaiting_reroute and state.stage is not Stage.CLOSED]


def referral_input(state: CaseState, referral: ReferralRecord, clocks: Clocks) -> ReferralInput:
    route = next(route for route in state.routes if route.id == referral.route_id)
    return ReferralInput(
        referral_id=referral.id,
        case_id=state.id,
        route_id=route.id,
        route=route.as_route(),
        partner_id=referral.partner_id,
        land=state.land,
        dispatched_at=referral.dispatched_at,
        clocks=clocks,
        deadlines=referral.deadlines,
    )


def on_referral_report(state: CaseState, report: ReferralReport, now: datetime) -> CaseState:
    """What a referral child reported. Unknown referrals and stale reports change nothing."""
    referral = next((r for r in state.referrals if r.id == report.referral_id), None)
    if referral is None or state.stage is Stage.CLOSED:
        return state
    new = state.fork()
    referral = next(r for r in new.referrals if r.id == report.referral_id)
    kind = report.kind
    if kind is ReportKind.ACKNOWLEDGED and referral.status is ReferralStatus.DISPATCHED:
        _set_status(new, referral, ReferralStatus.ACKNOWLEDGED, now)
        add_step(new, referral.id, ReferralStatus.ACKNOWLEDGED, report.at)
        finish_tasks(new, now, kinds=REFERRAL_TASKS, referral_id=referral.id)
    elif kind is ReportKind.PROGRESS and referral.status in OPEN:
        record(new, ReferralProgress(referral_id=referral.id, partner_id=referral.partner_id), now)
        add_step(new, referral.id, referral.status, report.at, report.note or "")
    elif kind is ReportKind.REMINDER and referral.status is ReferralStatus.DISPATCHED:
        if not has_open_task(new, TaskKind.REFERRAL_REMINDER, referral.id):
            add_task(
                new,
                TaskKind.REFERRAL_REMINDER,
                f"Vermittlung {referral.id} ist noch nicht angenommen: beim Partner nachfragen.",
                now,
                referral_id=referral.id,
            )
    elif kind is ReportKind.ESCALATED and referral.status is ReferralStatus.DISPATCHED:
        if not has_open_task(new, TaskKind.REFERRAL_ESCALATION, referral.id):
            add_task(
                new,
                TaskKind.REFERRAL_ESCALATION,
                f"Vermittlung {referral.id} ist seit 10 Arbeitstagen unbeantwortet.",
                now,
                role=TaskRole.SUPERVISOR,
                referral_id=referral.id,
            )
    elif kind in (ReportKind.DECLINED, ReportKind.EXPIRED) and referral.status in OPEN:
        status = ReferralStatus(kind.value)
        _end(new, referral, status, now)
        add_step(new, referral.id, status, report.at, report.note or "")
        referral.awaiting_reroute = True
        if status is ReferralStatus.DECLINED:
            partner, need = route_words(new, referral)
            add_task(
                new,
                TaskKind.REFERRAL_DECLINED,
                f"Ablehnung prüfen: {partner} hat die Vermittlung „{need}“ abgelehnt "
                "(Grund im Verlauf der Vermittlung).",
                now,
                referral_id=referral.id,
            )
    elif kind is ReportKind.COMPLETED and referral.status in OPEN:
        _end(new, referral, ReferralStatus.COMPLETED, now)
        note = report.outcome.note if report.outcome else ""
        add_step(new, referral.id, ReferralStatus.COMPLETED, report.at, note)
        for measure in new.measures:
            if measure.id == referral.measure_id and not measure.done:
                measure.done, measure.outcome, measure.done_at = True, report.outcome, now
                record(
                    new,
                    MeasureCompleted(
                        measure_id=measure.id,
                        referral_id=referral.id,
                        result=report.outcome.result if report.outcome else None,
                    ),
                    now,
                )
    else:
        return state
    return new


def _set_status(
    state: CaseState, referral: ReferralRecord, status: ReferralStatus, at: datetime
) -> None:
    referral.status = status
    record(
        state,
        ReferralStatusChanged(
            referral_id=referral.id, partner_id=referral.partner_id, status=status
        ),
        at,
    )


def _end(state: CaseState, referral: ReferralRecord, status: ReferralStatus, at: datetime) -> None:
    """A referral left the partner: its reminders and its pending follow-ups go with it."""
    _set_status(state, referral, status, at)
    finish_tasks(state, at, kinds=REFERRAL_TASKS, referral_id=referral.id)
    state.follow_ups = [f for f in state.follow_ups if f.referral_id != referral.id]


def reroute(
    state: CaseState,
    referral_id: str,
    partner_id: str | None,
    unassigned_reason: str | None,
    now: datetime,
    clocks: Clocks,
) -> CaseState:
    """Hand a declined or expired referral to `partner_id` (a new referral, a new number), or,
    when the directory has no partner of that kind left, give the counsellor a task."""
    old = next((r for r in state.referrals if r.id == referral_id), None)
    if old is None or not old.awaiting_reroute or state.stage is Stage.CLOSED:
        return state
    new = state.fork()
    previous = next(r for r in new.referrals if r.id == referral_id)
    previous.awaiting_reroute = False
    measure = next((m for m in new.measures if m.id == previous.measure_id), None)
    route = next((r for r in new.routes if r.id == previous.route_id), None)
    if partner_id is None or partner_id in previous.tried_partner_ids or not measure or not route:
        # One task for the counsellor: the check of a decline becomes the search for a way on.
        finish_tasks(new, now, kinds=DECLINE_TASKS, referral_id=previous.id)
        partner, need = route_words(new, previous)
        how = "abgelehnt" if previous.status is ReferralStatus.DECLINED else "nicht angenommen"
        add_task(
            new,
            TaskKind.REFERRAL_UNASSIGNED,
            f"Kein weiterer Partner für „{need}“: {partner} hat die Vermittlung {how}. "
            f"{unassigned_reason or 'Bitte die Maßnahme manuell klären.'}"[:300],
            now,
            referral_id=previous.id,
        )
        return new
    dispatch_measure(new, measure, route, partner_id, now, clocks, previous=previous)
    return new
