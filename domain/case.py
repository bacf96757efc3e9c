"""The whole state of one case (AgreementWorkflow) as one pydantic model, and its vocabulary.

`CaseState` is what the `state()` query returns, what a run hands to the next one on
continue-as-new, and what every pure stage function takes and returns. Deadlines are absolute
instants (never "in 3 months"), so a new run re-creates its timers from them. Events in
`events` carry ids, kinds, dates and counts only: they go to the read model's case history,
which outlives cases, so no personal data goes into them. The state holds only the events,
reviews, tasks and document versions the read model does not have yet or the workflow still
needs (domain/compaction.py), so it stays bounded however long the case lives.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, computed_field

from domain.clocks import Clocks
from domain.consent import COMMON_MINIMUM_TERMS
from domain.enums import CentreKind
from domain.fields import Id, Name, Note, OptionalName
from domain.needs import Need, Route, Unrouted
from domain.profile import IntakeData, StrictModel
from domain.referral import Outcome, ReferralDeadlines, ReferralStatus
from domain.workdays import DEFAULT_LAND


class Stage(StrEnum):
    INTAKE = "intake"
    ASSESSMENT = "assessment"
    DRAFTING = "drafting"
    AWAITING_SIGNATURE = "awaiting_signature"
    ACTIVE = "active"
    CLOSED = "closed"


STAGE_LABELS: dict[Stage, str] = {
    Stage.INTAKE: "Aufnahme",
    Stage.ASSESSMENT: "Bedarfsklärung",
    Stage.DRAFTING: "Entwurf",
    Stage.AWAITING_SIGNATURE: "Warten auf Unterschriften",
    Stage.ACTIVE: "laufende Vereinbarung",
    Stage.CLOSED: "abgeschlossen",
}


class Party(StrEnum):
    CLIENT = "client"
    COUNSELLOR = "counsellor"


class Responsible(StrEnum):
    CLIENT = "client"
    COUNSELLOR = "counsellor"
    PARTNER = "partner"


class GoalStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    ACHIEVED = "achieved"
    DROPPED = "dropped"


class ClosureReason(StrEnum):
    GOALS_ACHIEVED = "goals_achieved"
    MOVED_AWAY = "moved_away"
    WITHDRAWN = "withdrawn"
    NO_CONTACT = "no_contact"
    TRANSFERRED = "transferred"
    # Opened twice by mistake: allowed in intake only (domain/stages_review.py `check_close`),
    # and in no figure of the evaluation (store/fact_writer.py writes no closure fact for it).
    DUPLICATE = "duplicate"


# The reasons the evaluation counts (every one but `duplicate`).
COUNTED_CLOSURES: tuple[ClosureReason, ...] = tuple(
    reason for reason in ClosureReason if reason is not ClosureReason.DUPLICATE
)


class TaskKind(StrEnum):
    FOLLOW_UP = "follow_up"
    REVIEW_DUE = "review_due"
    REVIEW_OVERDUE = "review_overdue"  # for the supervisor
    PERMIT_EXPIRY = "permit_expiry"
    REFERRAL_REMINDER = "referral_reminder"
    REFERRAL_ESCALATION = "referral_escalation"  # for the supervisor
    REFERRAL_UNASSIGNED = "referral_unassigned"  # no partner (left) for a measure
    REFERRAL_DECLINED = "referral_declined"  # a partner declined: the counsellor checks why
    REFERRAL_REPORTED = "referral_reported"  # no partner: the counsellor told the coordination
    CASE_UNASSIGNED = "case_unassigned"  # transferred to a centre without naming a counsellor
    AMENDMENT_DUE = "amendment_due"  # a corrected intake changed the routing of a signed case


class TaskRole(StrEnum):
    """Who does a task: the case's counsellor, or the municipality's supervisors."""

    COUNSELLOR = "counsellor"
    SUPERVISOR = "supervisor"


class CaseEventKind(StrEnum):
    CASE_OPENED = "case_opened"
    INTAKE_COMPLETED = "intake_completed"
    ROUTES_PROPOSED = "routes_proposed"
    ASSESSMENT_COMPLETED = "assessment_completed"
    AGREEMENT_DRAFTED = "agreement_drafted"
    SIGNATURE_REQUESTED = "signature_requested"
    SIGNED = "signed"
    AGREEMENT_ACTIVATED = "agreement_activated"
    REFERRAL_DISPATCHED = "referral_dispatched"
    REFERRAL_STATUS_CHANGED = "referral_status_changed"
    REFERRAL_PROGRESS = "referral_progress"
    REFERRAL_WITHDRAWN = "referral_withdrawn"  # taken back, or the case closed while it was open
    MEASURE_COMPLETED = "measure_completed"
    MEASURE_SET_ASIDE = "measure_set_aside"  # rests, reported, or the client's consent withdrawn
    REVIEW_DUE_SOON = "review_due_soon"  # seven days before the review is due
    REVIEW_DUE = "review_due"
    REVIEW_OVERDUE = "review_overdue"
    REVIEW_RECORDED = "review_recorded"
    TASK_CREATED = "task_created"
    TASK_DONE = "task_done"
    REASSIGNED = "reassigned"
    TRANSFERRED = "transferred"
    CLOSED = "closed"
    INTAKE_CORRECTED = "intake_corrected"  # one field of a completed intake, old and new value
    ROUTES_RECOMPUTED = "routes_recomputed"  # the proposals after an intake correction
    SIGNATURE_REQUEST_WITHDRAWN = "signature_request_withdrawn"  # nobody had signed it
    OWN_MEASURE_COMPLETED = "own_measure_completed"  # the client's or the centre's, ticked off


EventValue = str | int | bool | None


class CaseEvent(StrictModel):
    """One thing that happened to a case. `data` holds ids, enum values, ISO dates, counts and
    booleans, never names, notes or profile facts (one model per kind: domain/events.py)."""

    sequence: Annotated[int, Field(ge=1)]
    at: datetime
    kind: CaseEventKind
    stage: Stage  # the stage after the event
    data: dict[str, EventValue] = Field(default_factory=dict)


class ClientName(StrictModel):
    given_name: Name
    family_name: OptionalName = ""


class CaseRoute(Route):
    """A routing proposal in a case: the rules' route with the case-local id measures refer to."""

    id: str

    def as_route(self) -> Route:
        """The plain rules route (what a referral child and partner resolution take)."""
        return Route.model_validate(self.model_dump(exclude={"id"}))


class CaseGoal(StrictModel):
    id: str
    text: str
    target_date: date | None = None
    status: GoalStatus = GoalStatus.OPEN
    note: str = ""


class SetAside(StrEnum):
    """Why a measure no partner carries out waits (the counsellor's decision)."""

    REST = "rest"  # „ruhen lassen": until she hands it on or the agreement changes
    COORDINATION = "coordination"  # „an Koordination melden": no partner; the coordination's
    CONSENT_WITHDRAWN = "consent_withdrawn"  # the client withdrew her consent for it


class Measure(StrictModel):
    id: str
    text: str
    responsible: Responsible
    route_id: str | None = None
    partner_id: str | None = None  # the partner that carries it out (proposal or override)
    override_reason: str | None = None
    # Set when a signed agreement first holds it: follow-ups and dispatch happen once.
    activated_at: datetime | None = None
    done: bool = False
    outcome: Outcome | None = None
    done_at: datetime | None = None
    set_aside: SetAside | None = None  # waits, and why (None: it does not)


class DocumentVersion(StrictModel):
    version: Annotated[int, Field(ge=1)]
    hash: str  # SHA-256 (hex) of the UTF-8 text
    # The text lives in the read model (`agreement_documents`), archived when it is rendered.
    # Only a state written before that carries it, until the projection has archived it.
    text: str = ""
    created_at: datetime
    # The consent clause the text holds (domain.consent); the common minimum for a version
    # rendered before the clause named the kind-specific facts.
    consent_terms: int = COMMON_MINIMUM_TERMS
    # Taken back before anyone signed it: the version stays in the record, but its hash can
    # no longer be signed (domain/stages_correction.py).
    withdrawn_at: datetime | None = None
    # The bilingual edition's language (domain/editions.py); None: German only.
    language: str | None = None


class DocumentRef(StrictModel):
    """What a signature refers to: `POST /cases/{id}/signature-request` answers with it."""

    version: int
    hash: str


class SignatureRecord(StrictModel):
    party: Party
    version: int
    hash: str
    at: datetime


class ReferralRecord(StrictModel):
    """A dispatched route. `id` (case-<uuid>-ref-<n>) is also the child workflow's id."""

    id: str
    route_id: str
    measure_id: str
    partner_id: str
    status: ReferralStatus = ReferralStatus.DISPATCHED
    # Partners that already had this route (this one included): a re-route skips them.
    tried_partner_ids: list[str] = Field(default_factory=list)
    dispatched_at: datetime
    # Computed at dispatch (None in a state from older code, or for a Land without calendar).
    deadlines: ReferralDeadlines | None = None
    started: bool = False  # the child workflow exists
    awaiting_reroute: bool = False  # declined/expired and not yet handed on
    # The consent clause of the agreement in force when it was dispatched (domain.consent):
    # what its partner receives. A referral dispatched before the clause named the
    # kind-specific facts receives the common minimum.
    consent_terms: int = COMMON_MINIMUM_TERMS


class StepBy(StrEnum):
    """Who took a step of a referral's timeline."""

    PARTNER = "partner"
    COUNSELLOR = "counsellor"
    COORDINATION = "coordination"
    CASE = "case"  # the case itself: dispatched it


class ReferralStep(StrictModel):
    """One step of a referral as its case heard it: dispatched, acknowledged, a progress note,
    declined, expired, completed, withdrawn. `note` is the partner's words (a progress note,
    the decline reason, the outcome's note) or the counsellor's (why she withdrew it): personal
    data, so it never goes into an event. The case carries a step only until the read model
    has its event (`sequence`), like a review (domain/compaction.py); the read model keeps
    them all (`referral_steps`)."""

    sequence: int  # the case event that recorded the step
    referral_id: str
    at: datetime
    status: ReferralStatus
    note: str = ""
    by: StepBy = StepBy.PARTNER  # whose step (and words) it is


class GoalProgress(StrictModel):
    goal_id: Id
    status: GoalStatus
    note: Note = ""


class Survey(StrictModel):
    """The model project's two evaluation questions; `None` is "not answered"."""

    agreement_helped: bool | None = None
    easier_to_keep_at_it: bool | None = None


class ReviewRecord(StrictModel):
    id: str
    recorded_at: datetime
    due_at: datetime | None  # the review date this review answered
    goal_progress: list[GoalProgress] = Field(default_factory=list)
    survey: Survey = Field(default_factory=Survey)
    new_need_count: int = 0
    next_review_due: datetime


class Task(StrictModel):
    id: str
    kind: TaskKind
    role: TaskRole
    title: str  # German, for the person who does it; no personal data
    created_at: datetime
    due_at: datetime | None = None
    referral_id: str | None = None
    done: bool = False
    done_at: datetime | None = None


class PendingFollowUp(StrictModel):
    """A rule's follow-up ("check enrolment after 42 days"), due at an absolute instant."""

    id: str
    route_id: str
    referral_id: str | None = None  # cancelled when that referral ends early
    action: str
    due_at: datetime


class ClosureRecord(StrictModel):
    reason: str
    note: str = ""
    at: datetime


class ActionResult(StrictModel):
    """What every counsellor update answers (and what a repeated update id gets again)."""

    stage: Stage
    sequence: int  # the last event of the case after the action
    document: DocumentRef | None = None


class CaseState(BaseModel):
    """Everything a case knows. Carried across continue-as-new whole; `extra="ignore"` lets a
    newer worker read a state an older one wrote (and the computed `document` back in)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    stage: Stage = Stage.INTAKE
    municipality_id: str
    centre_id: str
    centre_kind: CentreKind
    counsellor_id: str | None
    land: str
    client: ClientName | None = None
    opened_at: datetime
    # The human case number ("MUS-2026-0147", domain/case_number.py), from the input. None in
    # a case opened before numbers: the read model gave it one (docs/architecture.md).
    number: str | None = None

    profile: IntakeData | None = None
    needs: list[Need] = Field(default_factory=list)
    routes: list[CaseRoute] = Field(default_factory=list)
    ruleset_version: str | None = None
    unrouted: list[Unrouted] = Field(default_factory=list)

    goals: list[CaseGoal] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)
    amendment_pending: bool = False  # the draft differs from the last signed document
    documents: list[DocumentVersion] = Field(default_factory=list)
    signatures: list[SignatureRecord] = Field(default_factory=list)
    activated_at: datetime | None = None

    referrals: list[ReferralRecord] = Field(default_factory=list)
    # The referrals' steps the read model does not have yet (see ReferralStep).
    referral_steps: list[ReferralStep] = Field(default_factory=list)
    next_referral_number: int = 1  # never reused: a re-route gets a new child id
    next_serial: int = 1  # ids of routes, goals, measures, tasks, follow-ups, reviews

    reviews: list[ReviewRecord] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)

    # Clocks, as absolute instants.
    next_review_due: datetime | None = None
    review_due_noticed: bool = False  # the counsellor's review_due task exists
    review_reminded: bool = False  # the counsellor was told the review is due in seven days
    review_overdue: bool = False
    permit_warning_at: datetime | None = None
    follow_ups: list[PendingFollowUp] = Field(default_factory=list)

    events: list[CaseEvent] = Field(default_factory=list)
    next_sequence: int = 1
    emitted_through: int = 0  # the read model has every event up to this sequence
    recent_updates: dict[str, ActionResult] = Field(default_factory=dict)
    # The case's search attributes as its runs last set them (datetimes as ISO text), written
    # when a run continues as new: the next run starts with those attributes (Temporal carries
    # them over) and upserts only what differs. Empty in a state continued before this field
    # existed, so such a run upserts all of them, as its history says it did.
    search_attributes: dict[str, str | bool | None] = Field(default_factory=dict)

    closure: ClosureRecord | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def document(self) -> DocumentRef | None:
        """The current version to sign (or signed), as the API shows it."""
        if not self.documents:
            return None
        current = self.documents[-1]
        return DocumentRef(version=current.version, hash=current.hash)

    @property
    def last_sequence(self) -> int:
        return self.next_sequence - 1

    def fork(self) -> "CaseState":
        """An independent copy for a stage function to change. A validated round trip through
        plain data, as continue-as-new does with the state anyway: about four times faster than
        `model_copy(deep=True)`, which copies model by model (bench/lifecycle.py)."""
        return CaseState.model_validate(self.model_dump(exclude={"document"}))

    def open_tasks(self) -> list[Task]:
        return [task for task in self.tasks if not task.done]


class AgreementInput(StrictModel):
    """The input of AgreementWorkflow (workflow id `case-<uuid>` = `case_id`). `state` is set
    only by continue-as-new: the case so far, whose clocks the new run picks up."""

    case_id: str
    municipality_id: str
    centre_id: str
    centre_kind: CentreKind
    counsellor_id: str
    land: str = DEFAULT_LAND  # ISO 3166-2 subdivision of the municipality (its working days)
    client: ClientName | None = None
    # Taken by the API before the start (store/case_numbers.py); None in an older input.
    number: str | None = None
    clocks: Clocks = Field(default_factory=Clocks)
    state: CaseState | None = None
    # The run sends events to the read model from a loop of its own, so clocks and referrals
    # never wait for it (workflows/agreement_projection.py). Every input this code writes
    # carries the field; an input recorded before it existed does not, and its run (also when
    # replayed) keeps the old way: `projects_in_own_loop` tells them apart by the fields set.
    projection_loop: bool = True
    # The same way: a run whose input carries them tells the counsellor seven days before a
    # review is due (domain/stages_clock.py), and sends the notices of its projected events
    # (domain/case_notices.py, workflows/agreement_projection.py).
    review_reminder: bool = True
    notices: bool = True

    def projects_in_own_loop(self) -> bool:
        return self._carries("projection_loop")

    def reminds_of_reviews(self) -> bool:
        return self._carries("review_reminder")

    def sends_notices(self) -> bool:
        return self._carries("notices")

    def _carries(self, flag: str) -> bool:
        """`flag` is set and was written by code that knows it (see `projection_loop`)."""
        return bool(getattr(self, flag)) and flag in self.model_fields_set
