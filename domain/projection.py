"""The projection contract: what a case sends to the read model and what the read model
answers when it can never take it.

A batch (`CaseEventBatch`) carries the events (their data: domain/events.py, ids and enum
values only, never personal data: they go to the case history) and `CaseProjection`, the
case's current summary with the little personal data the read model's lists and the partner
view need (domain/consent.py: the common minimum, and for each referral dispatched in the
batch the facts its partner's kind receives), plus what the case stops carrying once the
read model has it (domain/compaction.py): the reviews and the referral steps (with the
partners' words) the batch's events record, and document texts a state from before the
archive still holds. Besides batches, the read model archives
each rendered agreement version (`ArchivedDocument`) and each partner's progress note
(`ReferralNote`) the moment they exist, and records a batch it can never apply
(`ProjectionFailure`), so an administrator sees it instead of the case waiting on it for ever.

The workflow builds these (workflows/agreement_calls.py), the activities hand them on
(activities/case.py, the sink protocol in activities/case_events.py) and the store applies
them (store/projector.py, store/archive.py): declared here, the store depends on `domain/`
only.
"""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.case import (
    CaseEvent,
    CaseEventKind,
    CaseState,
    DocumentVersion,
    ReferralStep,
    ReviewRecord,
    Stage,
)
from domain.consent import PartnerView, partner_view
from domain.enums import ActorKind, NeedKind
from domain.months import german_day
from domain.profile import StrictModel


class ProjectionRejected(Exception):
    """The batch can never be applied as it is (bad data or a bug, not an outage): retrying it
    would only wait for ever. The message names the error's type, never the data."""


class RuleHit(StrictModel):
    """A route the rules proposed for a need: its case-local id, the rule and the partner kind."""

    route_id: str
    rule: str
    actor: ActorKind


class AssessedNeed(StrictModel):
    """A need of the case by its index in `CaseState.needs`, with the rules that routed it
    (none: no rule matched). The evaluation's needs and rule statistics (store/facts.py)."""

    index: int
    kind: NeedKind
    hits: list[RuleHit] = Field(default_factory=list)


class CaseProjection(StrictModel):
    """The case summary as of the batch's last event."""

    case_id: str
    municipality_id: str
    centre_id: str
    counsellor_id: str | None
    stage: Stage
    opened_at: datetime
    next_review_due: datetime | None
    review_overdue: bool
    open_task_count: int
    client_given_name: str = ""
    client_family_name: str = ""
    # The counsellor's list shows them, the search finds by them (store/projections.py).
    client_birth_date: date | None = None
    number: str | None = None  # None: a case opened before numbers (the read model gives one)
    client_languages: list[str] = Field(default_factory=list)  # 639-1, else 639-3 (languages.py)
    # What the partner of each referral dispatched by an event not projected yet receives
    # beyond the common minimum (domain.consent), by referral id. Sent once, with its dispatch,
    # not with every batch; a referral whose partner receives nothing more is left out.
    partner_views: dict[str, PartnerView] = Field(default_factory=dict)
    # Every need of the case with its rule hits (at most 60), sent only with a batch that holds
    # a `routes_proposed` event: the read model adds the needs it does not have yet.
    needs: list[AssessedNeed] = Field(default_factory=list)

    @classmethod
    def of(cls, state: CaseState) -> "CaseProjection":
        client = state.client
        return cls(
            case_id=state.id,
            municipality_id=state.municipality_id,
            centre_id=state.centre_id,
            counsellor_id=state.counsellor_id,
            stage=state.stage,
            opened_at=state.opened_at,
            next_review_due=state.next_review_due,
            review_overdue=state.review_overdue,
            open_task_count=len(state.open_tasks()),
            client_given_name=client.given_name if client else "",
            client_family_name=client.family_name if client else "",
            client_birth_date=state.profile.birth_date if state.profile else None,
            number=state.number,
            client_languages=list(state.profile.languages) if state.profile else [],
            partner_views=_partner_views(state),
            needs=_assessed_needs(state),
        )


def _assessed_needs(state: CaseState) -> list[AssessedNeed]:
    """The case's needs and their rule hits, when the read model lacks a routing event."""
    if not any(
        event.sequence > state.emitted_through and event.kind is CaseEventKind.ROUTES_PROPOSED
        for event in state.events
    ):
        return []
    return assessed_needs(state)


def assessed_needs(state: CaseState) -> list[AssessedNeed]:
    """Every need of the case with the rules that routed it (also `lotse db
    backfill-evaluation`, which reads them from a case's state)."""
    hits: dict[int, list[RuleHit]] = {}
    for route in state.routes:
        hits.setdefault(route.need_index, []).append(
            RuleHit(route_id=route.id, rule=route.rule, actor=route.actor)
        )
    return [
        AssessedNeed(index=index, kind=need.kind, hits=hits.get(index, []))
        for index, need in enumerate(state.needs)
    ]


def _partner_views(state: CaseState) -> dict[str, PartnerView]:
    """The partner views of the referrals whose dispatch the read model does not have yet."""
    dispatched = {
        event.data.get("referral_id")
        for event in state.events
        if event.sequence > state.emitted_through
        and event.kind is CaseEventKind.REFERRAL_DISPATCHED
    }
    routes = {route.id: route for route in state.routes}
    views: dict[str, PartnerView] = {}
    for referral in state.referrals:
        route = routes.get(referral.route_id)
        if referral.id not in dispatched or route is None:
            continue
        view = partner_view(
            route.actor,
            route.need,
            terms=referral.consent_terms,
            family_name=state.client.family_name if state.client else "",
            profile=state.profile,
            qualification=route.qualification,
            on=german_day(referral.dispatched_at),
        )
        if view.stored():
            views[referral.id] = view
    return views


class CaseEventBatch(StrictModel):
    """The input of `emit_case_events`: events in sequence order, the summary after them, the
    reviews and referral steps those events record, and texts of document versions not
    archived yet."""

    case: CaseProjection
    events: list[CaseEvent]
    reviews: list[ReviewRecord] = Field(default_factory=list)
    referral_steps: list[ReferralStep] = Field(default_factory=list)
    documents: list[DocumentVersion] = Field(default_factory=list)


class ArchivedDocument(BaseModel):
    """A rendered agreement version (`render_agreement` archives it before it answers). Not a
    `StrictModel`: that strips whitespace, and the text must stay exactly what its hash says."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    version: int
    hash: str
    text: str
    rendered_at: datetime


class ReferralNote(StrictModel):
    """A partner's progress note, numbered per referral (the input of `record_referral_note`)."""

    referral_id: str
    case_id: str
    partner_id: str
    number: int
    at: datetime
    note: str


class ProjectionFailure(StrictModel):
    """Events of a case that could not be projected (ids and the error's type only)."""

    case_id: str
    first_sequence: int
    last_sequence: int
    error: str
    at: datetime
