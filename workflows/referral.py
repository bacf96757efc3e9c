"""ReferralWorkflow: one routed need at one partner agency, a child of its case.

`dispatched → acknowledged → completed`, or `declined` / `expired`. The partner moves it on with
updates: `acknowledge` (when dispatched), `decline` (dispatched or acknowledged: a partner may
find out late that it cannot help), `report_progress` and `complete` (acknowledged). While it is
unanswered, working-day clocks remind the partner (5), escalate to the supervisor (10) and
finally let it expire (15). Every change is reported to the case with the `referral_report`
signal; the case decides what follows (record the outcome, re-route, tasks). Completed,
declined or expired, the workflow ends and returns its state.

Progress notes (behind the patch `referral-notes-archived`) go to the read model through an
activity before the update answers; the state keeps the last few and their count, so a long
referral's continue-as-new input stays small, and a referral takes at most
`MAX_PROGRESS_NOTES`. Nothing but an `ApplicationError` leaves a handler (workflows/guard.py).

Deterministic orchestration only: time comes from `workflow.now()`, the deadlines are computed
once from `dispatched_at` and kept as absolute instants in the state (so a new run after
continue-as-new re-creates its timers from them), and there is no I/O here.
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
        STATUS_LABELS,
        DeclineReason,
        Outcome,
        ProgressEntry,
        ProgressNote,
        ReferralContinuation,
        ReferralInput,
        ReferralReport,
        ReferralState,
        ReferralStatus,
        ReportKind,
    )
    from domain.workdays import working_deadline

from workflows.activity_calls import execute_waited
from workflows.guard import guarded

with workflow.unsafe.imports_passed_through():
    from activities.case import CaseActivities
    from activities.case_events import ReferralNote
    from domain.actor import referral_access
    from workflows.actor_header import current_actor

# The parent's signal (AgreementWorkflow.referral_report); by name, so this module does not
# import the case workflow.
REPORT_SIGNAL = "referral_report"
# ApplicationError types the API maps: wrong status -> 409, bad input -> 422.
WRONG_STATUS = "WrongStatus"
INVALID_INPUT = "InvalidReferralInput"

# Update ids remembered across continue-as-new: Temporal dedupes them only within one run.
KEEP_UPDATE_IDS = 100

# Patch ids (see workflows/agreement.py on patches); never reuse one for another change.
# The partner's progress notes go to the read model; the state keeps the last few.
NOTES_ARCHIVED = "referral-notes-archived"
KEEP_PROGRESS_NOTES = 5
# Beyond this a referral takes no more notes (422): each costs an update and a row, and a
# partner reporting this much should complete the referral or call the centre.
MAX_PROGRESS_NOTES = 2000


def initial_state(input: ReferralInput) -> ReferralState:
    """The state of a new referral, with its three deadlines fixed once (ValueError for an
    unknown Land)."""
    clocks = input.clocks
    start = input.dispatched_at
    return ReferralState(
        referral_id=input.referral_id,
        case_id=input.case_id,
        route_id=input.route_id,
        partner_id=input.partner_id,
        dispatched_at=start,
        remind_at=working_deadline(start, clocks.remind_after_working_days, input.land, clocks),
        escalate_at=working_deadline(start, clocks.escalate_after_working_days, input.land, clocks),
        expire_at=working_deadline(start, clocks.expire_after_working_days, input.land, clocks),
    )


@workflow.defn
class ReferralWorkflow:
    @workflow.init
    def __init__(self, input: ReferralInput | ReferralContinuation) -> None:
        self._invalid_input: str | None = None
        if isinstance(input, ReferralContinuation):
            self._input, self._state = input.input, input.state
        else:
            self._input = input
            try:
                # The holiday calendar reads its translation files through `gettext` and
                # `locale`, which the sandbox forbids; the dates it yields do not depend on them.
                with workflow.unsafe.sandbox_unrestricted():
                    self._state = initial_state(input)
            except ValueError as err:
                # Raising here would fail the workflow task over and over; `run` fails the
                # workflow instead. The placeholder state only serves queries until then.
                self._invalid_input = str(err)
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
        # Unanswered: remind, escalate, expire. The `*_at is None` checks skip a step an
        # earlier run already took. (`self._state` is read anew after every wait: a handler
        # replaces it, see `_change`.)
        if self._state.reminded_at is None and await self._unanswered_until(
            self._state.remind_at, "remind"
        ):
            self._state.reminded_at = workflow.now()
            await self._report(ReportKind.REMINDER)
        if self._state.escalated_at is None and await self._unanswered_until(
            self._state.escalate_at, "escalate"
        ):
            self._state.escalated_at = workflow.now()
            await self._report(ReportKind.ESCALATED)
        if await self._unanswered_until(self._state.expire_at, "expire"):
            self._close(self._state, ReferralStatus.EXPIRED)
            await self._report(ReportKind.EXPIRED)

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

    @workflow.update
    async def acknowledge(self) -> ReferralState:
        if self._is_repeat():
            return self._state
        self._require("annehmen", ReferralStatus.DISPATCHED)

        def acknowledged(state: ReferralState) -> None:
            state.status = ReferralStatus.ACKNOWLEDGED
            state.acknowledged_at = workflow.now()

        self._change(acknowledged)
        await self._report(ReportKind.ACKNOWLEDGED)
        return self._state

    @acknowledge.validator
    def _validate_acknowledge(self) -> None:
        self._validate("annehmen", ReferralStatus.DISPATCHED)

    @workflow.update
    async def decline(self, reason: DeclineReason) -> ReferralState:
        if self._is_repeat():
            return self._state
        self._require("ablehnen", ReferralStatus.DISPATCHED, ReferralStatus.ACKNOWLEDGED)

        def declined(state: ReferralState) -> None:
            state.decline_reason = reason.reason
            self._close(state, ReferralStatus.DECLINED)

        self._change(declined)
        await self._report(ReportKind.DECLINED, note=reason.reason)
        return self._state

    @decline.validator
    def _validate_decline(self, reason: DeclineReason) -> None:
        self._validate("ablehnen", ReferralStatus.DISPATCHED, ReferralStatus.ACKNOWLEDGED)

    @workflow.update
    async def report_progress(self, note: ProgressNote) -> ReferralState:
        if self._is_repeat():
            return self._state
        self._require("einen Zwischenstand melden", ReferralStatus.ACKNOWLEDGED)
        if not workflow.patched(NOTES_ARCHIVED):

            def noted(state: ReferralState) -> None:
                state.progress.append(ProgressEntry(at=workflow.now(), note=note.note))

            self._change(noted)
            await self._report(ReportKind.PROGRESS, note=note.note)
            return self._state
        # One note at a time, so their numbers follow the order they were taken in.
        async with self._notes_lock:
            if self._is_repeat():
                return self._state
            self._require("einen Zwischenstand melden", ReferralStatus.ACKNOWLEDGED)
            self._refuse_beyond_note_cap()
            entry, record = guarded("report_progress", lambda: self._note_of(note))
            await execute_waited(
                CaseActivities.record_referral_note,
                record,
                unchanged="Der Zwischenstand wurde nicht gespeichert.",
            )

            def archived(state: ReferralState) -> None:
                state.progress_count = record.number
                state.progress.append(entry)
                del state.progress[:-KEEP_PROGRESS_NOTES]

            self._change(archived)
        await self._report(ReportKind.PROGRESS, note=note.note)
        return self._state

    @report_progress.validator
    def _validate_report_progress(self, note: ProgressNote) -> None:
        self._validate("einen Zwischenstand melden", ReferralStatus.ACKNOWLEDGED)
        if not self._is_repeat():
            self._refuse_beyond_note_cap()

    def _note_of(self, note: ProgressNote) -> tuple[ProgressEntry, ReferralNote]:
        """The note as the state keeps it and as the read model archives it (numbered)."""
        entry = ProgressEntry(at=workflow.now(), note=note.note)
        state = self._state
        record = ReferralNote(
            referral_id=state.referral_id,
            case_id=state.case_id,
            partner_id=state.partner_id,
            number=state.note_count() + 1,
            at=entry.at,
            note=entry.note,
        )
        return entry, record

    def _refuse_beyond_note_cap(self) -> None:
        if self._state.note_count() >= MAX_PROGRESS_NOTES:
            count = f"{MAX_PROGRESS_NOTES:,}".replace(",", ".")  # German digit grouping
            raise ApplicationError(
                f"Diese Vermittlung hat bereits {count} Zwischenstände; weitere nimmt Lotse "
                "nicht an. Bitte die Vermittlung abschließen oder die Beratungsstelle anrufen.",
                "note",
                type=INVALID_INPUT,
                non_retryable=True,
            )

    @workflow.update
    async def complete(self, outcome: Outcome) -> ReferralState:
        if self._is_repeat():
            return self._state
        self._require("abschließen", ReferralStatus.ACKNOWLEDGED)

        def completed(state: ReferralState) -> None:
            state.outcome = outcome
            self._close(state, ReferralStatus.COMPLETED)

        self._change(completed)
        await self._report(ReportKind.COMPLETED, outcome=outcome)
        return self._state

    @complete.validator
    def _validate_complete(self, outcome: Outcome) -> None:
        self._validate("abschließen", ReferralStatus.ACKNOWLEDGED)

    def _validate(self, action: str, *allowed: ReferralStatus) -> None:
        """Validators: a repeat of an update answered in an earlier run passes (its handler
        answers with the state); anything else must come from the referral's agency and find
        it in an allowed status."""
        if not self._is_repeat():
            self._require(action, *allowed)

    def _require(self, action: str, *allowed: ReferralStatus) -> None:
        """The update's actor (workflows/actor_header.py) is the referral's agency, and the
        referral is in one of the `allowed` statuses; an `ApplicationError` otherwise."""
        refused = referral_access(self._state, current_actor())
        if refused is not None:
            raise ApplicationError(refused.message, type=refused.type, non_retryable=True)
        status = self._state.status
        if status in allowed:
            return
        wanted = " oder ".join(f"„{STATUS_LABELS[s]}“" for s in allowed)
        raise ApplicationError(
            f"Die Vermittlung ist im Status „{STATUS_LABELS[status]}“ "
            f"({status.value}); {action} ist nur im Status {wanted} möglich.",
            type=WRONG_STATUS,
            non_retryable=True,
        )

    def _is_repeat(self) -> bool:
        """Whether this update's id was already handled, in this run or an earlier one."""
        info = workflow.current_update_info()
        return info is not None and info.id in self._state.recent_update_ids

    def _change(self, change: Callable[[ReferralState], None]) -> None:
        """Apply a partner's action to a copy of the state and remember its update id; the
        copy becomes the state only when all of it worked (workflows/guard.py)."""

        def changed() -> ReferralState:
            new = self._state.model_copy(deep=True)
            change(new)
            info = workflow.current_update_info()
            if info is not None:
                new.recent_update_ids.append(info.id)
                del new.recent_update_ids[:-KEEP_UPDATE_IDS]
            return new

        info = workflow.current_update_info()
        self._state = guarded(info.name if info else "referral", changed)
        self._updates_this_run += 1

    def _close(self, state: ReferralState, status: ReferralStatus) -> None:
        state.status = status
        state.closed_at = workflow.now()
        # Ids and statuses only: notes and reasons may carry personal data.
        workflow.logger.info("Referral %s %s", state.referral_id, status.value)

    def _run_is_full(self) -> bool:
        return (
            self._updates_this_run >= self._input.clocks.max_events_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    async def _unanswered_until(self, deadline: datetime, timer: str) -> bool:
        """Wait until the partner answers or `deadline` passes; True when still unanswered."""
        remaining = deadline - workflow.now()
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
                at=workflow.now(),
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
