"""The `core` engine: the workflows' logic without Temporal, in a discrete-event loop.

Each case and referral is its state (`CaseState`, `ReferralState`) and the same pure functions
of `domain/` the workflows call; this module is the shell around them that Temporal and
workflows/agreement.py and workflows/referral.py are in production, step for step:

- an update checks the actor and the stage (`check_*`), runs its activity (routing by the
  municipality's rules, rendering and archiving the document, choosing a partner) through the
  same code the activities run, and applies the stage function;
- after every step the case settles as its run loop does: declined or expired referrals are
  handed on (`resolve_partner`), new referrals start (`open_referral`), and the new events
  go to the read model through the projector (`SqlCaseEventSink`), then the state is compacted;
- clocks are the same deadlines (`next_deadline`, `next_clock`), kept in a heap and fired in
  time order by `advance_to`; a referral's clock reports to its case as its signal does.

What it leaves out does not touch a case's events: continue-as-new, update ids remembered
for repeats, search attributes, and the notices (the temporal engine sends them). The
differential test (tests/simulate/test_engines_agree.py) holds the two engines to the same
event streams and the same evaluation.
"""

import heapq
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.case import CaseActivities, PartnerChoice, ResolvePartnerInput, RouteNeedsInput
from domain.actions import RenderedDocument
from domain.actor import (
    Actor,
    case_access,
    is_coordination,
    reassign_access,
    referral_change_access,
    task_role,
)
from domain.case import ActionResult, AgreementInput, CaseEventKind, CaseState, Stage
from domain.case_log import action_result
from domain.clocks import Clocks
from domain.compaction import after_projection
from domain.months import german_day
from domain.needs import Need, RoutingResult
from domain.referral import CLOSED, OPEN, ReferralReport, ReferralState, ReportKind
from domain.referral_stages import (
    CLOCK_REPORTS,
    NumberedNote,
    acknowledge,
    check_acknowledge,
    check_complete,
    check_decline,
    check_report_progress,
    complete,
    decline,
    keep_note,
    next_clock,
    number_note,
    on_clock,
    open_referral,
)
from domain.rejections import Rejection
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
from domain.stages_clock import next_deadline
from domain.stages_clock import on_clock as on_case_clock
from domain.stages_draft import check_draft_agreement, draft_agreement
from domain.stages_referral import (
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
from domain.stages_withdrawal import (
    check_reroute_referral,
    check_set_aside_referral,
    check_withdraw_referral,
    reroute_referral,
    set_aside_referral,
    withdraw_referral,
)
from simulate.engine import Command, Refused
from simulate.routing import RunEvaluators
from store.directory import SqlDirectory
from store.projector import SqlCaseEventSink
from store.rule_sets import SqlRuleSets
from workflows.agreement import AgreementWorkflow
from workflows.agreement_calls import document_input, next_batch
from workflows.referral import ReferralWorkflow

ROUTING_ATTEMPTS = 5
# How many cases may wait for their projection before routing projects them all.
WAITING_CASES = 200
# The events that change a partner's count of open referrals in the read model.
_REFERRAL_STATUS_KINDS = frozenset(
    {
        CaseEventKind.REFERRAL_DISPATCHED,
        CaseEventKind.REFERRAL_STATUS_CHANGED,
        CaseEventKind.REFERRAL_WITHDRAWN,
    }
)
STATUS_OF = {"WrongStage": 409, "WrongStatus": 409, "NotFound": 404}


def _refused(rejection: Any) -> Refused:
    return Refused(STATUS_OF.get(rejection.type, 422), rejection.message)


@dataclass
class _Referral:
    state: ReferralState
    cancelled: bool = False


@dataclass(order=True)
class _Clock:
    at: datetime
    order: int
    kind: str = field(compare=False)  # "case" or "referral"
    id: str = field(compare=False)


class CoreEngine:
    """All cases of one simulation, in memory, projected to the store of `engine`."""

    def __init__(self, store: Any, start: datetime, clocks: Clocks | None = None) -> None:
        self._directory = SqlDirectory(store)
        self._sink = SqlCaseEventSink(store)
        # The activities' own code, called without Temporal (their blocking bodies).
        rule_sets = RunEvaluators(rule_sets=SqlRuleSets(store))
        self._activities = CaseActivities(self._directory, self._sink, rule_sets)
        self._clocks = clocks or Clocks()
        self._now = start
        self._cases: dict[str, CaseState] = {}
        self._referrals: dict[str, _Referral] = {}
        self._heap: list[_Clock] = []
        self._order = 0
        # The deadline each entity waits for now: a heap entry that no longer matches is stale.
        self._waiting: dict[str, datetime | None] = {}
        self._unprojected: set[str] = set()
        # The unprojected cases with an event that changes a referral's status
        # (`_project_for_routing`), and how far each case's events have been looked at.
        self._routing_reads: set[str] = set()
        self._seen: dict[str, int] = {}

    async def now(self) -> datetime:
        return self._now

    # -- time --------------------------------------------------------------------------------

    async def advance_to(self, instant: datetime) -> None:
        while self._heap and self._heap[0].at <= instant:
            clock = heapq.heappop(self._heap)
            if self._waiting.get(clock.id) != clock.at:
                continue  # moved or fired meanwhile
            self._now = max(self._now, clock.at)
            if clock.kind == "case":
                self._fire_case(clock.id)
            else:
                self._fire_referral(clock.id)
        self._now = max(self._now, instant)

    def _schedule(self, kind: str, id: str, at: datetime | None) -> None:
        if self._waiting.get(id) == at:
            return
        self._waiting[id] = at
        if at is not None:
            self._order += 1
            heapq.heappush(self._heap, _Clock(at, self._order, kind, id))

    def _fire_case(self, case_id: str) -> None:
        state = self._cases[case_id]
        self._waiting[case_id] = None
        self._set(case_id, on_case_clock(state, self._now, self._clocks, remind=True))

    def _fire_referral(self, referral_id: str) -> None:
        referral = self._referrals[referral_id]
        self._waiting[referral_id] = None
        due = next_clock(referral.state)
        if referral.cancelled or due is None:
            return
        clock, _ = due
        fired = on_clock(referral.state, clock, self._now)
        if fired is referral.state:
            return
        referral.state = fired
        self._report(referral, CLOCK_REPORTS[clock])
        self._schedule_referral(referral_id)

    # -- cases -------------------------------------------------------------------------------

    async def open_case(self, input: AgreementInput) -> None:
        if input.case_id in self._cases:
            return
        state = open_case(
            case_id=input.case_id,
            municipality_id=input.municipality_id,
            centre_id=input.centre_id,
            centre_kind=input.centre_kind,
            counsellor_id=input.counsellor_id,
            land=input.land,
            client=input.client,
            now=self._now,
        )
        self._set(input.case_id, state)

    async def settled_state(self, case_id: str) -> CaseState:
        return self._cases[case_id]

    async def update_case(
        self, case_id: str, command: Command, arg: object, actor: Actor
    ) -> ActionResult:
        state = self._cases.get(case_id)
        if state is None:
            raise Refused(404, "Nicht gefunden.")
        name = command.__name__
        # The payload of the workflow's update of that name (the gateway's overloads type it).
        payload: Any = arg
        now = self._now
        coordination = is_coordination(actor)
        access = case_access
        check: Any
        act: Any
        cancel: str | None = None
        if command == AgreementWorkflow.complete_intake:
            check = lambda s: check_complete_intake(s, payload, now)  # noqa: E731
            act = lambda s: complete_intake(s, payload, now, self._clocks)  # noqa: E731
        elif command == AgreementWorkflow.complete_assessment:
            check = lambda s: check_complete_assessment(s, payload, now)  # noqa: E731
            act = lambda s: complete_assessment(  # noqa: E731
                s, payload, self._route(s, payload.needs), now
            )
        elif command == AgreementWorkflow.draft_agreement:
            check = lambda s: check_draft_agreement(s, payload, now)  # noqa: E731
            act = lambda s: draft_agreement(s, payload, now)  # noqa: E731
        elif command == AgreementWorkflow.request_signature:
            check = lambda s: check_request_signature(s, now)  # noqa: E731
            act = lambda s: request_signature(s, self._render(s), now)  # noqa: E731
        elif command == AgreementWorkflow.sign:
            check = lambda s: check_sign(s, payload, now)  # noqa: E731
            act = lambda s: sign(s, payload, now, self._clocks)  # noqa: E731
        elif command == AgreementWorkflow.record_review:
            check = lambda s: check_record_review(s, payload, now, self._clocks)  # noqa: E731
            act = lambda s: record_review(  # noqa: E731
                s,
                payload,
                self._route(s, payload.new_needs) if payload.new_needs else None,
                now,
                self._clocks,
            )
        elif command == AgreementWorkflow.close:
            check = lambda s: check_close(s, payload, now)  # noqa: E731
            act = lambda s: close(s, payload, now)  # noqa: E731
        elif command == AgreementWorkflow.transfer:
            check = lambda s: check_transfer(s, payload, now)  # noqa: E731
            act = lambda s: transfer(s, payload, now)  # noqa: E731
        elif command == AgreementWorkflow.reassign:
            access = reassign_access
            check = lambda s: check_reassign(s, payload, now, coordination=coordination)  # noqa: E731
            act = lambda s: reassign(s, payload, now, coordination=coordination)  # noqa: E731
        elif command == AgreementWorkflow.complete_task:
            by = task_role(actor)
            check = lambda s: check_complete_task(s, payload, now, by)  # noqa: E731
            act = lambda s: complete_task(s, payload, now, by)  # noqa: E731
        elif command == AgreementWorkflow.set_aside_referral:
            check = lambda s: check_set_aside_referral(s, payload, now)  # noqa: E731
            act = lambda s: set_aside_referral(s, payload, now)  # noqa: E731
        elif command == AgreementWorkflow.withdraw_referral:
            access = referral_change_access
            check = lambda s: check_withdraw_referral(  # noqa: E731
                s, payload, now, coordination=coordination
            )
            act = lambda s: withdraw_referral(s, payload, now, coordination=coordination)  # noqa: E731
            cancel = payload.referral_id
        elif command == AgreementWorkflow.reroute_referral:
            access = referral_change_access
            check = lambda s: check_reroute_referral(  # noqa: E731
                s, payload, now, coordination=coordination
            )
            act = lambda s: reroute_referral(  # noqa: E731
                s, payload, payload.partner_id, now, self._clocks, coordination=coordination
            )
            cancel = payload.referral_id
        else:
            raise ValueError(f"no such case command: {name}")
        refused = access(state, actor) or check(state)
        if refused is not None:
            raise _refused(refused)
        outcome = act(state)
        if not isinstance(outcome, CaseState):
            raise _refused(outcome)
        if cancel is not None:
            # As the workflow does once the update has committed: the child ends.
            was_open = next(r for r in state.referrals if r.id == cancel).status in OPEN
            if was_open and cancel in self._referrals:
                self._referrals[cancel].cancelled = True
                self._waiting[cancel] = None
        self._set(case_id, outcome)
        if outcome.stage is Stage.CLOSED:
            for referral in outcome.referrals:
                child = self._referrals.get(referral.id)
                if child is not None and referral.status in OPEN:
                    child.cancelled = True
                    self._waiting[referral.id] = None
        return action_result(self._cases[case_id])

    def _set(self, case_id: str, state: CaseState) -> None:
        """The case's new state, settled as its run loop would settle it."""
        self._cases[case_id] = state
        self._settle(case_id)
        state = self._cases[case_id]
        self._schedule("case", case_id, next_deadline(state, self._clocks, remind=True))

    def _settle(self, case_id: str) -> None:
        state = self._cases[case_id]
        for referral in referrals_to_reroute(state):
            choice = self._next_partner(state, referral.id)
            state = reroute(
                state,
                referral.id,
                choice.partner_id,
                choice.unassigned_reason,
                self._now,
                self._clocks,
            )
        for referral in referrals_to_start(state):
            opened = open_referral(referral_input(state, referral, self._clocks))
            if isinstance(opened, ReferralState):
                self._referrals[referral.id] = _Referral(opened)
                self._schedule_referral(referral.id)
            state = mark_started(state, referral.id)
        self._cases[case_id] = state
        self._unprojected.add(case_id)
        # Whether the case's new events change what routing reads (each event looked at once).
        new = (e for e in state.events if e.sequence > self._seen.get(case_id, 0))
        if any(event.kind in _REFERRAL_STATUS_KINDS for event in new):
            self._routing_reads.add(case_id)
        self._seen[case_id] = state.last_sequence

    def _project_for_routing(self) -> None:
        """What routing reads of the read model is each partner's count of open referrals
        (store/directory.py): bring the cases up to date there whose waiting events change a
        referral's status. The others wait for a later call (fewer, larger batches, the same
        rows), but not too many of them: a case carries its events until they are projected,
        and every step copies them."""
        if len(self._unprojected) > WAITING_CASES:
            self._project()
        else:
            self._project(set(self._routing_reads))

    def _project(self, case_ids: set[str] | None = None) -> None:
        """Bring the read model up to date with `case_ids` (None: every case), batch by batch
        as the projection loop cuts them, all in one transaction (the projector's bulk path)."""
        chosen = set(self._unprojected) if case_ids is None else case_ids
        batches = []
        for case_id in sorted(chosen):
            state = self._cases[case_id]
            while state.emitted_through < state.last_sequence:
                batch = next_batch(state)
                batches.append(batch)
                state = after_projection(state, batch.events[-1].sequence)
            self._cases[case_id] = state
        self._unprojected -= chosen
        self._routing_reads -= chosen
        if batches:
            self._sink.append_all(batches)

    async def finish(self) -> None:
        self._project()

    # -- activities, as the activities run them ---------------------------------------------

    def _route(self, state: CaseState, needs: list[Need]) -> RoutingResult:
        assert state.profile is not None
        input = RouteNeedsInput(
            case_id=state.id,
            municipality_id=state.municipality_id,
            centre_kind=state.centre_kind,
            profile=state.profile,
            needs=needs,
            today=german_day(self._now),
        )
        self._project_for_routing()
        for attempt in range(ROUTING_ATTEMPTS):
            try:
                return self._activities.routed(input)
            except ApplicationError as error:
                # What the activity's retry policy does: the pool has replaced the evaluator
                # process (on a busy machine one may miss its deadline), so try again.
                if error.non_retryable or attempt == ROUTING_ATTEMPTS - 1:
                    raise
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    def _render(self, state: CaseState) -> RenderedDocument:
        return self._activities.rendered(document_input(state, self._clocks))

    def _next_partner(self, state: CaseState, referral_id: str) -> PartnerChoice:
        referral = next(r for r in state.referrals if r.id == referral_id)
        route = next(r for r in state.routes if r.id == referral.route_id)
        self._project_for_routing()
        return self._activities.resolved(
            ResolvePartnerInput(
                case_id=state.id,
                referral_id=referral.id,
                municipality_id=state.municipality_id,
                route=route.as_route(),
                exclude_partner_ids=referral.tried_partner_ids,
            )
        )

    # -- referrals ---------------------------------------------------------------------------

    def _schedule_referral(self, referral_id: str) -> None:
        referral = self._referrals[referral_id]
        due = None if referral.cancelled else next_clock(referral.state)
        self._schedule("referral", referral_id, None if due is None else due[1])

    async def update_referral(
        self, referral_id: str, command: Command, arg: object, actor: Actor
    ) -> ReferralState:
        referral = self._referrals.get(referral_id)
        if referral is None:
            raise Refused(404, "Nicht gefunden.")
        state, now = referral.state, self._now
        payload: Any = arg
        if referral.cancelled or state.status in CLOSED:
            # A cancelled child is gone, like a finished one: the API answers 409.
            raise Refused(409, "Diese Vermittlung ist abgeschlossen.")
        note: str | None = None
        outcome_arg = None
        kind: ReportKind
        new: Any
        if command == ReferralWorkflow.acknowledge:
            rejection: Rejection | Any = check_acknowledge(state, actor=actor, update_id=None)
            new = acknowledge(state, now, actor=actor, update_id=None)
            kind = ReportKind.ACKNOWLEDGED
        elif command == ReferralWorkflow.decline:
            rejection = check_decline(state, payload, actor=actor, update_id=None)
            new = decline(state, payload, now, actor=actor, update_id=None)
            kind, note = ReportKind.DECLINED, payload.reason
        elif command == ReferralWorkflow.complete:
            rejection = check_complete(state, payload, actor=actor, update_id=None)
            new = complete(state, payload, now, actor=actor, update_id=None)
            kind, outcome_arg = ReportKind.COMPLETED, payload
        elif command == ReferralWorkflow.report_progress:
            rejection = check_report_progress(state, payload, actor=actor, update_id=None)
            if rejection is None:
                numbered = number_note(state, payload, now, actor=actor)
                if not isinstance(numbered, NumberedNote):
                    raise _refused(numbered)
                self._sink.append_referral_note(numbered.record)
                new = keep_note(state, numbered, update_id=None)
            kind, note = ReportKind.PROGRESS, payload.note
        else:
            raise ValueError(f"no such referral command: {command.__name__}")
        if rejection is not None:
            raise _refused(rejection)
        if not isinstance(new, ReferralState):
            raise _refused(new)
        referral.state = new
        self._report(referral, kind, outcome=outcome_arg, note=note)
        self._schedule_referral(referral_id)
        return new

    def _report(
        self,
        referral: _Referral,
        kind: ReportKind,
        *,
        outcome: Any = None,
        note: str | None = None,
    ) -> None:
        """The child's `referral_report` signal, taken by its case at once."""
        state = referral.state
        report = ReferralReport(
            referral_id=state.referral_id,
            route_id=state.route_id,
            partner_id=state.partner_id,
            kind=kind,
            at=self._now,
            outcome=outcome,
            note=note,
        )
        case = self._cases.get(state.case_id)
        if case is None:
            return
        self._set(state.case_id, on_referral_report(case, report, self._now))
