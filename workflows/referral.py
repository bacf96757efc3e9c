"""ReferralWorkflow: one routed need at one partner agency, a child of its case.

`dispatched → acknowledged → completed`, or `declined` / `expired`. The partner moves it on with
updates: `acknowledge` (when dispatched), `decline` (dispatched or acknowledged: a partner may
find out late that it cannot help), `report_progress` and `complete` (acknowledged). While it is
unanswered, working-day clocks remind the partner (5), escalate to the supervisor (10) and
finally let it expire (15). Every change is reported to the case with the `referral_report`
signal; the case decides what follows (record the outcome, re-route, tasks). Completed,
declined or expired, the workflow ends and returns its state.

A thin shell around the referral's stage machine (domain/referral_stages.py): each update's
validator asks its `check_*` function (status, note cap, the actor from the update header,
repeats) and refuses before anything enters history; the handler applies the stage function
and reports to the case. The run method sleeps until the deadline `next_clock` names and fires
it with `on_clock`.

Progress notes (behind the patch `referral-notes-archived`) go to the read model through an
activity before the update answers; the state keeps the last few and their count, so a long
referral's continue-as-new input stays small, and a referral takes at most
`MAX_PROGRESS_NOTES`. Nothing but an `ApplicationError` leaves a handler (workflows/guard.py).

Deterministic orchestration only: time comes from `workflow.now()` (workflows/clock.py), the
deadlines are computed once from `dispatched_at` and kept as absolute instants in the state (so
a new run after continue-as-new re-creates its timers from them), and there is no I/O here.
"""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    # The state models live in domain/: a class defined in a workflow module is rebuilt each
    # time the sandbox loads it, once per run (bench/lifecycle.py measured it).
    from domain.referral import (
        CLOSED,
        DeclineReason,
        Outcome,
        ProgressNote,
        ReferralContinuation,
        ReferralInput,
        ReferralReport,
        ReferralState,
        ReferralStatus,
        ReportKind,
    )
    from domain.referral_stages import (
        CLOCK_REPORTS,
        INVALID_INPUT,
        NumberedNote,
        PartnerAction,
        ReferralRejection,
        acknowledge,
        add_note,
        check_acknowledge,
        check_complete,
        check_decline,
        check_report_progress,
        complete,
        decline,
        is_repeat,
        keep_note,
        next_clock,
        number_note,
        on_clock,
        open_referral,
        require,
    )
    from domain.referral_stages import (
        # tests/workflows/test_bounded_state.py reads it here
        MAX_PROGRESS_NOTES as MAX_PROGRESS_NOTES,
    )

from workflows.activity_calls import execute_waited
from workflows.clock import now as clock_now
from workflows.guard import guarded, rejected

with workflow.unsafe.imports_passed_through():
    from activities.case import CaseActivities
    from domain.actor import Actor
    from workflows.actor_header import current_actor

# The parent's signal (AgreementWorkflow.referral_report); by name, so this module does not
# import the case workflow.
REPORT_SIGNAL = "referral_report"

# Patch ids (see workflows/agreement.py on patches); never reuse one for another change.
# The partner's progress notes go to the read model; the state keeps the last few.
NOTES_ARCHIVED = "referral-notes-archived"

# A partner's action: the state, the time, the update's actor and id -> the new state.
Act = Callable[
    [ReferralState, datetime, Actor | None, str | None], ReferralState | ReferralRejection
]
Check = Callable[[ReferralState, Actor | None, str | None], ReferralRejection | None]


def _update_id() -> str | None:
    info = workflow.current_update_info()
    return info.id if info is not None else None


@workflow.defn
class ReferralWorkflow:
    @workflow.init
    def __init__(self, input: ReferralInput | ReferralContinuation) -> None:
        self._invalid_input: str | None = None
        if isinstance(input, ReferralContinuation):
            self._input, self._state = input.input, input.state
        else:
            self._input = input
            # The holiday calendar reads its translation files through `gettext` and
            # `locale`, which the sandbox forbids; the dates it yields do not depend on them.
            with workflow.unsafe.sandbox_unrestricted():
                opened = open_referral(input)
            if isinstance(opened, ReferralState):
                self._state = opened
            else:
                # Raising here would fail the workflow task over and over; `run` fails the
                # workflow instead. The placeholder state only serves queries until then.
                self._invalid_input = opened.message
                at = input.dispatched_at
                self._state = ReferralState(
                    referral_id=input.referral_id,
                    case_id=input.case_id,
                    route_id=input.route_id,
                    partner_id=input.partner_id,
                    dispatched_at=at,
                    remind_at=at,
                    escalate_at=at,
                    expire_at=at,
                )
        # Reports leave one at a time, in the order they were made.
        self._report_lock = asyncio.Lock()
        self._notes_lock = asyncio.Lock()
        self._updates_this_run = 0

    @workflow.run
    async def run(self, input: ReferralInput | ReferralContinuation) -> ReferralState:
        """Takes the case's `ReferralInput`; a continuation only when it continues as new.

        A closed case cancels its open referrals: the cancellation ends the run (no report,
        the case knows) once the updates in flight have answered.
        """
        if self._invalid_input is not None:
            raise ApplicationError(self._invalid_input, type=INVALID_INPUT, non_retryable=True)
        try:
            return await self._lifecycle()
        except asyncio.CancelledError:
            await workflow.wait_condition(workflow.all_handlers_finished)
            raise

    async def _lifecycle(self) -> ReferralState:
        # Unanswered: remind, escalate, expire, each once (an earlier run may have taken some:
        # `next_clock` knows). `self._state` is read anew after every wait: a handler
        # replaces it.
        while (due := next_clock(self._state)) is not None:
            clock, deadline = due
            if not await self._unanswered_until(deadline, clock.value):
                break
            fired = on_clock(self._state, clock, self._now())
            if fired is self._state:
                break  # nothing to fire: never spin on one deadline
            self._apply(fired)
            await self._report(CLOCK_REPORTS[clock])

        # Acknowledged: no clock, the partner reports until it completes or declines. A long
        # referral continues as new now and then, so its history stays small.
        await workflow.wait_condition(lambda: self._state.status in CLOSED or self._run_is_full())
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._state.status not in CLOSED:
            # Raises: only the run method (this task) may continue as new, never a handler.
            workflow.continue_as_new(ReferralContinuation(input=self._input, state=self._state))
        return self._state

    @workflow.query
    def state(self) -> ReferralState:
        return self._state

    # -- partner actions (updates) ------------------------------------------------------------
    # Each update's actor comes in a header (workflows/actor_header.py): the referral refuses
    # a partner that is not its agency (domain/actor.py). A repeated update id, maybe from an
    # earlier run, is answered with the state and nothing else.

    @workflow.update
    async def acknowledge(self) -> ReferralState:
        if self._is_repeat():
            return self._state
        self._act(lambda s, now, actor, uid: acknowledge(s, now, actor=actor, update_id=uid))
        await self._report(ReportKind.ACKNOWLEDGED)
        return self._state

    @acknowledge.validator
    def _validate_acknowledge(self) -> None:
        self._validate(lambda s, actor, uid: check_acknowledge(s, actor=actor, update_id=uid))

    @workflow.update
    async def decline(self, reason: DeclineReason) -> ReferralState:
        if self._is_repeat():
            return self._state
        self._act(lambda s, now, actor, uid: decline(s, reason, now, actor=actor, update_id=uid))
        await self._report(ReportKind.DECLINED, note=reason.reason)
        return self._state

    @decline.validator
    def _validate_decline(self, reason: DeclineReason) -> None:
        self._validate(lambda s, actor, uid: check_decline(s, reason, actor=actor, update_id=uid))

    @workflow.update
    async def report_progress(self, note: ProgressNote) -> ReferralState:
        if self._is_repeat():
            return self._state
        # Before the patch check, as it always was: a refusal here records no patch marker.
        self._require(PartnerAction.REPORT_PROGRESS)
        if not workflow.patched(NOTES_ARCHIVED):
            self._act(lambda s, now, actor, uid: add_note(s, note, now, actor=actor, update_id=uid))
            await self._report(ReportKind.PROGRESS, note=note.note)
            return self._state
        # One note at a time, so their numbers follow the order they were taken in.
        async with self._notes_lock:
            if self._is_repeat():
                return self._state
            numbered = guarded("report_progress", lambda: self._numbered(note))
            await execute_waited(
                CaseActivities.record_referral_note,
                numbered.record,
                unchanged="Der Zwischenstand wurde nicht gespeichert.",
            )
            self._act(lambda s, now, actor, uid: keep_note(s, numbered, update_id=uid))
        await self._report(ReportKind.PROGRESS, note=note.note)
        return self._state

    @report_progress.validator
    def _validate_report_progress(self, note: ProgressNote) -> None:
        self._validate(
            lambda s, actor, uid: check_report_progress(s, note, actor=actor, update_id=uid)
        )

    def _numbered(self, note: ProgressNote) -> NumberedNote:
        """The note numbered, as the read model archives it, or refused."""
        numbered = number_note(self._state, note, self._now(), actor=current_actor())
        if not isinstance(numbered, NumberedNote):
            raise rejected(numbered)
        return numbered

    @workflow.update
    async def complete(self, outcome: Outcome) -> ReferralState:
        if self._is_repeat():
            return self._state
        self._act(lambda s, now, actor, uid: complete(s, outcome, now, actor=actor, update_id=uid))
        await self._report(ReportKind.COMPLETED, outcome=outcome)
        return self._state

    @complete.validator
    def _validate_complete(self, outcome: Outcome) -> None:
        self._validate(lambda s, actor, uid: check_complete(s, outcome, actor=actor, update_id=uid))

    # -- update plumbing ----------------------------------------------------------------------

    def _is_repeat(self) -> bool:
        return is_repeat(self._state, _update_id())

    def _require(self, action: PartnerAction) -> None:
        """Raise the refusal of the update's actor or of the referral's status, if any."""
        rejection = guarded(action.value, lambda: require(self._state, action, current_actor()))
        if rejection is not None:
            raise rejected(rejection)

    def _validate(self, check: Check) -> None:
        """Refuse before history (a repeat passes: its handler answers it); an unexpected
        error in the check refuses too."""
        info = workflow.current_update_info()
        action = info.name if info is not None else "referral"
        rejection = guarded(action, lambda: check(self._state, current_actor(), _update_id()))
        if rejection is not None:
            raise rejected(rejection)

    def _act(self, act: Act) -> None:
        """Apply a partner's action (it checks the actor and the status once more: the
        referral may have moved on since the validator) and make its copy of the state the
        state; nothing changes unless all of it worked (workflows/guard.py)."""

        def acted() -> ReferralState:
            outcome = act(self._state, self._now(), current_actor(), _update_id())
            if not isinstance(outcome, ReferralState):
                raise rejected(outcome)
            return outcome

        info = workflow.current_update_info()
        self._apply(guarded(info.name if info else "referral", acted))
        self._updates_this_run += 1

    def _apply(self, state: ReferralState) -> None:
        if state.status is not self._state.status and state.status in CLOSED:
            # Ids and statuses only: notes and reasons may carry personal data.
            workflow.logger.info("Referral %s %s", state.referral_id, state.status.value)
        self._state = state

    def _now(self) -> datetime:
        return clock_now(self._input.clocks)

    def _run_is_full(self) -> bool:
        return (
            self._updates_this_run >= self._input.clocks.max_events_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    async def _unanswered_until(self, deadline: datetime, timer: str) -> bool:
        """Wait until the partner answers or `deadline` passes; True when still unanswered."""
        remaining = deadline - self._now()
        if self._state.status is ReferralStatus.DISPATCHED and remaining > timedelta(0):
            # The timeout is the deadline passing, not an error.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._state.status is not ReferralStatus.DISPATCHED,
                    timeout=remaining,
                    timeout_summary=timer,
                )
        return self._state.status is ReferralStatus.DISPATCHED

    async def _report(
        self, kind: ReportKind, *, outcome: Outcome | None = None, note: str | None = None
    ) -> None:
        state = self._state
        try:
            report = ReferralReport(
                referral_id=state.referral_id,
                route_id=state.route_id,
                partner_id=state.partner_id,
                kind=kind,
                at=self._now(),
                outcome=outcome,
                note=note,
            )
        except Exception as error:
            # The partner's action is already recorded here; failing it now would wedge the
            # referral (workflows/guard.py). The case learns of it on the next report.
            workflow.logger.error(
                "Referral %s: report %s not built (%s)",
                state.referral_id,
                kind.value,
                type(error).__name__,
            )
            return
        async with self._report_lock:
            # No run id: the case's run changes with every continue-as-new, its id does not.
            case = workflow.get_external_workflow_handle(state.case_id)
            try:
                await case.signal(REPORT_SIGNAL, report)
            except FailureError:
                # The case is gone (closed): nobody is left to tell; the state keeps the facts.
                workflow.logger.warning(
                    "Referral %s: report %s not delivered to %s",
                    state.referral_id,
                    kind.value,
                    state.case_id,
                )
