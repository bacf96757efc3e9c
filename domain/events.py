"""The data of a case's events: one pydantic model per `CaseEventKind`, the contract between
the stage functions that record events and the read model that projects them.

An event goes to the read model's case history (`case_events`), which outlives the case, so its
data is ids, enum values, ISO instants, counts and booleans, never names, notes or profile
facts, with one exception: `IntakeCorrected` holds the old and the new value of the field it
corrected, because the case's record must say what a correction changed (it is read only by
those allowed to read the case, like the profile itself). A stage function records one as a
model (`record(state, Signed(party=..., version=...), at)`, domain/case_log.py), so a misspelt
key is a type error where it is written. On the wire (the workflow state, a continue-as-new
input, a projection batch) and in `case_events.data` the data stays the plain JSON object the
model dumps to (`EventData.to_data()`): every key present, `null` where there is no value,
instants as `datetime.isoformat()` text, enums as their values. States and batches written
before these models are that same object and parse as they are.

`event_payload(event)` reads the data back, checked against its kind's model: the projector
(store/projector.py) refuses an event whose data does not fit (a missing, unknown or renamed
key, a value of the wrong type) as `ProjectionRejected`, instead of writing a half-read row.

Changing a model: the data of events already recorded must keep fitting (running cases carry
them, `case_events` keeps them for good). A new key gets a default (older events lack it); a
key is never renamed, nor removed while rows hold it (a reader may drop it, as
`IntakeCompleted` does). Workers that project (the readers) are deployed before those that
record the new key.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from domain.case import (
    CaseEvent,
    CaseEventKind,
    ClosureReason,
    EventValue,
    Party,
    Responsible,
    SetAside,
    TaskKind,
    TaskRole,
)
from domain.enums import ActorKind, CentreKind, NeedKind
from domain.referral import OutcomeResult, ReferralStatus


def _instant(value: object) -> datetime:
    """An instant from the model's own datetime or its ISO text (what `to_data` wrote), read
    as the projector always read them; anything else (a number, say) does not fit."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ValueError("an ISO instant is expected")
    # Every instant recorded is aware; a naive one would be UTC (as the projector read them).
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.isoformat()


# An instant, carried as `datetime.isoformat()` text (what events held before these models).
Instant = Annotated[datetime, BeforeValidator(_instant), PlainSerializer(_iso, return_type=str)]
Count = Annotated[StrictInt, Field(ge=0)]
Version = Annotated[StrictInt, Field(ge=1)]  # a document version


class EventData(BaseModel):
    """Base of the event models: exactly its keys (an unknown one is an error, not dropped),
    ids and texts as they are (not stripped: the dump must give back what was recorded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ClassVar[CaseEventKind]
    # Keys a kind gained after its events were first stored: left out of the dump while they
    # are null, so an older event dumps exactly as it was stored.
    added_later: ClassVar[frozenset[str]] = frozenset()

    def to_data(self) -> dict[str, EventValue]:
        """The JSON object `CaseEvent.data` and `case_events.data` carry."""
        data: dict[str, EventValue] = self.model_dump(mode="json")
        for key in self.added_later:
            if data.get(key) is None:
                del data[key]
        return data


class CaseOpened(EventData):
    """The case exists, at this centre with this counsellor."""

    kind = CaseEventKind.CASE_OPENED
    municipality_id: StrictStr
    centre_id: StrictStr
    centre_kind: CentreKind
    counsellor_id: StrictStr


class IntakeCompleted(EventData):
    """The intake (profile) is complete; nothing of the profile goes into the event."""

    kind = CaseEventKind.INTAKE_COMPLETED

    @model_validator(mode="before")
    @classmethod
    def _drop_permit_warning(cls, data: Any) -> Any:
        # The first version recorded `permit_warning_at` here, which reveals the permit's
        # expiry (a profile fact): older events are read without it, and stored without it.
        if isinstance(data, dict) and "permit_warning_at" in data:
            return {key: value for key, value in data.items() if key != "permit_warning_at"}
        return data


class RoutesProposed(EventData):
    """The rules proposed routes for needs (at the assessment, or a review's new needs)."""

    kind = CaseEventKind.ROUTES_PROPOSED
    ruleset_version: StrictStr
    routes: Count
    unrouted: Count
    route_ids: StrictStr  # the new proposals' case-local ids, comma-separated ("r1,r2")


class AssessmentCompleted(EventData):
    kind = CaseEventKind.ASSESSMENT_COMPLETED
    needs: Count


class AgreementDrafted(EventData):
    """A draft was saved; `amendment`: it changes an agreement already in force."""

    kind = CaseEventKind.AGREEMENT_DRAFTED
    goals: Count
    measures: Count
    amendment: StrictBool


class SignatureRequested(EventData):
    """A document version to sign, with the SHA-256 (hex) of its text."""

    kind = CaseEventKind.SIGNATURE_REQUESTED
    version: Version
    hash: StrictStr


class Signed(EventData):
    kind = CaseEventKind.SIGNED
    party: Party
    version: Version


class AgreementActivated(EventData):
    """Both parties signed `version`: the agreement is in force."""

    kind = CaseEventKind.AGREEMENT_ACTIVATED
    version: Version
    next_review_due: Instant | None


class ReferralDispatched(EventData):
    """A measure went to a partner (a referral child starts). `measure` is the rule's measure
    code, `actor` and `need` its kinds; `previous_referral_id` is the declined or expired
    referral this one replaces (null for a first dispatch). The three deadlines are the
    referral's (domain.referral.ReferralDeadlines); events from before they were carried, and a
    Land without calendar, have none."""

    kind = CaseEventKind.REFERRAL_DISPATCHED
    added_later = frozenset({"acknowledge_by", "escalate_at", "expires_at", "priority"})
    referral_id: StrictStr
    route_id: StrictStr
    measure_id: StrictStr
    partner_id: StrictStr
    actor: ActorKind
    measure: StrictStr
    need: NeedKind
    previous_referral_id: StrictStr | None
    acknowledge_by: Instant | None = None
    escalate_at: Instant | None = None
    expires_at: Instant | None = None
    # The route's priority (domain.needs.Route.priority); events from before carry none.
    priority: Annotated[StrictInt, Field(ge=1, le=3)] | None = None


class ReferralStatusChanged(EventData):
    kind = CaseEventKind.REFERRAL_STATUS_CHANGED
    referral_id: StrictStr
    partner_id: StrictStr
    status: ReferralStatus


class ReferralProgress(EventData):
    """The partner reported progress (the note itself is archived apart, never here)."""

    kind = CaseEventKind.REFERRAL_PROGRESS
    referral_id: StrictStr
    partner_id: StrictStr


class ReferralWithdrawn(EventData):
    """The case closed while the referral was open; its child is cancelled."""

    kind = CaseEventKind.REFERRAL_WITHDRAWN
    referral_id: StrictStr
    partner_id: StrictStr


class MeasureCompleted(EventData):
    """A partner completed the measure's referral; `result` is the outcome's result, if any."""

    kind = CaseEventKind.MEASURE_COMPLETED
    measure_id: StrictStr
    referral_id: StrictStr
    result: OutcomeResult | None


class MeasureSetAside(EventData):
    """The counsellor let a measure rest, reported it to the coordination for want of a
    partner, or recorded that the client withdrew her consent for it (`how`)."""

    kind = CaseEventKind.MEASURE_SET_ASIDE
    measure_id: StrictStr
    referral_id: StrictStr
    how: SetAside


class ReviewDueSoon(EventData):
    """The review is due in `Clocks.review_reminder_before` (seven days): the counsellor is
    told (domain/case_notices.py)."""

    kind = CaseEventKind.REVIEW_DUE_SOON
    due_at: Instant


class ReviewDue(EventData):
    kind = CaseEventKind.REVIEW_DUE
    due_at: Instant


class ReviewOverdue(EventData):
    """`overdue`: true when the review became overdue, false when a review or the closing
    cleared it (`due_at` null when the case closed)."""

    kind = CaseEventKind.REVIEW_OVERDUE
    due_at: Instant | None
    overdue: StrictBool


class ReviewRecorded(EventData):
    """A review (its goal progress travels in the batch's reviews, not here). The survey's two
    answers are null when not answered."""

    kind = CaseEventKind.REVIEW_RECORDED
    review_id: StrictStr
    due_at: Instant | None  # the review date this review answered
    next_review_due: Instant
    agreement_helped: StrictBool | None
    easier_to_keep_at_it: StrictBool | None
    new_needs: Count
    goals_achieved: Count


class TaskCreated(EventData):
    """A task for the case's counsellor or the municipality's supervisors. `title` is German,
    written by the stage functions, and names no personal data."""

    kind = CaseEventKind.TASK_CREATED
    task_id: StrictStr
    task_kind: TaskKind
    role: TaskRole
    title: StrictStr
    due_at: Instant | None
    referral_id: StrictStr | None


class TaskDone(EventData):
    kind = CaseEventKind.TASK_DONE
    task_id: StrictStr


class Reassigned(EventData):
    kind = CaseEventKind.REASSIGNED
    counsellor_id: StrictStr


class Transferred(EventData):
    """To another centre; `counsellor_id` null when nobody was named (a supervisor's task)."""

    kind = CaseEventKind.TRANSFERRED
    centre_id: StrictStr
    centre_kind: CentreKind
    counsellor_id: StrictStr | None


class Closed(EventData):
    kind = CaseEventKind.CLOSED
    reason: ClosureReason


class IntakeCorrected(EventData):
    """One field of the completed intake was corrected (domain/stages_correction.py).
    `field` is its path in IntakeData (`birth_date`, `residence.expires_on`, `children`),
    `old` and `new` its values as compact JSON text (a date as "1990-01-01", a list as a
    list): the page shows them with the field's German label. The one event with profile
    facts (see the module docstring)."""

    kind = CaseEventKind.INTAKE_CORRECTED
    field: StrictStr
    old: StrictStr
    new: StrictStr


class RoutesRecomputed(EventData):
    """The rules routed the case's needs again with the corrected profile. `added`: the new
    proposals' ids, `removed`: the ids of proposals the rules no longer make, `removed_measures`
    their measure codes in the same order (a removed proposal is gone from the state before
    signature, so the page names it from here); all comma-separated, maybe empty.
    `dropped_measures`: the draft's measures that carried a removed proposal and
    were taken out (before signature); `amendment_due`: the case is signed and the proposals
    changed, so the agreement has to be amended (the signed one stays as it is)."""

    kind = CaseEventKind.ROUTES_RECOMPUTED
    ruleset_version: StrictStr
    added: StrictStr
    removed: StrictStr
    removed_measures: StrictStr
    dropped_measures: StrictStr
    amendment_due: StrictBool


class SignatureRequestWithdrawn(EventData):
    """The version presented for signing was taken back before anyone signed it: it stays in
    the record, its hash can no longer be signed."""

    kind = CaseEventKind.SIGNATURE_REQUEST_WITHDRAWN
    version: Version
    hash: StrictStr


def _day(value: object) -> date:
    """A day from the model's own date or its ISO text (what `to_data` wrote)."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError("not a day")
    return value


# A calendar day, carried as ISO text (`2027-02-28`).
Day = Annotated[date, BeforeValidator(_day), PlainSerializer(date.isoformat, return_type=str)]


class OwnMeasureCompleted(EventData):
    """The counsellor ticked off a measure of the client's or the centre's (`responsible`) as
    done on `done_on`. Not a partner's completion (`MeasureCompleted`): the evaluation's
    referral figures do not count it."""

    kind = CaseEventKind.OWN_MEASURE_COMPLETED
    measure_id: StrictStr
    responsible: Responsible
    done_on: Day


EVENT_MODELS: Mapping[CaseEventKind, type[EventData]] = {
    model.kind: model
    for model in (
        CaseOpened,
        IntakeCompleted,
        RoutesProposed,
        AssessmentCompleted,
        AgreementDrafted,
        SignatureRequested,
        Signed,
        AgreementActivated,
        ReferralDispatched,
        ReferralStatusChanged,
        ReferralProgress,
        ReferralWithdrawn,
        MeasureCompleted,
        MeasureSetAside,
        ReviewDueSoon,
        ReviewDue,
        ReviewOverdue,
        ReviewRecorded,
        TaskCreated,
        TaskDone,
        Reassigned,
        Transferred,
        Closed,
        IntakeCorrected,
        RoutesRecomputed,
        SignatureRequestWithdrawn,
        OwnMeasureCompleted,
    )
}


def parse_payload(kind: CaseEventKind, data: Mapping[str, EventValue]) -> EventData:
    """The data of an event of `kind`, checked against its model (pydantic's
    `ValidationError`, a `ValueError`, when it does not fit)."""
    return EVENT_MODELS[kind].model_validate(data)


def event_payload(event: CaseEvent) -> EventData:
    """The typed data of `event` (raises `ValidationError` when it does not fit its kind)."""
    return parse_payload(event.kind, event.data)
