"""The demo cases of `lotse up`, played through the workflows on its dev server.

A fresh data dir gets the demo directory and accounts (store/seed.py) and, right after the
server is up, the cases of worker/demo_cases.py, played in the background as people would:
each counsellor opens her cases through the same function the API's `POST /cases` calls
(`api.casework.open_case`) and takes them as far as the case says with the same typed updates
the routes send (`Gateway.update_case`, `Gateway.update_referral`, with the demo user as the
actor); the partners acknowledge, report, complete or decline their referrals the same way.
The read model, the lists and the evaluation follow from the workflows' own projection;
nothing here writes the store but the audit line `open_case` writes for every case.

Idempotent and resumable: a case's id comes from its key (`case_id_for`, as a retried
`POST /cases` with the same Idempotency-Key), each step's update id from the key and the step,
and each step is taken only when the case's state says it has not happened. `lotse up` marks a
freshly seeded data dir with `PENDING` and removes the mark once every case is played, so a
start interrupted halfway finishes the cases next time, and later starts create nothing.

Never in production: `play_demo_cases` refuses there, as `seed_demo` does, and `lotse up`
refuses to run there at all. Logs name no client: counts and error types only.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.casework import open_case
from api.deps import actor_of
from api.gateway import Gateway
from app.settings import Settings
from domain.actions import AgreementDraft, CaseOpen, DraftGoal, DraftMeasure, Review, Signature
from domain.case import (
    CaseState,
    GoalProgress,
    GoalStatus,
    ReferralRecord,
    Responsible,
    Stage,
)
from domain.months import german_day
from domain.needs import Assessment
from domain.referral import DeclineReason, ProgressNote, ReferralStatus
from domain.stages_referral import referrals_to_reroute, referrals_to_start
from store.db import make_engine
from store.models import User
from store.seed import PRODUCTION, SeedRefused
from worker.demo_cases import DEMO_CASES, DemoCase, PartnerPlan
from workflows.agreement import AgreementWorkflow
from workflows.referral import ReferralWorkflow

log = logging.getLogger(__name__)

PENDING = "demo-cases.pending"  # in the data dir, beside the dev server's database
POLL_SECONDS = 0.1
# How long one case may take to settle (children started, a report heard) before the run gives
# up; the next start tries again.
SETTLE_TIMEOUT_SECONDS = 60.0
RETRY_SECONDS = 1.0
ATTEMPTS = 3
PAUSE_BETWEEN_ATTEMPTS_SECONDS = 10.0

ORDER = list(Stage)


@dataclass(frozen=True)
class DemoPlayed:
    cases: int
    seconds: float


@dataclass(frozen=True)
class _Opening:
    """What `api.casework.open_case` works with (the API passes its `Services`)."""

    engine: Engine
    gateway: Gateway


def mark_pending(data_dir: Path) -> None:
    (data_dir / PENDING).touch()


def is_pending(data_dir: Path) -> bool:
    return (data_dir / PENDING).exists()


async def play_pending(
    settings: Settings, on_done: Callable[[DemoPlayed], None] | None = None
) -> DemoPlayed | None:
    """Play the demo cases if the data dir is marked for them, then remove the mark. A failed
    attempt (a machine so busy that the rules' evaluator times out, say) is logged with its
    type and tried again, each attempt going on from where the cases are; after the last one
    the mark stays and the next start goes on. Never a reason to stop `lotse up`."""
    if not is_pending(settings.data_dir):
        return None
    started = time.monotonic()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            played = await play_demo_cases(settings)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("Demo cases: attempt %d of %d failed (%s)", attempt, ATTEMPTS, _kind(error))
            await asyncio.sleep(PAUSE_BETWEEN_ATTEMPTS_SECONDS)
            continue
        (settings.data_dir / PENDING).unlink(missing_ok=True)
        played = DemoPlayed(played.cases, time.monotonic() - started)
        if on_done is not None:
            on_done(played)
        return played
    log.warning("Demo cases not finished; the next start goes on with them")
    return None


def _kind(error: Exception) -> str:
    """What went wrong, without the message (a refusal's text may quote input)."""
    if isinstance(error, HTTPException):
        return f"HTTP {error.status_code}"
    return type(error).__name__


async def play_demo_cases(settings: Settings, *, today: date | None = None) -> DemoPlayed:
    """Play every demo case to its stage on the Temporal server and store of `settings`."""
    if settings.env.strip().lower() == PRODUCTION:
        raise SeedRefused("demo cases are never created in production")
    started = time.monotonic()
    engine = make_engine(settings.database_url, settings.data_dir)
    try:
        users = await asyncio.to_thread(_demo_users, engine)
        player = _Player(_Opening(engine, Gateway(settings)), users, today or _today())
        # The cases whose deadline is the point first: their clocks start soonest. One after
        # the other: the people using Lotse meanwhile share the machine (often two cores) and
        # the rules' two evaluator processes with them. A case that fails does not keep the
        # others from being played; the first failure is raised after all had their turn.
        failures: list[Exception] = []
        for case in sorted(DEMO_CASES, key=lambda case: case.clocks is None):
            try:
                await player.play(case)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures.append(error)
        if failures:
            raise failures[0]
    finally:
        engine.dispose()
    return DemoPlayed(len(DEMO_CASES), time.monotonic() - started)


def _today() -> date:
    return german_day(datetime.now(UTC))


def _demo_users(engine: Engine) -> dict[str, User]:
    """The counsellors of the demo cases and every partner account, by username and by
    partner id (`partner:<id>`)."""
    with Session(engine) as session:
        found: dict[str, User] = {}
        for user in session.exec(select(User)):
            found[user.username] = user
            if user.partner_id is not None:
                found[f"partner:{user.partner_id}"] = user
        return found


class _Player:
    """Takes one demo case at a time as far as it goes, step by step."""

    def __init__(self, opening: _Opening, users: dict[str, User], today: date) -> None:
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
