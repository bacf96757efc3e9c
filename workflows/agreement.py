"""AgreementWorkflow: one integration agreement, from intake to closure, for as many years as
the case lives (workflow id `case-<uuid>`).

It reads like DESIGN.md's stage table: each counsellor action is an update whose validator asks
the pure stage machine (domain/stages*.py) and refuses before anything enters history; its
handler applies the same function and raises `ApplicationError` (type `WrongStage`, `Invalid`
or `Unavailable`) when the case moved on in between. Clocks are absolute deadlines in the
state; the run method sleeps until the earliest one (`wait_condition` with a timeout), fires
what is due, starts referral children, hands declined referrals on, sends events to the read
model (from a loop of its own: workflows/agreement_projection.py), and continues-as-new after
each review cycle, when Temporal suggests it, or after `clocks.max_events_per_run` events and
updates. No I/O, rules engine or clock of its own here.

Changing this workflow while cases run: every case is a running workflow, and a new worker
replays its history. A change that alters the commands (activities, timers, children,
search attributes) goes in behind a patch, so old histories replay the old way:

    if workflow.patched("review-reminder-email"):   # new code path
        await workflow.execute_activity_method(...)
    # later, once no run without the patch is left: workflow.deprecate_patch(...), then remove

and tests/workflows/test_replay.py replays the saved histories of tests/histories/ against the
new code.
A change of the state model only adds fields with defaults (old states must still parse).

Patches in effect (histories recorded before each: tests/histories/*_v1.json):
- `PARALLEL_REFERRAL_STARTS`: the referrals of one signature start in one workflow task
  instead of one after the other (a round trip per referral less).
- `INTAKE_CORRECTIONS` (`correct_intake`, whose handler routes the needs again with the
  corrected profile: an activity no run called there before) and
  `SIGNATURE_REQUEST_WITHDRAWAL` (`withdraw_signature_request`). A history without these
  updates has none of their commands, so it replays either way; the patch is for the other
  direction: its marker and `TemporalChangeVersion` name every run that took one of them, and
  code from before them cannot replay such a run. So before rolling a worker back past them,
  list the runs with `TemporalChangeVersion` in those ids (recorded with them:
  tests/histories/intake_correction.json, signature_withdrawal.json).
- `OWN_MEASURE_COMPLETION` (`complete_own_measure`: the client's or the centre's measure
  ticked off with its day): no command of its own, a marker for the same reason (recorded
  with it: tests/histories/own_measure_completion.json).
- `OWN_MEASURE_FOLLOW_UPS`: a check-off drops the pending follow-ups of the measure's
  proposal, so their timers go and no „Nachhalten“ task comes for what is done. A run checked
  off before it kept them and gave the task: replayed without the marker, it still does
  (tests/histories/own_measure_follow_ups.json with it).
- `NOTICES_BEFORE_HANDOVER`: a run continues as new, or a closed case ends, only once the
  notice children of its last projected batch have started. Before it, the start of the
  notices of a batch that caught the projection up could go out in the same workflow task as
  the continue-as-new, and Temporal never starts a child of a run that has ended: those
  notices were lost (found by bench/lifecycle.py counting every child it initiated; recorded
  with it: tests/histories/notices_before_handover.json).
- No patch: `request_signature_edition` (the edition chosen) is a new update beside
  `request_signature`, scheduling the same activity; no recorded history holds it, so they
  replay unchanged, but code from before it cannot replay a run that took it.


A patch costs a marker and an upsert of `TemporalChangeVersion` (the SDK's, for finding runs
by patch) in each run that takes the new path: worth it for a change of behaviour inside a
run, not for one decided once when a run starts. Such a change is guarded by what the run was
given, which its history holds, so a replay decides the same way:
- a continued run upserts only the search attributes that differ from
  `CaseState.search_attributes`, which a run continued by older code does not carry (it
  upserts all of them, as its history says);
- a run whose input carries `projection_loop` projects to the read model from a loop of its
  own (workflows/agreement_projection.py), so clocks and referrals never wait for the read
  model; a run started or continued by older code sent each batch and waited for it in the
  run loop (`_settle`), and keeps doing so until it continues as new;
- a run whose input carries `review_reminder` has a timer seven days before each review is
  due, which tells the counsellor (the event `review_due_soon`);
- a run whose input carries `notices` sends, once the read model has a batch, the notices its
  events cause, each as a `NoticeWorkflow` child (workflows/agreement_projection.py).
tests/workflows/test_agreement_patches.py shows them all.

Nothing but an `ApplicationError` leaves a handler or the run loop (workflows/guard.py).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.actions import (
        AgreementDraft,
        Closure,
        OwnMeasureCompletion,
        Reassignment,
        ReferralReroute,
        ReferralSetAside,
        ReferralWithdrawal,
        Review,
        Signature,
        SignatureEdition,
        TaskDone,
        Transfer,
    )
    from domain.actor import (
        Actor,
        case_access,
        is_coordination,
        reassign_access,
        referral_change_access,
        task_role,
    )
    from domain.case import ActionResult, AgreementInput, CaseState, ReferralRecord, Stage
    from domain.case_log import action_result, remember_update
    from domain.compaction import after_projection
    from domain.needs import Assessment
    from domain.profile import IntakeData
    from domain.referral import OPEN, ReferralReport
    from domain.rejections import NotYours, Rejection
    from domain.stages import (
        check_complete_assessment,
        check_complete_intake,
        check_request_signature,
        check_sign,
        complete_assessment,
        complete_intake,
        open_case,
        request_signature,
        sign,
    )
    from domain.stages_clock import next_deadline, on_clock
    from domain.stages_correction import (
        check_correct_intake,
        check_withdraw_signature_request,
        correct_intake,
        reroutes_on_correction,
        withdraw_signature_request,
    )
    from domain.stages_draft import check_draft_agreement, draft_agreement
    from domain.stages_measures import check_complete_own_measure, complete_own_measure
    from domain.stages_referral import (
        mark_started,
        on_referral_report,
        referrals_to_reroute,
        referrals_to_start,
        reroute,
    )
    from domain.stages_review import (
        check_close,
        check_complete_task,
        check_reassign,
        check_record_review,
        check_transfer,
        close,
        complete_task,
        reassign,
        record_review,
        transfer,
    )
    from domain.stages_withdrawal import (
        check_reroute_referral,
        check_set_aside_referral,
        check_withdraw_referral,
        reroute_referral,
        set_aside_referral,
        withdraw_referral,
    )

from workflows import agreement_calls as calls
from workflows.clock import now as clock_now

with workflow.unsafe.imports_passed_through():
    # Passed through: the worker's interceptor and this code share its context variable.
    from workflows.actor_header import current_actor

from workflows.agreement_projection import Projection
from workflows.guard import UNPROCESSABLE, guarded, rejected

# Patch ids (see the module docstring); never reuse one for another change.
PARALLEL_REFERRAL_STARTS = "parallel-referral-starts"
INTAKE_CORRECTIONS = "intake-corrections"
SIGNATURE_REQUEST_WITHDRAWAL = "signature-request-withdrawal"
OWN_MEASURE_COMPLETION = "own-measure-completion"
OWN_MEASURE_FOLLOW_UPS = "own-measure-follow-ups"
NOTICES_BEFORE_HANDOVER = "notices-before-handover"

# After a clock or a referral step failed unexpectedly (workflows/guard.py), the run loop waits
# this long before it tries again: the deadline is still due, and trying again at once would
# spin. Updates are answered meanwhile; closing the case ends the wait.
RETRY_AFTER_FAILURE = timedelta(hours=1)

Check = Callable[[CaseState, datetime], Rejection | None]
Act = Callable[[CaseState, datetime], CaseState | Rejection]
T = TypeVar("T")


Access = Callable[[CaseState, Actor | None], NotYours | None]


def _allowed(
    actor: Actor | None, step: Callable[[CaseState, datetime], T], access: Access = case_access
) -> Callable[[CaseState, datetime], T | NotYours]:
    """`step`, unless the case refuses the actor (domain/actor.py)."""

    def checked(state: CaseState, now: datetime) -> T | NotYours:
        refused = access(state, actor)
        return refused if refused is not None else step(state, now)

    return checked


def _reading_calendars(step: Callable[[], T]) -> Callable[[], T]:
    """`step`, allowed to read the holiday calendars: dispatching a referral computes its
    working-day deadlines (domain/workdays.py), and the calendar package reads its translation
    files through `gettext`, which the sandbox forbids. The dates do not depend on them."""

    def unrestricted() -> T:
        with workflow.unsafe.sandbox_unrestricted():
            return step()

    return unrestricted


def _action() -> str:
    """The name of the update being handled (for the log), or of the workflow's own work."""
    info = workflow.current_update_info()
    return info.name if info is not None else "run"


@workflow.defn
class AgreementWorkflow:
    @workflow.init
    def __init__(self, input: AgreementInput) -> None:
        self._input = input
        self._clocks = input.clocks
        self._state = input.state or open_case(
            case_id=input.case_id,
            municipality_id=input.municipality_id,
            centre_id=input.centre_id,
            centre_kind=input.centre_kind,
            counsellor_id=input.counsellor_id,
            land=input.land,
            client=input.client,
            now=clock_now(input.clocks),
            number=input.number,
        )
        # Handlers that wait for an activity take turns, so each decides on the state the
        # previous one left (the stage functions re-check anyway).
        self._lock = asyncio.Lock()
        self._first_sequence = self._state.next_sequence
        self._updates_this_run = 0
        self._review_recorded = False
        # What the run's search attributes are: those of the run before, then what it upserts.
        self._search_attributes = dict(self._state.search_attributes)
        self._projection = Projection(
            lambda: self._state, self._apply, self._clocks, tell=input.sends_notices()
        )
        # Guarded by the input, not a patch (see the module docstring and `AgreementInput`).
        self._projecting = input.projects_in_own_loop()
        self._projection_task: asyncio.Task[None] | None = None
        # Decided once per run, by its input (see the module docstring).
        self._review_reminder = input.reminds_of_reviews()

    @workflow.run
    async def run(self, input: AgreementInput) -> CaseState:
        if input.case_id != workflow.info().workflow_id:
            raise ApplicationError(
                f"case_id {input.case_id} is not the workflow id",
                type="Invalid",
                non_retryable=True,
            )
        if self._projecting:
            # Its own task: clocks and referrals never wait for the read model.
            self._projection_task = asyncio.create_task(self._projection.run())
        calls.upsert_search_attributes(self._state, self._search_attributes)
        while self._state.stage is not Stage.CLOSED:
            await self._contained("settle", self._settle)
            if self._run_is_done():
                # Never leave an update half done: its caller would get no answer. And let
                # the projection catch up unless the read model is out: what it has not
                # projected travels with the state.
                notices_first = workflow.patched(NOTICES_BEFORE_HANDOVER)
                await workflow.wait_condition(partial(self._may_continue_as_new, notices_first))
                carried = self._state.model_copy(
                    update={"search_attributes": dict(self._search_attributes)}
                )
                # The next run takes this code's ways (the flags, written: see AgreementInput).
                ways = {"projection_loop": True, "review_reminder": True, "notices": True}
                workflow.continue_as_new(self._input.model_copy(update={"state": carried, **ways}))
            await self._sleep_until_next_deadline()
            await self._contained("on_clock", self._fire_clocks)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await calls.withdraw_open_referrals(self._state)
        if self._projecting:
            # The closed case's last events must reach the read model, and their notices must
            # have started; nothing else is left.
            notices_first = workflow.patched(NOTICES_BEFORE_HANDOVER)
            await workflow.wait_condition(
                lambda: self._projection.caught_up() and self._notices_started(notices_first)
            )
            if self._projection_task is not None:
                self._projection_task.cancel()
        else:
            await self._settle()
        return self._state

    # -- counsellor actions (updates) ---------------------------------------------------------
    # Each update's actor comes in a header (workflows/actor_header.py): the case itself
    # refuses one who is not a counsellor of its current centre (domain/actor.py).

    @workflow.update
    async def complete_intake(self, data: IntakeData) -> ActionResult:
        return self._act(lambda s, now: complete_intake(s, data, now, self._clocks))

    @complete_intake.validator
    def _validate_complete_intake(self, data: IntakeData) -> None:
        self._validate(lambda s, now: check_complete_intake(s, data, now))

    @workflow.update
    async def complete_assessment(self, assessment: Assessment) -> ActionResult:
        if answer := self._earlier_answer():
            return answer
        async with self._lock:
            self._check(lambda s, now: check_complete_assessment(s, assessment, now))
            routing = await calls.route_needs(
                self._state, assessment.needs, clock_now(self._clocks)
            )
            return self._commit(lambda s, now: complete_assessment(s, assessment, routing, now))

    @complete_assessment.validator
    def _validate_complete_assessment(self, assessment: Assessment) -> None:
        self._validate(lambda s, now: check_complete_assessment(s, assessment, now))

    @workflow.update
    async def draft_agreement(self, draft: AgreementDraft) -> ActionResult:
        return self._act(lambda s, now: draft_agreement(s, draft, now))

    @draft_agreement.validator
    def _validate_draft_agreement(self, draft: AgreementDraft) -> None:
        self._validate(lambda s, now: check_draft_agreement(s, draft, now))

    @workflow.update
    async def request_signature(self) -> ActionResult:
        if answer := self._earlier_answer():
            return answer
        async with self._lock:
            self._check(lambda s, now: check_request_signature(s, now))
            document = await calls.render_agreement(self._state, self._clocks)
            return self._commit(lambda s, now: request_signature(s, document, now))

    @request_signature.validator
    def _validate_request_signature(self) -> None:
        self._validate(lambda s, now: check_request_signature(s, now))

    @workflow.update
    async def request_signature_edition(self, edition: SignatureEdition) -> ActionResult:
        """`request_signature` with the edition chosen: German only, or German with the
        client's language (a new update rather than an argument of the old one, whose
        recorded calls carry no payload the SDK could decode against it)."""
        if answer := self._earlier_answer():
            return answer
        async with self._lock:
            self._check(lambda s, now: check_request_signature(s, now))
            document = await calls.render_agreement(self._state, self._clocks, edition.language)
            return self._commit(lambda s, now: request_signature(s, document, now))

    @request_signature_edition.validator
    def _validate_request_signature_edition(self, edition: SignatureEdition) -> None:
        self._validate(lambda s, now: check_request_signature(s, now))

    @workflow.update
    async def withdraw_signature_request(self) -> ActionResult:
        if answer := self._earlier_answer():
            return answer
        workflow.patched(SIGNATURE_REQUEST_WITHDRAWAL)  # marks the run (module docstring)
        return self._commit(withdraw_signature_request)

    @withdraw_signature_request.validator
    def _validate_withdraw_signature_request(self) -> None:
        self._validate(check_withdraw_signature_request)

    @workflow.update
    async def correct_intake(self, data: IntakeData) -> ActionResult:
        if answer := self._earlier_answer():
            return answer
        async with self._lock:
            self._check(lambda s, now: check_correct_intake(s, data, now))
            routing = None
            # Always taken by a run that gets this update (the module docstring says why it
            # is a patch); the profile goes to the rules as corrected, the needs as they are.
            if workflow.patched(INTAKE_CORRECTIONS) and reroutes_on_correction(self._state):
                corrected = self._state.model_copy(update={"profile": data})
                routing = await calls.route_needs(
                    corrected, self._state.needs, clock_now(self._clocks)
                )
            return self._commit(lambda s, now: correct_intake(s, data, routing, now, self._clocks))

    @correct_intake.validator
    def _validate_correct_intake(self, data: IntakeData) -> None:
        self._validate(lambda s, now: check_correct_intake(s, data, now))

    @workflow.update
    async def sign(self, signature: Signature) -> ActionResult:
        # Both signatures dispatch the referrals, with their working-day deadlines.
        return self._act(
            lambda s, now: _reading_calendars(partial(sign, s, signature, now, self._clocks))()
        )

    @sign.validator
    def _validate_sign(self, signature: Signature) -> None:
        self._validate(lambda s, now: check_sign(s, signature, now))

    @workflow.update
    async def record_review(self, review: Review) -> ActionResult:
        if answer := self._earlier_answer():
            return answer
        async with self._lock:
            self._check(lambda s, now: check_record_review(s, review, now, self._clocks))
            routing = None
            if review.new_needs:
                routing = await calls.route_needs(
                    self._state, review.new_needs, clock_now(self._clocks)
                )
            result = self._commit(
                lambda s, now: record_review(s, review, routing, now, self._clocks)
            )
            self._review_recorded = True  # the end of a cycle: the run continues as new
            return result

    @record_review.validator
    def _validate_record_review(self, review: Review) -> None:
        self._validate(lambda s, now: check_record_review(s, review, now, self._clocks))

    @workflow.update
    async def close(self, closure: Closure) -> ActionResult:
        return self._act(lambda s, now: close(s, closure, now))

    @close.validator
    def _validate_close(self, closure: Closure) -> None:
        self._validate(lambda s, now: check_close(s, closure, now))

    # The counsellor, or the coordination for a case waiting for one after a transfer.
    @workflow.update
    async def reassign(self, change: Reassignment) -> ActionResult:
        coordination = is_coordination(current_actor())
        return self._act(
            lambda s, now: reassign(s, change, now, coordination=coordination), reassign_access
        )

    @reassign.validator
    def _validate_reassign(self, change: Reassignment) -> None:
        coordination = is_coordination(current_actor())
        self._validate(
            lambda s, now: check_reassign(s, change, now, coordination=coordination),
            reassign_access,
        )

    @workflow.update
    async def transfer(self, change: Transfer) -> ActionResult:
        return self._act(lambda s, now: transfer(s, change, now))

    @transfer.validator
    def _validate_transfer(self, change: Transfer) -> None:
        self._validate(lambda s, now: check_transfer(s, change, now))

    # The client's or the centre's own measure ticked off (domain/stages_measures.py): no
    # command of its own, so like the withdrawal it is a patch only to mark the run.
    @workflow.update
    async def complete_own_measure(self, completion: OwnMeasureCompletion) -> ActionResult:
        if answer := self._earlier_answer():
            return answer
        workflow.patched(OWN_MEASURE_COMPLETION)  # marks the run (module docstring)
        # Drops the measure's pending follow-ups: their timers go, which a run checked off
        # before this patch did not do (it gave the task when the follow-up came due).
        stop = workflow.patched(OWN_MEASURE_FOLLOW_UPS)
        return self._commit(lambda s, now: complete_own_measure(s, completion, now, stop))

    @complete_own_measure.validator
    def _validate_complete_own_measure(self, completion: OwnMeasureCompletion) -> None:
        self._validate(lambda s, now: check_complete_own_measure(s, completion, now))

    @workflow.update
    async def complete_task(self, done: TaskDone) -> ActionResult:
        by = task_role(current_actor())
        return self._act(lambda s, now: complete_task(s, done, now, by))

    @complete_task.validator
    def _validate_complete_task(self, done: TaskDone) -> None:
        by = task_role(current_actor())
        self._validate(lambda s, now: check_complete_task(s, done, now, by))

    # A referral taken back, handed on or set aside by the counsellor, or taken back or handed
    # on by the municipality's coordination when it is escalated (domain/stages_withdrawal.py).
    # Their commands (the directory's check, cancelling a child) are new with these updates:
    # a history without the update has none of them, so no patch is needed for them to replay.

    @workflow.update
    async def withdraw_referral(self, change: ReferralWithdrawal) -> ActionResult:
        if answer := self._earlier_answer():
            return answer
        coordination = is_coordination(current_actor())
        async with self._lock:
            result = self._commit(
                lambda s, now: withdraw_referral(s, change, now, coordination=coordination),
                referral_change_access,
            )
            await calls.cancel_referral(self._referral(change.referral_id))
            return result

    @withdraw_referral.validator
    def _validate_withdraw_referral(self, change: ReferralWithdrawal) -> None:
        coordination = is_coordination(current_actor())
        self._validate(
            lambda s, now: check_withdraw_referral(s, change, now, coordination=coordination),
            referral_change_access,
        )

    @workflow.update
    async def reroute_referral(self, change: ReferralReroute) -> ActionResult:
        if answer := self._earlier_answer():
            return answer
        coordination = is_coordination(current_actor())

        def check(state: CaseState, now: datetime) -> Rejection | None:
            return check_reroute_referral(state, change, now, coordination=coordination)

        async with self._lock:
            self._check(check, referral_change_access)
            was_open = self._referral(change.referral_id).status in OPEN
            if change.partner_id is not None:
                choice = await calls.chosen_partner(
                    self._state, self._referral(change.referral_id), change.partner_id
                )
                if choice.partner_id is None:
                    raise ApplicationError(
                        choice.unassigned_reason or "Dieser Partner passt nicht.",
                        "partner_id",
                        type="Invalid",
                        non_retryable=True,
                    )
            result = self._commit(
                lambda s, now: _reading_calendars(
                    partial(
                        reroute_referral,
                        s,
                        change,
                        change.partner_id,
                        now,
                        self._clocks,
                        coordination=coordination,
                    )
                )(),
                referral_change_access,
            )
            if was_open:
                await calls.cancel_referral(self._referral(change.referral_id))
            return result

    @reroute_referral.validator
    def _validate_reroute_referral(self, change: ReferralReroute) -> None:
        coordination = is_coordination(current_actor())
        self._validate(
            lambda s, now: check_reroute_referral(s, change, now, coordination=coordination),
            referral_change_access,
        )

    @workflow.update
    async def set_aside_referral(self, change: ReferralSetAside) -> ActionResult:
        return self._act(lambda s, now: set_aside_referral(s, change, now))

    @set_aside_referral.validator
    def _validate_set_aside_referral(self, change: ReferralSetAside) -> None:
        self._validate(lambda s, now: check_set_aside_referral(s, change, now))

    def _referral(self, referral_id: str) -> ReferralRecord:
        return next(r for r in self._state.referrals if r.id == referral_id)

    # -- query and signal ---------------------------------------------------------------------

    @workflow.query
    def state(self) -> CaseState:
        return self._state

    @workflow.signal
    def referral_report(self, report: ReferralReport) -> None:
        """From a referral child (by workflow id, so it reaches whichever run is current). A
        report the case cannot take is logged and dropped: the child keeps the facts, and a
        failing signal handler would wedge the case."""
        with contextlib.suppress(ApplicationError):
            self._apply(
                guarded(
                    "referral_report",
                    lambda: on_referral_report(self._state, report, clock_now(self._clocks)),
                )
            )

    # -- update plumbing ----------------------------------------------------------------------

    def _validate(self, check: Check, access: Access = case_access) -> None:
        """Refuse before history. A repeated update id passes: its handler answers it."""
        if self._repeated_id() is None:
            self._check(check, access)

    def _check(self, check: Check, access: Access = case_access) -> None:
        """Raise the refusal of `check` (or of the update's actor), if any; an unexpected
        error in it refuses too."""
        allowed = _allowed(current_actor(), check, access)
        rejection = guarded(_action(), lambda: allowed(self._state, clock_now(self._clocks)))
        if rejection is not None:
            raise rejected(rejection)

    def _repeated_id(self) -> str | None:
        info = workflow.current_update_info()
        if info is not None and info.id in self._state.recent_updates:
            return info.id
        return None

    def _earlier_answer(self) -> ActionResult | None:
        """Every handler starts here. The first answer to this update id if it was handled
        already, maybe in an earlier run (Temporal dedupes update ids only within one run)."""
        self._updates_this_run += 1  # repeats count too: the server's cap counts every update
        repeated = self._repeated_id()
        return self._state.recent_updates[repeated] if repeated is not None else None

    def _act(self, act: Act, access: Access = case_access) -> ActionResult:
        """An action without an activity: answered at once, or from memory if repeated."""
        if answer := self._earlier_answer():
            return answer
        return self._commit(act, access)

    def _commit(self, act: Act, access: Access = case_access) -> ActionResult:
        """Apply one action and remember its answer under the update id. Nothing is applied
        unless all of it worked (workflows/guard.py). The actor is checked once more: the
        case may have moved to another centre while the handler waited."""
        allowed = _allowed(current_actor(), act, access)
        outcome, result = guarded(_action(), lambda: self._outcome(allowed))
        self._apply(outcome)
        return result

    def _outcome(self, act: Act) -> tuple[CaseState, ActionResult]:
        outcome = act(self._state, clock_now(self._clocks))
        if not isinstance(outcome, CaseState):
            raise rejected(outcome)
        result = action_result(outcome)
        info = workflow.current_update_info()
        if info is not None:
            outcome = remember_update(outcome, info.id, result)
        return outcome, result

    def _apply(self, state: CaseState) -> None:
        if state is not self._state:
            self._state = state
            calls.upsert_search_attributes(state, self._search_attributes)

    # -- the run loop's work ------------------------------------------------------------------

    async def _contained(self, step: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run one step of the loop. When it fails unexpectedly, log it (ids and the error's
        type only) and wait before the loop tries again, instead of failing the workflow task
        for ever (workflows/guard.py): updates are still answered meanwhile."""
        try:
            await work()
        except workflow.NondeterminismError:
            raise
        except Exception as error:
            if not (isinstance(error, ApplicationError) and error.type == UNPROCESSABLE):
                workflow.logger.error("Case step %s failed (%s)", step, type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._state.stage is Stage.CLOSED, timeout=RETRY_AFTER_FAILURE
                )

    async def _fire_clocks(self) -> None:
        self._apply(
            guarded(
                "on_clock",
                lambda: on_clock(
                    self._state, clock_now(self._clocks), self._clocks, remind=self._review_reminder
                ),
            )
        )

    def _run_is_done(self) -> bool:
        events = self._state.next_sequence - self._first_sequence
        return (
            self._review_recorded
            or workflow.info().is_continue_as_new_suggested()
            or events + self._updates_this_run >= self._clocks.max_events_per_run
        )

    def _may_continue_as_new(self, notices_first: bool) -> bool:
        if not workflow.all_handlers_finished():
            return False
        if not self._projecting:
            return True
        caught_up = self._projection.caught_up() or self._projection.stalled
        return caught_up and self._notices_started(notices_first)

    def _notices_started(self, notices_first: bool) -> bool:
        """Behind the patch: no notice start under way (a child not started when its parent's
        run ends is never started)."""
        return not (notices_first and self._projection.telling)

    def _has_work(self) -> bool:
        state = self._state
        return (
            state.stage is Stage.CLOSED
            or (not self._projecting and state.emitted_through < state.last_sequence)
            or bool(referrals_to_start(state) or referrals_to_reroute(state))
            or self._run_is_done()
        )

    def _next_deadline(self) -> datetime | None:
        return next_deadline(self._state, self._clocks, remind=self._review_reminder)

    async def _sleep_until_next_deadline(self) -> None:
        deadline = self._next_deadline()
        timeout = None if deadline is None else deadline - clock_now(self._clocks)
        if timeout is not None and timeout <= timedelta(0):
            return

        def woken() -> bool:
            # A handler that moved a deadline wakes the loop, which sleeps anew until it. (A
            # run from before the projection loop woke for the events every such change
            # records, to project them.)
            moved = self._projecting and self._next_deadline() != deadline
            return moved or self._has_work()

        # A timeout is the deadline passing, not an error: the caller fires what is due.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(woken, timeout=timeout)

    async def _settle(self) -> None:
        """Hand declined referrals on, start new children, and (in a run from before the
        projection loop) bring the read model up to date. Each step records its result on the
        state as it is then: handlers may have changed it while the step waited."""
        for referral in referrals_to_reroute(self._state):
            choice = await calls.next_partner(self._state, referral)
            now = clock_now(self._clocks)
            self._apply(
                guarded(
                    "reroute",
                    _reading_calendars(
                        partial(
                            reroute,
                            self._state,
                            referral.id,
                            choice.partner_id,
                            choice.unassigned_reason,
                            now,
                            self._clocks,
                        )
                    ),
                )
            )
        starting = referrals_to_start(self._state)
        if len(starting) > 1 and workflow.patched(PARALLEL_REFERRAL_STARTS):
            # One workflow task starts them all: the partners see them a round trip apiece
            # sooner, and the case needs fewer tasks.
            await asyncio.gather(
                *(calls.start_referral(self._state, r, self._clocks) for r in starting)
            )
            for referral in starting:
                self._apply(guarded("start", partial(mark_started, self._state, referral.id)))
        else:
            for referral in starting:
                await calls.start_referral(self._state, referral, self._clocks)
                self._apply(guarded("start", partial(mark_started, self._state, referral.id)))
        while not self._projecting and self._state.emitted_through < self._state.last_sequence:
            last = await calls.emit_events(self._state)
            self._apply(after_projection(self._state, last))
