"""AgreementWorkflow: one integration agreement, from intake to closure, for as many years as
the case lives (workflow id `case-<uuid>`).

It reads like DESIGN.md's stage table: each counsellor action is an update whose validator asks
the pure stage machine (domain/stages*.py) and refuses before anything enters history; its
handler applies the same function and raises `ApplicationError` (type `WrongStage`, `Invalid`
or `Unavailable`) when the case moved on in between. Clocks are absolute deadlines in the
state; the run method sleeps until the earliest one (`wait_condition` with a timeout), fires
what is due, starts referral children, hands declined referrals on, sends events to the read
model, and continues-as-new after each review cycle, when Temporal suggests it, or after
`clocks.max_events_per_run` events and updates. No I/O, rules engine or clock of its own here.

Changing this workflow while cases run: every case is a running workflow, and a new worker
replays its history. A change that alters the commands (activities, timers, children,
search attributes) goes in behind a patch, so old histories replay the old way:

    if workflow.patched("review-reminder-email"):   # new code path
        await workflow.execute_activity_method(...)
    # later, once no run without the patch is left: workflow.deprecate_patch(...), then remove

and tests/test_replay.py replays the saved histories of tests/histories/ against the new code.
A change of the state model only adds fields with defaults (old states must still parse).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    WorkflowAlreadyStartedError,
)

with workflow.unsafe.imports_passed_through():
    from activities.agreement_text import AgreementDocumentInput
    from activities.case import (
        BACKGROUND_CALL,
        INTERACTIVE_CALL,
        CallOptions,
        CaseActivities,
        PartnerChoice,
        ResolvePartnerInput,
        RouteNeedsInput,
    )
    from activities.case_events import CaseEventBatch, CaseProjection
    from domain.actions import (
        AgreementDraft,
        Closure,
        Reassignment,
        RenderedDocument,
        Review,
        Signature,
        TaskDone,
        Transfer,
    )
    from domain.case import ActionResult, AgreementInput, CaseState, Stage
    from domain.case_log import action_result, remember_update
    from domain.months import german_day
    from domain.needs import Assessment, Need, RoutingResult
    from domain.profile import IntakeData
    from domain.referral import ReferralReport
    from domain.rejections import Invalid, Rejection
    from domain.stages import (
        check_complete_assessment,
        check_complete_intake,
        check_draft_agreement,
        check_request_signature,
        check_sign,
        complete_assessment,
        complete_intake,
        draft_agreement,
        open_case,
        request_signature,
        sign,
    )
    from domain.stages_clock import next_deadline, on_clock
    from domain.stages_referral import (
        OPEN,
        mark_started,
        on_referral_report,
        referral_input,
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

from workflows.referral import ReferralWorkflow

# Search attributes (DESIGN.md): ids, the stage and the review clock; never personal data.
CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
MUNICIPALITY_ID = SearchAttributeKey.for_keyword("MunicipalityId")
CENTRE_ID = SearchAttributeKey.for_keyword("CentreId")
COUNSELLOR_ID = SearchAttributeKey.for_keyword("CounsellorId")
NEXT_REVIEW_DUE = SearchAttributeKey.for_datetime("NextReviewDue")
REVIEW_OVERDUE = SearchAttributeKey.for_bool("ReviewOverdue")

# Events per read-model write: well below Temporal's payload limit, even for a case catching
# up after a long read-model outage.
EVENTS_PER_BATCH = 200

In = TypeVar("In")
Out = TypeVar("Out")
Check = Callable[[CaseState, datetime], Rejection | None]
Act = Callable[[CaseState, datetime], CaseState | Rejection]


def _rejected(rejection: Rejection) -> ApplicationError:
    """A refusal as the API reads it: the type says 409 or 422, an `Invalid`'s first detail
    names the field."""
    details = [rejection.field] if isinstance(rejection, Invalid) else []
    return ApplicationError(rejection.message, *details, type=rejection.type, non_retryable=True)


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
            now=workflow.now(),
        )
        # Handlers that wait for an activity take turns, so each decides on the state the
        # previous one left (the stage functions re-check anyway).
        self._lock = asyncio.Lock()
        self._first_sequence = self._state.next_sequence
        self._updates_this_run = 0
        self._review_recorded = False
        self._search_attributes: dict[str, Any] = {}

    @workflow.run
    async def run(self, input: AgreementInput) -> CaseState:
        if input.case_id != workflow.info().workflow_id:
            raise ApplicationError(
                f"case_id {input.case_id} is not the workflow id",
                type="Invalid",
                non_retryable=True,
            )
        self._sync_search_attributes()
        while self._state.stage is not Stage.CLOSED:
            await self._settle()
            if self._run_is_done():
                # Never leave an update half done: its caller would get no answer.
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._input.model_copy(update={"state": self._state}))
            await self._sleep_until_next_deadline()
            self._apply(on_clock(self._state, workflow.now(), self._clocks))
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._withdraw_open_referrals()
        await self._settle()
        return self._state

    # -- counsellor actions (updates) ---------------------------------------------------------

    @workflow.update
    async def complete_intake(self, data: IntakeData) -> ActionResult:
        return self._commit(lambda s, now: complete_intake(s, data, now, self._clocks))

    @complete_intake.validator
    def _validate_complete_intake(self, data: IntakeData) -> None:
        self._validate(lambda s, now: check_complete_intake(s, data, now))

    @workflow.update
    async def complete_assessment(self, assessment: Assessment) -> ActionResult:
        if (repeat := self._repeat()) is not None:
            return repeat
        async with self._lock:
            self._refuse(check_complete_assessment(self._state, assessment, workflow.now()))
            routing = await self._route(assessment.needs)
            return self._commit(lambda s, now: complete_assessment(s, assessment, routing, now))

    @complete_assessment.validator
    def _validate_complete_assessment(self, assessment: Assessment) -> None:
        self._validate(lambda s, now: check_complete_assessment(s, assessment, now))

    @workflow.update
    async def draft_agreement(self, draft: AgreementDraft) -> ActionResult:
        return self._commit(lambda s, now: draft_agreement(s, draft, now))

    @draft_agreement.validator
    def _validate_draft_agreement(self, draft: AgreementDraft) -> None:
        self._validate(lambda s, now: check_draft_agreement(s, draft, now))

    @workflow.update
    async def request_signature(self) -> ActionResult:
        if (repeat := self._repeat()) is not None:
            return repeat
        async with self._lock:
            self._refuse(check_request_signature(self._state, workflow.now()))
            document = await self._render()
            return self._commit(lambda s, now: request_signature(s, document, now))

    @request_signature.validator
    def _validate_request_signature(self) -> None:
        self._validate(lambda s, now: check_request_signature(s, now))

    @workflow.update
    async def sign(self, signature: Signature) -> ActionResult:
        return self._commit(lambda s, now: sign(s, signature, now, self._clocks))

    @sign.validator
    def _validate_sign(self, signature: Signature) -> None:
        self._validate(lambda s, now: check_sign(s, signature, now))

    @workflow.update
    async def record_review(self, review: Review) -> ActionResult:
        if (repeat := self._repeat()) is not None:
            return repeat
        async with self._lock:
            self._refuse(check_record_review(self._state, review, workflow.now(), self._clocks))
            routing = await self._route(review.new_needs) if review.new_needs else None
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
        return self._commit(lambda s, now: close(s, closure, now))

    @close.validator
    def _validate_close(self, closure: Closure) -> None:
        self._validate(lambda s, now: check_close(s, closure, now))

    @workflow.update
    async def reassign(self, change: Reassignment) -> ActionResult:
        return self._commit(lambda s, now: reassign(s, change, now))

    @reassign.validator
    def _validate_reassign(self, change: Reassignment) -> None:
        self._validate(lambda s, now: check_reassign(s, change, now))

    @workflow.update
    async def transfer(self, change: Transfer) -> ActionResult:
        return self._commit(lambda s, now: transfer(s, change, now))

    @transfer.validator
    def _validate_transfer(self, change: Transfer) -> None:
        self._validate(lambda s, now: check_transfer(s, change, now))

    @workflow.update
    async def complete_task(self, done: TaskDone) -> ActionResult:
        return self._commit(lambda s, now: complete_task(s, done, now))

    @complete_task.validator
    def _validate_complete_task(self, done: TaskDone) -> None:
        self._validate(lambda s, now: check_complete_task(s, done, now))

    # -- query and signal ---------------------------------------------------------------------

    @workflow.query
    def state(self) -> CaseState:
        return self._state

    @workflow.signal
    def referral_report(self, report: ReferralReport) -> None:
        """From a referral child (by workflow id, so it reaches whichever run is current)."""
        self._apply(on_referral_report(self._state, report, workflow.now()))

    # -- update plumbing ----------------------------------------------------------------------

    def _validate(self, check: Check) -> None:
        """Refuse before history. A repeated update id passes: its handler answers it."""
        if self._repeated_id() is None:
            self._refuse(check(self._state, workflow.now()))

    def _refuse(self, rejection: Rejection | None) -> None:
        if rejection is not None:
            raise _rejected(rejection)

    def _repeated_id(self) -> str | None:
        info = workflow.current_update_info()
        if info is not None and info.id in self._state.recent_updates:
            return info.id
        return None

    def _repeat(self) -> ActionResult | None:
        """The first answer to this update id, if it was handled already (maybe in an earlier
        run: Temporal dedupes update ids only within one run)."""
        repeated = self._repeated_id()
        return self._state.recent_updates[repeated] if repeated is not None else None

    def _commit(self, act: Act) -> ActionResult:
        """Apply one action and remember its answer under the update id."""
        if (repeat := self._repeat()) is not None:
            return repeat
        outcome = act(self._state, workflow.now())
        if not isinstance(outcome, CaseState):
            raise _rejected(outcome)
        self._updates_this_run += 1
        result = action_result(outcome)
        info = workflow.current_update_info()
        if info is not None:
            outcome = remember_update(outcome, info.id, result)
        self._apply(outcome)
        return result

    def _apply(self, state: CaseState) -> None:
        if state is not self._state:
            self._state = state
            self._sync_search_attributes()

    async def _route(self, needs: list[Need]) -> RoutingResult:
        profile = self._state.profile
        assert profile is not None  # the stage check guarantees a completed intake
        input = RouteNeedsInput(
            case_id=self._state.id,
            municipality_id=self._state.municipality_id,
            centre_kind=self._state.centre_kind,
            profile=profile,
            needs=needs,
            today=german_day(workflow.now()),
        )
        return await self._interactive(CaseActivities.route_needs, input)

    async def _render(self) -> RenderedDocument:
        state = self._state
        taken = {m.route_id for m in state.measures}
        input = AgreementDocumentInput(
            case_id=state.id,
            version=len(state.documents) + 1,
            municipality_id=state.municipality_id,
            centre_id=state.centre_id,
            centre_kind=state.centre_kind,
            client=state.client,
            goals=state.goals,
            measures=state.measures,
            routes=[route for route in state.routes if route.id in taken],
            next_review_due=state.next_review_due if state.stage is Stage.ACTIVE else None,
            first_review_months=self._clocks.first_review_months,
            max_review_interval_months=self._clocks.max_review_interval_months,
        )
        return await self._interactive(CaseActivities.render_agreement, input)

    async def _interactive(
        self, method: Callable[[CaseActivities, In], Awaitable[Out]], input: In
    ) -> Out:
        """An activity a counsellor waits for. Its failure fails the update (state unchanged):
        bad data as `Invalid`, an outage as `Unavailable` ("try again")."""
        try:
            return await _execute(method, input, INTERACTIVE_CALL)
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                raise ApplicationError(
                    cause.message, *cause.details, type=cause.type, non_retryable=True
                ) from err
            raise ApplicationError(
                "Der Dienst antwortet gerade nicht; bitte in einigen Minuten erneut versuchen. "
                "Der Fall ist unverändert.",
                type="Unavailable",
                non_retryable=True,
            ) from err

    # -- the run loop's work ------------------------------------------------------------------

    def _run_is_done(self) -> bool:
        events = self._state.next_sequence - self._first_sequence
        return (
            self._review_recorded
            or workflow.info().is_continue_as_new_suggested()
            or events + self._updates_this_run >= self._clocks.max_events_per_run
        )

    def _has_work(self) -> bool:
        state = self._state
        return (
            state.stage is Stage.CLOSED
            or state.emitted_through < state.last_sequence
            or bool(referrals_to_start(state) or referrals_to_reroute(state))
            or self._run_is_done()
        )

    async def _sleep_until_next_deadline(self) -> None:
        deadline = next_deadline(self._state, self._clocks)
        timeout = None if deadline is None else deadline - workflow.now()
        if timeout is not None and timeout <= timedelta(0):
            return
        # A timeout is the deadline passing, not an error: the caller fires it.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(self._has_work, timeout=timeout)

    async def _settle(self) -> None:
        """Hand on declined referrals, start new children, write the read model."""
        await self._reroute()
        await self._start_children()
        await self._emit_events()

    async def _reroute(self) -> None:
        for referral in referrals_to_reroute(self._state):
            route = next(r for r in self._state.routes if r.id == referral.route_id)
            input = ResolvePartnerInput(
                case_id=self._state.id,
                referral_id=referral.id,
                municipality_id=self._state.municipality_id,
                route=route.as_route(),
                exclude_partner_ids=referral.tried_partner_ids,
            )
            try:
                choice = await _execute(CaseActivities.resolve_partner, input, BACKGROUND_CALL)
            except ActivityError as err:
                workflow.logger.error("Re-routing %s failed: %s", referral.id, err.cause)
                choice = PartnerChoice(
                    partner_id=None,
                    unassigned_reason="Das Partnerverzeichnis lieferte keinen Partner.",
                )
            self._apply(
                reroute(
                    self._state,
                    referral.id,
                    choice.partner_id,
                    choice.unassigned_reason,
                    workflow.now(),
                )
            )

    async def _start_children(self) -> None:
        for referral in referrals_to_start(self._state):
            # Already started: an earlier attempt did it (the id is the referral's).
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await workflow.start_child_workflow(
                    ReferralWorkflow.run,
                    referral_input(self._state, referral, self._clocks),
                    id=referral.id,
                    # The default (TERMINATE) would also end every referral whenever this
                    # case continues as new.
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
            self._apply(mark_started(self._state, referral.id))

    async def _emit_events(self) -> None:
        while self._state.emitted_through < self._state.last_sequence:
            pending = [e for e in self._state.events if e.sequence > self._state.emitted_through]
            batch = CaseEventBatch(
                case=CaseProjection.of(self._state), events=pending[:EVENTS_PER_BATCH]
            )
            try:
                await _execute(CaseActivities.emit_case_events, batch, BACKGROUND_CALL)
            except ActivityError as err:
                # Only a non-retryable error ends the retries: a bug in the batch, not an
                # outage. Retrying it would block the case's clocks; the read model is a
                # projection that can be rebuilt from the workflow, so log and go on.
                workflow.logger.error("Case events not projected: %s", err.cause)
            last = batch.events[-1].sequence
            self._apply(self._state.model_copy(update={"emitted_through": last}))

    async def _withdraw_open_referrals(self) -> None:
        """The case is closed: open referrals stop (their children are cancelled)."""
        for referral in self._state.referrals:
            if referral.started and referral.status in OPEN:
                try:
                    await workflow.get_external_workflow_handle(referral.id).cancel()
                except FailureError as err:
                    workflow.logger.warning("Referral %s not cancelled: %s", referral.id, err)

    def _sync_search_attributes(self) -> None:
        """Upsert what changed since the last upsert (a new run upserts everything once)."""
        state = self._state
        wanted: list[tuple[SearchAttributeKey[Any], Any]] = [
            (CASE_STAGE, state.stage.value),
            (MUNICIPALITY_ID, state.municipality_id),
            (CENTRE_ID, state.centre_id),
            (COUNSELLOR_ID, state.counsellor_id),
            (NEXT_REVIEW_DUE, state.next_review_due),
            (REVIEW_OVERDUE, state.review_overdue),
        ]
        updates: list[SearchAttributeUpdate[Any]] = []
        for key, value in wanted:
            if key.name in self._search_attributes and self._search_attributes[key.name] == value:
                continue
            self._search_attributes[key.name] = value
            updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)


async def _execute(
    method: Callable[[CaseActivities, In], Awaitable[Out]], input: In, call: CallOptions
) -> Out:
    return await workflow.execute_activity_method(
        method,
        input,
        start_to_close_timeout=call.start_to_close,
        schedule_to_close_timeout=call.schedule_to_close,
        retry_policy=call.retry,
    )
