"""One demo case played as far as it goes (worker/demo_cases.py), step by step, through the
application layer the API uses: the case is opened by `api.casework.open_case`, the function
behind `POST /cases`, and moved on with the typed updates the routes send
(`Gateway.update_case`, `Gateway.update_referral`), the demo counsellor or partner as the actor.

Each step is taken only when the case's state says it has not happened, and its update id is
the step's (`demo-<key>-<step>`), so a step sent twice is answered, not done twice: a run that
stopped halfway goes on where the case is. Nothing here reads the clock but the caller's
`today`, and nothing here logs.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import HTTPException
from sqlalchemy import Engine

from api.casework import open_case
from api.deps import actor_of
from api.gateway import Gateway
from domain.actions import AgreementDraft, CaseOpen, DraftGoal, DraftMeasure, Review, Signature
from domain.case import (
    CaseState,
    GoalProgress,
    GoalStatus,
    ReferralRecord,
    Responsible,
    Stage,
)
from domain.needs import Assessment
from domain.referral import DeclineReason, ProgressNote, ReferralStatus
from domain.stages_referral import referrals_to_reroute, referrals_to_start
from store.models import User
from worker.demo_cases import DemoCase, PartnerPlan
from workflows.agreement import AgreementWorkflow
from workflows.referral import ReferralWorkflow

POLL_SECONDS = 0.1
# How long one case may take to settle (children started, a report heard), and how long a step
# is sent again while the answer is 503 or 429, before the attempt gives up (worker/demo.py
# tries again).
SETTLE_TIMEOUT_SECONDS = 60.0
RETRY_SECONDS = 1.0

ORDER = list(Stage)


@dataclass(frozen=True)
class Opening:
    """What `api.casework.open_case` works with (the API passes its `Services`)."""

    engine: Engine
    gateway: Gateway


class DemoPlayer:
    """Takes one demo case at a time as far as it goes, step by step."""

    def __init__(self, opening: Opening, users: dict[str, User], today: date) -> None:
        self._opening = opening
        self._gateway = opening.gateway
        self._users = users
        self._today = today

    async def play(self, case: DemoCase) -> None:
        counsellor = self._users[case.counsellor]
        opened = await open_case(
            self._opening,
            counsellor,
            CaseOpen(client=case.client),
            f"demo-{case.key}",
            clocks=case.clocks,
        )
        case_id = opened.case_id
        actor = actor_of(counsellor)

        async def update(step: str, command: Any, *arg: object) -> None:
            # As the routes send them; the update id is the step's, so a repeat is answered
            # from the case's memory instead of acting twice.
            key = f"demo-{case.key}-{step}"
            await _retrying(
                lambda: self._gateway.update_case(case_id, command, *arg, key=key, actor=actor)
            )

        while (step := self._next_step(case, await self._settled(case_id), update)) is not None:
            await step
        if case.partners and _reaches(case, Stage.ACTIVE):
            await self._partners_act(case, case_id)
        await self._review_and_close(case, case_id, update)

    def _next_step(
        self,
        case: DemoCase,
        state: CaseState,
        update: Callable[..., Awaitable[None]],
    ) -> Awaitable[None] | None:
        """The counsellor's next step up to signing, or None when the case is as far as it
        goes (or further: a person may have moved it on)."""
        stage = state.stage
        if not _reaches(case, _after(stage)) and stage is not Stage.AWAITING_SIGNATURE:
            return None
        if stage is Stage.INTAKE and case.intake is not None:
            return update("intake", AgreementWorkflow.complete_intake, case.intake(self._today))
        if stage is Stage.ASSESSMENT and case.needs:
            assessment = Assessment(needs=list(case.needs))
            return update("assessment", AgreementWorkflow.complete_assessment, assessment)
        if stage is Stage.DRAFTING and case.goals:
            if not state.goals:
                return update("draft", AgreementWorkflow.draft_agreement, _draft(case, state))
            return update("signature-request", AgreementWorkflow.request_signature)
        if stage is Stage.AWAITING_SIGNATURE and state.document is not None:
            version = state.document.version
            signed = {s.party for s in state.signatures if s.version == version}
            for party in case.signed_by:
                if party not in signed:
                    signature = Signature(party=party, document_hash=state.document.hash)
                    return update(f"sign-{party.value}", AgreementWorkflow.sign, signature)
        return None

    async def _partners_act(self, case: DemoCase, case_id: str) -> None:
        """Each partner's steps on its referral, then wait until the case has heard them."""
        state = await self._settled(case_id)
        expected: dict[str, ReferralStatus] = {}
        for plan in case.partners:
            referral = _referral_of(state, plan)
            if referral is None:
                continue
            partner = self._users[f"partner:{referral.partner_id}"]
            final = await self._partner_steps(case, plan, referral, partner)
            if final is not None:
                expected[referral.id] = final
        if expected:
            await self._until(case_id, lambda s: _heard(s, expected))

    async def _partner_steps(
        self, case: DemoCase, plan: PartnerPlan, referral: ReferralRecord, partner: User
    ) -> ReferralStatus | None:
        """Acknowledge, report and complete, or decline, from the referral's status on; the
        status the case should then show (None: nothing to do)."""
        actor = actor_of(partner)
        status = referral.status

        async def send(step: str, command: Any, *arg: object) -> None:
            key = f"demo-{case.key}-{plan.kind.value}-{step}"
            await _retrying(
                lambda: self._gateway.update_referral(
                    referral.id, command, *arg, key=key, actor=actor
                )
            )

        if status is ReferralStatus.DISPATCHED and plan.decline is not None:
            await send("decline", ReferralWorkflow.decline, DeclineReason(reason=plan.decline))
            return ReferralStatus.DECLINED
        if not plan.acknowledge or status not in (
            ReferralStatus.DISPATCHED,
            ReferralStatus.ACKNOWLEDGED,
        ):
            return None
        if status is ReferralStatus.DISPATCHED:
            await send("ack", ReferralWorkflow.acknowledge)
        if plan.progress is not None:
            await send(
                "progress", ReferralWorkflow.report_progress, ProgressNote(note=plan.progress)
            )
        if plan.outcome is not None:
            await send("complete", ReferralWorkflow.complete, plan.outcome)
            return ReferralStatus.COMPLETED
        return ReferralStatus.ACKNOWLEDGED

    async def _review_and_close(
        self, case: DemoCase, case_id: str, update: Callable[..., Awaitable[None]]
    ) -> None:
        state = await self._settled(case_id)
        if state.stage is not Stage.ACTIVE:
            return
        if case.review is not None and any(g.status is GoalStatus.OPEN for g in state.goals):
            review = Review(
                goal_progress=[
                    GoalProgress(goal_id=goal.id, status=GoalStatus.ACHIEVED)
                    for goal in state.goals
                ],
                survey=case.review,
            )
            await update("review", AgreementWorkflow.record_review, review)
        if case.closure is not None and case.stage is Stage.CLOSED:
            await update("close", AgreementWorkflow.close, case.closure)

    async def _settled(self, case_id: str) -> CaseState:
        """The case once the children its last step dispatched are started and a declined
        referral is handed on."""
        return await self._until(
            case_id, lambda s: not referrals_to_start(s) and not referrals_to_reroute(s)
        )

    async def _until(self, case_id: str, ready: Callable[[CaseState], bool]) -> CaseState:
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        while True:
            try:
                state = await self._gateway.case_state(case_id)
            except HTTPException as error:
                # 503 while the worker is still starting: ask again.
                if error.status_code != 503 or time.monotonic() > deadline:
                    raise
            else:
                if ready(state):
                    return state
                if time.monotonic() > deadline:
                    raise TimeoutError("demo case did not settle")
            await asyncio.sleep(POLL_SECONDS)


async def _retrying(call: Callable[[], Awaitable[object]]) -> None:
    """`call`, again while the answer is 503 (the worker still starting, a busy machine) or 429
    (too many updates in flight), up to `SETTLE_TIMEOUT_SECONDS`. Safe to repeat: every call
    carries its step's update id, and a repeated id is answered, not acted on twice."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    while True:
        try:
            await call()
            return
        except HTTPException as error:
            if error.status_code not in (429, 503) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(RETRY_SECONDS)


def _after(stage: Stage) -> Stage:
    return ORDER[min(ORDER.index(stage) + 1, len(ORDER) - 1)]


def _reaches(case: DemoCase, stage: Stage) -> bool:
    return ORDER.index(case.stage) >= ORDER.index(stage)


def _draft(case: DemoCase, state: CaseState) -> AgreementDraft:
    """The case's goals, its own measures, and a partner measure for each planned partner kind
    the routing proposed with a partner."""
    measures = [DraftMeasure(text=text, responsible=who) for who, text in case.own_measures]
    for plan in case.partners:
        route = next(
            (r for r in state.routes if r.actor is plan.kind and r.partner_id is not None), None
        )
        if route is not None:
            measures.append(
                DraftMeasure(text=plan.measure, responsible=Responsible.PARTNER, route_id=route.id)
            )
    return AgreementDraft(goals=[DraftGoal(text=text) for text in case.goals], measures=measures)


def _referral_of(state: CaseState, plan: PartnerPlan) -> ReferralRecord | None:
    """The latest referral of the route of the plan's partner kind."""
    kinds = {route.id: route.actor for route in state.routes}
    found = [r for r in state.referrals if kinds.get(r.route_id) is plan.kind]
    return found[-1] if found else None


def _heard(state: CaseState, expected: dict[str, ReferralStatus]) -> bool:
    """The case knows each referral's new status (and has handed a declined one on)."""
    statuses = {r.id: r for r in state.referrals}
    return all(
        (referral := statuses.get(referral_id)) is not None
        and referral.status is status
        and not referral.awaiting_reroute
        for referral_id, status in expected.items()
    )
