"""The simulation's driver: the people of the model project, acting on an engine.

An agenda (a heap of instants) holds what each counsellor, client and partner does next. The
driver lets the engine's time pass to the next entry (its clocks fire meanwhile: reminders,
escalations, expiries, reviews falling due), runs the entry, and plans what follows from the
answer. Everything a person decides is drawn from a random generator of its own, seeded by the
run's seed and the case's number or the referral's id, in a fixed order: the same seed gives
the same people, whichever engine plays them and however fast.

The behaviour model's parameters are `simulate/model_project.yaml` (docs/model-project.md):
cases open through the opening months, round the centres, some as a partner's referral to the
centre; some end before signing; the agreement is signed, its referrals go out; partners
acknowledge, decline or stay silent, and complete with an outcome; counsellors record reviews
on time, late or not at all, with the survey's two questions; agreements close with a reason.
Agreements are opened until more than `project.agreements * scale` of them will conclude.
"""

import asyncio
import heapq
import math
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import Engine as StoreEngine

from api.inbound import case_id_of
from domain.actions import AgreementDraft, Closure, DraftGoal, DraftMeasure, Review, Signature
from domain.actor import Actor, ActorRole
from domain.case import (
    AgreementInput,
    CaseState,
    ClosureReason,
    GoalProgress,
    Party,
    Responsible,
    Stage,
    Survey,
)
from domain.enums import ActorKind
from domain.inbound import InboundReferralRequest
from domain.labels import NEED_LABELS
from domain.months import add_months
from domain.needs import Assessment
from domain.referral import DeclineReason, Outcome, OutcomeResult, ProgressNote, ReferralStatus
from simulate.clients import Client, draw_client
from simulate.engine import Engine, Refused
from simulate.parameters import DayRange, Parameters
from simulate.sites import SimCentre, SimDirectory
from simulate.timing import (
    add_working,
    at_german,
    case_instants,
    german_date,
    placed,
)
from store import inbound as inbound_writes
from store.models import PartnerAgency
from workflows.agreement import AgreementWorkflow
from workflows.referral import ReferralWorkflow

# Times of day (German) each kind of step starts at, before `timing.placed` moves it clear.
OPENING = time(9, 10)
WORKING = time(10, 20)
PARTNER = time(13, 45)
REVIEWING = time(11, 35)
SPREAD_MINUTES = 240
# After a referral's expiry: look what the case did. Soon after, not placed clear of the case's
# instants (it only reads): see simulate/temporal_engine.py on the locks an expiry may leak.
LOOKING = timedelta(seconds=1)

Step = Callable[[], Awaitable[None]]


@dataclass(order=True)
class _Entry:
    at: datetime
    order: int
    step: Step = field(compare=False)


@dataclass
class Counts:
    """What the run did (the summary's figures)."""

    opened: int = 0
    concluded: int = 0
    ended_before_signing: int = 0
    closed: int = 0
    inbound: int = 0
    inbound_declined: int = 0
    referrals: int = 0
    acknowledged: int = 0
    declined: int = 0
    completed: int = 0
    reviews: int = 0
    reviews_missed: int = 0
    refused: int = 0
    refusals: dict[str, int] = field(default_factory=dict)  # "step:status" -> how many

    def refusal(self, step: str, refused: Refused) -> None:
        self.refused += 1
        key = f"{step}:{refused.status}"
        self.refusals[key] = self.refusals.get(key, 0) + 1


@dataclass(frozen=True)
class _Start:
    """How a case begins, decided when the run is planned (the target counts on it)."""

    ends_before_signing: Stage | None
    inbound: bool  # a partner's referral to the centre
    declined: bool  # ... which the centre declines: no case


@dataclass
class _Case:
    number: int
    id: str
    centre: SimCentre
    land: str
    counsellor: str
    client: Client
    rng: random.Random
    ends_before_signing: Stage | None
    reviews_before_close: int | None  # None: open at the project's end
    planned: set[str] = field(default_factory=set)  # referral ids with a partner plan
    reviews: int = 0
    state: CaseState | None = None


def _days(rng: random.Random, days: DayRange) -> int:
    return rng.randint(days.min, days.max)


def _spread(rng: random.Random) -> timedelta:
    """Minutes into the working day: people do not all act at the same minute, and clocks of
    two cases set at the same minute would fire at one instant, in an order Temporal leaves
    open (see simulate/timing.py)."""
    return timedelta(minutes=rng.randrange(0, SPREAD_MINUTES))


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[key] for key in keys])[0]


class Driver:
    def __init__(
        self,
        engine: Engine,
        store: StoreEngine,
        directory: SimDirectory,
        params: Parameters,
        *,
        seed: int,
        scale: float,
        on_step: Callable[[datetime, Counts], None] | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._directory = directory
        self._params = params
        self._seed = seed
        self.target = math.floor(params.project.agreements * scale) + 1 if scale > 0 else 0
        self._agenda: list[_Entry] = []
        self._order = 0
        self.on_step = on_step
        self._current = datetime.min
        self.counts = Counts()
        project = params.project
        self.start = at_german(project.start, time(0, 0))
        self.end = at_german(add_months(project.start, project.months), time(0, 0))
        self._opening_end = add_months(project.start, project.opening_months)
        self._partners = {
            p.id: PartnerAgency(
                id=p.id,
                name=p.name,
                kind=p.kind,
                municipality_id=p.municipality_id,
                measures=list(p.measures),
            )
            for p in directory.partners
        }

    # -- the agenda --------------------------------------------------------------------------

    def _at(self, instant: datetime, step: Step) -> None:
        if instant >= self.end:
            return  # after the project: nobody acts any more
        self._order += 1
        heapq.heappush(self._agenda, _Entry(instant, self._order, step))

    async def run(self) -> Counts:
        self._plan_arrivals()
        while self._agenda:
            entry = heapq.heappop(self._agenda)
            await self._engine.advance_to(entry.at)
            # Steps plan from the instant they were meant for, not from the engine's clock,
            # which in the temporal engine runs some milliseconds of real time ahead.
            self._current = entry.at
            await entry.step()
            # The core engine never waits: give the loop a turn, so Ctrl-C gets through.
            await asyncio.sleep(0)
            if self.on_step is not None:
                self.on_step(entry.at, self.counts)
        await self._engine.advance_to(self.end)
        await self._engine.finish()
        return self.counts

    # -- arrivals ----------------------------------------------------------------------------

    def _plan_arrivals(self) -> None:
        """Draw case after case until more than the target will conclude, then spread them
        evenly over the opening months, round the centres."""
        planned: list[tuple[int, random.Random, _Start]] = []
        concluding = 0
        number = 0
        intake = self._params.intake
        while concluding < self.target:
            rng = random.Random(f"{self._seed}:case:{number}")
            ends = self._ends_before_signing(rng)
            inbound = rng.random() < intake.inbound_share
            declined = inbound and rng.random() < intake.inbound_declined_share
            planned.append((number, rng, _Start(ends, inbound, declined)))
            concluding += ends is None and not declined
            number += 1
        centres = self._directory.centres
        days = (self._opening_end - self._params.project.start).days
        for number, rng, start in planned:
            centre = centres[number % len(centres)]
            land = self._directory.site(centre.municipality_id).land
            offset = (number * days) // max(len(planned), 1)
            day = add_working(self._params.project.start + timedelta(days=offset), 0, land)
            self._at(
                at_german(day, OPENING) + timedelta(minutes=rng.randrange(0, 300)),
                self._arrival(number, rng, centre, land, start),
            )

    def _ends_before_signing(self, rng: random.Random) -> Stage | None:
        if rng.random() >= self._params.intake.ended_before_signing_share:
            return None
        return rng.choice(
            [Stage.INTAKE, Stage.ASSESSMENT, Stage.DRAFTING, Stage.AWAITING_SIGNATURE]
        )

    def _arrival(
        self, number: int, rng: random.Random, centre: SimCentre, land: str, start: "_Start"
    ) -> Step:
        async def arrive() -> None:
            now = self._current
            counsellor = rng.choice(centre.counsellor_ids)
            client = draw_client(rng, self._params, centre.kind, german_date(now))
            case_id = f"case-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            closes = self._params.closures
            reviews: int | None = None
            if rng.random() < closes.closed_within_project_share:
                reviews = _days(rng, closes.after_reviews)
            ends = start.ends_before_signing
            case = _Case(number, case_id, centre, land, counsellor, client, rng, ends, reviews)
            if start.inbound:
                await self._inbound(case, now, declined=start.declined)
            else:
                await self._open(case)

        return arrive

    async def _inbound(self, case: _Case, now: datetime, *, declined: bool) -> None:
        """A partner of the municipality refers the client to the centre (a row, as the API
        writes it); the centre accepts some days later, which opens the case, or declines."""
        rng, intake = case.rng, self._params.intake
        kind = ActorKind(_pick(rng, intake.inbound_sources))
        partners = self._directory.partners_of(case.centre.municipality_id, kind)
        wait = _days(rng, intake.inbound_days_to_decision)
        if not partners:
            await self._open(case)
            return
        partner = self._partners[partners[0].id]
        referral_id = f"inbound-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
        request = InboundReferralRequest(
            centre_id=case.centre.id,
            client=case.client.name,
            reason="Bitte um Beratung zur Integrationsvereinbarung.",
            client_consents=True,
        )
        inbound_writes.new_referral(self._store, referral_id, partner, case.centre.id, request, now)
        self.counts.inbound += 1
        day = add_working(german_date(now), max(wait, 1), case.land)
        decided = at_german(day, WORKING) + _spread(rng)

        async def decide() -> None:
            at = self._current
            if declined:
                inbound_writes.record_decline(
                    self._store, referral_id, case.counsellor, "Kein Platz frei.", at
                )
                self.counts.inbound_declined += 1
                return
            case.id = case_id_of(referral_id)  # the case accepting it opens (api/inbound.py)
            inbound_writes.claim_case(self._store, referral_id, case.id)
            await self._open(case)
            inbound_writes.record_acceptance(self._store, referral_id, case.id, case.counsellor, at)

        self._at(decided, decide)

    # -- a case, step by step ------------------------------------------------------------------

    def _counsellor(self, case: _Case) -> Actor:
        return Actor(user_id=case.counsellor, role=ActorRole.COUNSELLOR, centre_id=case.centre.id)

    async def _open(self, case: _Case) -> None:
        await self._engine.open_case(
            AgreementInput(
                case_id=case.id,
                municipality_id=case.centre.municipality_id,
                centre_id=case.centre.id,
                centre_kind=case.centre.kind,
                counsellor_id=case.counsellor,
                land=case.land,
                client=case.client.name,
            )
        )
        self.counts.opened += 1
        now = self._current
        self._at(now + timedelta(minutes=20), self._step(case, self._intake))

    def _step(self, case: _Case, act: Callable[[_Case], Awaitable[None]]) -> Step:
        async def run() -> None:
            try:
                await act(case)
            except Refused as refused:
                # A person who is refused gives up this step (the case shows why); it is
                # counted, and both engines refuse alike.
                self.counts.refusal(act.__name__.strip("_"), refused)

        return run

    async def _case(self, case: _Case, command: object, arg: object = None) -> CaseState:
        await self._engine.update_case(case.id, command, arg, self._counsellor(case))  # type: ignore[arg-type]
        case.state = await self._engine.settled_state(case.id)
        return case.state

    async def _next(
        self, case: _Case, days: DayRange, clock: time, act: Callable[[_Case], Awaitable[None]]
    ) -> None:
        assert case.state is not None
        now_day = german_date(self._current)
        day = add_working(now_day, max(_days(case.rng, days), 1), case.land)
        instant = placed(at_german(day, clock) + _spread(case.rng), case_instants(case.state))
        self._at(instant, self._step(case, act))

    async def _ends_here(self, case: _Case, stage: Stage) -> bool:
        if case.ends_before_signing is not stage:
            return False
        reason = ClosureReason(_pick(case.rng, self._params.closures.before_signing_reasons))
        await self._case(case, AgreementWorkflow.close, Closure(reason=reason))
        self.counts.ended_before_signing += 1
        self.counts.closed += 1
        return True

    async def _intake(self, case: _Case) -> None:
        await self._case(case, AgreementWorkflow.complete_intake, case.client.intake)
        if not await self._ends_here(case, Stage.INTAKE):
            await self._next(case, self._params.intake.days_to_assessment, WORKING, self._assess)

    async def _assess(self, case: _Case) -> None:
        assessment = Assessment(needs=list(case.client.needs))
        await self._case(case, AgreementWorkflow.complete_assessment, assessment)
        if not await self._ends_here(case, Stage.ASSESSMENT):
            await self._next(case, self._params.intake.days_to_draft, WORKING, self._draft)

    async def _draft(self, case: _Case) -> None:
        state = case.state
        assert state is not None
        goals = [
            DraftGoal(text=f"Ziel: {NEED_LABELS.get(need.kind, need.kind.value)}")
            for need in state.needs
        ]
        measures = [
            DraftMeasure(
                text=f"Maßnahme: {route.measure}",
                responsible=Responsible.PARTNER if route.partner_id else Responsible.COUNSELLOR,
                route_id=route.id,
            )
            for route in state.routes
        ]
        draft = AgreementDraft(goals=goals[:30], measures=measures[:50])
        await self._case(case, AgreementWorkflow.draft_agreement, draft)
        if not await self._ends_here(case, Stage.DRAFTING):
            await self._next(case, self._params.intake.days_to_signature, WORKING, self._sign)

    async def _sign(self, case: _Case) -> None:
        result = await self._engine.update_case(
            case.id, AgreementWorkflow.request_signature, None, self._counsellor(case)
        )
        case.state = await self._engine.settled_state(case.id)
        if await self._ends_here(case, Stage.AWAITING_SIGNATURE):
            return
        assert result.document is not None
        for party in (Party.CLIENT, Party.COUNSELLOR):
            signature = Signature(party=party, document_hash=result.document.hash)
            await self._case(case, AgreementWorkflow.sign, signature)
        self.counts.concluded += 1
        self._plan_referrals(case)
        self._plan_review(case)

    # -- reviews and closure ---------------------------------------------------------------------

    def _plan_review(self, case: _Case) -> None:
        state = case.state
        assert state is not None and state.next_review_due is not None
        counsellors = self._params.counsellors
        draw = case.rng.random()
        if draw < counsellors.on_time_share:
            days = _days(case.rng, counsellors.on_time_days)
        elif draw < counsellors.on_time_share + counsellors.late_share:
            days = _days(case.rng, counsellors.late_days)
        else:
            self.counts.reviews_missed += 1
            return  # never recorded: the review stays overdue
        day = german_date(state.next_review_due) + timedelta(days=days)
        day = add_working(day, 0, case.land)
        instant = placed(at_german(day, REVIEWING) + _spread(case.rng), case_instants(state))
        self._at(instant, self._step(case, self._review))

    async def _review(self, case: _Case) -> None:
        state = case.state
        assert state is not None
        counsellors, survey = self._params.counsellors, self._params.survey
        progress = [
            GoalProgress(goal_id=goal.id, status=_pick(case.rng, counsellors.goal_progress))
            for goal in state.goals
        ]
        answered = case.rng.random() >= survey.unanswered_share
        helped = case.rng.random() < survey.agreement_helped
        easier = case.rng.random() < survey.easier_to_keep_at_it
        review = Review(
            goal_progress=progress,
            survey=Survey(
                agreement_helped=helped if answered else None,
                easier_to_keep_at_it=easier if answered else None,
            ),
        )
        await self._case(case, AgreementWorkflow.record_review, review)
        self.counts.reviews += 1
        case.reviews += 1
        if case.reviews_before_close is not None and case.reviews >= case.reviews_before_close:
            reason = ClosureReason(_pick(case.rng, self._params.closures.reasons))
            now = self._current
            self._at(now + timedelta(minutes=30), self._step(case, self._closer(reason)))
        else:
            self._plan_review(case)

    def _closer(self, reason: ClosureReason) -> Callable[[_Case], Awaitable[None]]:
        async def close(case: _Case) -> None:
            await self._case(case, AgreementWorkflow.close, Closure(reason=reason))
            self.counts.closed += 1

        return close

    # -- partners ------------------------------------------------------------------------------

    def _plan_referrals(self, case: _Case) -> None:
        """Give every referral of the case the driver has not seen yet its partner's plan."""
        state = case.state
        assert state is not None
        for referral in state.referrals:
            if referral.id in case.planned or referral.status is not ReferralStatus.DISPATCHED:
                continue
            case.planned.add(referral.id)
            self.counts.referrals += 1
            self._plan_partner(
                case, referral.id, referral.measure_id, referral.dispatched_at, referral.partner_id
            )

    def _plan_partner(
        self,
        case: _Case,
        referral_id: str,
        measure_id: str,
        dispatched: datetime,
        partner_id: str,
    ) -> None:
        # Seeded by the measure and the partner, not the referral's number: two referrals
        # handed on at one instant may be numbered in either order (simulate/timing.py).
        rng = random.Random(f"{self._seed}:referral:{case.id}:{measure_id}:{partner_id}")
        partners = self._params.partners
        partner = Actor(
            user_id=f"partner-{partner_id}", role=ActorRole.PARTNER, partner_id=partner_id
        )
        draw = rng.random()
        start = german_date(dispatched)
        assert case.state is not None
        avoid = case_instants(case.state)
        if draw < partners.acknowledge_share:
            day = add_working(
                start, max(_days(rng, partners.acknowledge_working_days), 1), case.land
            )
            at = placed(at_german(day, PARTNER) + _spread(rng), avoid)
            self._at(at, self._partner_step(case, referral_id, partner, rng, "acknowledge"))
            # Too late to acknowledge: the referral expired first; the driver looks.
            self._look_after_expiry(case, referral_id)
        elif draw < partners.acknowledge_share + partners.decline_share:
            day = add_working(start, max(_days(rng, partners.decline_working_days), 1), case.land)
            at = placed(at_german(day, PARTNER) + _spread(rng), avoid)
            self._at(at, self._partner_step(case, referral_id, partner, rng, "decline"))
            self._look_after_expiry(case, referral_id)
        else:
            self._look_after_expiry(case, referral_id)

    def _look_after_expiry(self, case: _Case, referral_id: str) -> None:
        state = case.state
        assert state is not None
        referral = next(r for r in state.referrals if r.id == referral_id)
        if referral.deadlines is None:
            return
        at = referral.deadlines.expires_at + LOOKING

        async def look() -> None:
            case.state = await self._engine.settled_state(case.id)
            self._plan_referrals(case)

        self._at(at, look)

    def _partner_step(
        self, case: _Case, referral_id: str, partner: Actor, rng: random.Random, action: str
    ) -> Step:
        partners = self._params.partners

        async def act() -> None:
            engine = self._engine
            try:
                if action == "acknowledge":
                    await engine.update_referral(
                        referral_id, ReferralWorkflow.acknowledge, None, partner
                    )
                    self.counts.acknowledged += 1
                    now = self._current
                    state = await engine.settled_state(case.id)
                    case.state = state
                    avoid = case_instants(state)
                    if rng.random() < partners.progress_note_share:
                        day = german_date(now) + timedelta(
                            days=max(_days(rng, partners.complete_days) // 2, 1)
                        )
                        at = placed(at_german(day, PARTNER) + _spread(rng), avoid)
                        self._at(at, self._partner_step(case, referral_id, partner, rng, "note"))
                    if rng.random() < partners.complete_share:
                        day = german_date(now) + timedelta(
                            days=max(_days(rng, partners.complete_days), 1)
                        )
                        at = placed(at_german(add_working(day, 0, case.land), PARTNER), avoid)
                        self._at(
                            at, self._partner_step(case, referral_id, partner, rng, "complete")
                        )
                elif action == "decline":
                    reason = DeclineReason(reason="Derzeit keine Kapazität.")
                    await engine.update_referral(
                        referral_id, ReferralWorkflow.decline, reason, partner
                    )
                    self.counts.declined += 1
                elif action == "note":
                    note = ProgressNote(note="Termin vereinbart, Teilnahme läuft.")
                    await engine.update_referral(
                        referral_id, ReferralWorkflow.report_progress, note, partner
                    )
                else:
                    result = OutcomeResult(_pick(rng, partners.outcome))
                    await engine.update_referral(
                        referral_id, ReferralWorkflow.complete, Outcome(result=result), partner
                    )
                    self.counts.completed += 1
            except Refused as refused:
                self.counts.refusal(action, refused)
            case.state = await engine.settled_state(case.id)
            self._plan_referrals(case)

        return act
