"""The contract between a case (AgreementWorkflow) and its referrals (ReferralWorkflow):
the child's input, its state, the partner's outcome and the report a child sends its parent."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.clocks import Clocks
from domain.fields import Note, Text
from domain.needs import Route
from domain.profile import StrictModel
from domain.workdays import DEFAULT_LAND, working_deadline


class ReferralStatus(StrEnum):
    DISPATCHED = "dispatched"
    ACKNOWLEDGED = "acknowledged"
    COMPLETED = "completed"
    DECLINED = "declined"
    EXPIRED = "expired"
    # The case closed while the referral was open: its workflow was cancelled, the partner's
    # task ends (the read model's status; a running ReferralWorkflow never reports it).
    WITHDRAWN = "withdrawn"


class OutcomeResult(StrEnum):
    ACHIEVED = "achieved"
    PARTLY = "partly"
    NOT_ACHIEVED = "not_achieved"


class Outcome(StrictModel):
    result: OutcomeResult
    note: Note = ""


class DeclineReason(StrictModel):
    reason: Text


class ProgressNote(StrictModel):
    note: Text


class ReferralDeadlines(StrictModel):
    """A dispatched referral's clocks, in working days of the municipality's Land from its
    dispatch: acknowledged by `acknowledge_by` (the partner is reminded then), escalated to the
    supervisors at `escalate_at`, expired at `expires_at`. Computed once, at dispatch, by the
    case; the referral runs on them and the read model shows them (inbox, dashboard)."""

    acknowledge_by: datetime
    escalate_at: datetime
    expires_at: datetime


def referral_deadlines(start: datetime, land: str, clocks: Clocks) -> ReferralDeadlines:
    """The deadlines of a referral dispatched at `start` (ValueError: no calendar for `land`)."""
    return ReferralDeadlines(
        acknowledge_by=working_deadline(start, clocks.remind_after_working_days, land, clocks),
        escalate_at=working_deadline(start, clocks.escalate_after_working_days, land, clocks),
        expires_at=working_deadline(start, clocks.expire_after_working_days, land, clocks),
    )


def deadlines_of_earlier_code(start: datetime, land: str | None) -> ReferralDeadlines:
    """The deadlines of a referral whose case did not carry them yet (dispatched by code before
    they were computed at dispatch), as the pages computed them then: the default clocks, in
    the working days of `land`, or of the default Land where it is unknown or has no calendar."""
    try:
        return referral_deadlines(start, land or DEFAULT_LAND, Clocks())
    except ValueError:
        return referral_deadlines(start, DEFAULT_LAND, Clocks())


def unanswered_past_deadline(
    status: ReferralStatus,
    acknowledge_by: datetime | None,
    escalated: bool,
    now: datetime,
) -> bool:
    """Whether a referral counts as unanswered past its deadline (the partner's inbox and the
    supervisor's dashboard mark it): still dispatched, and past `acknowledge_by` or escalated
    by its workflow already."""
    if status is not ReferralStatus.DISPATCHED:
        return False
    return escalated or (acknowledge_by is not None and now > acknowledge_by)


class ReferralInput(StrictModel):
    referral_id: str  # case-<uuid>-ref-<n>: also the child's workflow id
    case_id: str  # the parent's workflow id (never its run id: that changes on continue-as-new)
    route_id: str
    route: Route
    partner_id: str
    land: str = DEFAULT_LAND  # the municipality's Land (ISO 3166-2 subdivision): its holidays
    dispatched_at: datetime
    clocks: Clocks = Field(default_factory=Clocks)
    # Set by the case at dispatch; an input from older code leaves it out, and the referral
    # computes the same deadlines itself (`referral_deadlines`).
    deadlines: ReferralDeadlines | None = None


class ReportKind(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    PROGRESS = "progress"
    REMINDER = "reminder"
    ESCALATED = "escalated"
    DECLINED = "declined"
    EXPIRED = "expired"
    COMPLETED = "completed"


class ReferralReport(StrictModel):
    """Signal payload child -> parent (`referral_report`)."""

    referral_id: str
    route_id: str
    partner_id: str
    kind: ReportKind
    at: datetime
    outcome: Outcome | None = None
    note: str | None = None


# What a partner or counsellor reads for each status.
STATUS_LABELS: dict[ReferralStatus, str] = {
    ReferralStatus.DISPATCHED: "übermittelt",
    ReferralStatus.ACKNOWLEDGED: "angenommen",
    ReferralStatus.COMPLETED: "abgeschlossen",
    ReferralStatus.DECLINED: "abgelehnt",
    ReferralStatus.EXPIRED: "abgelaufen",
    ReferralStatus.WITHDRAWN: "zurückgezogen",
}
CLOSED = frozenset({ReferralStatus.COMPLETED, ReferralStatus.DECLINED, ReferralStatus.EXPIRED})
# The statuses in which a partner still has to act (inbox, open counts, the case's checks).
OPEN = frozenset({ReferralStatus.DISPATCHED, ReferralStatus.ACKNOWLEDGED})


class ProgressEntry(BaseModel):
    at: datetime
    note: str


class ReferralState(BaseModel):
    """Everything a referral knows; the `state()` query and the workflow result."""

    referral_id: str
    case_id: str
    route_id: str
    partner_id: str
    status: ReferralStatus = ReferralStatus.DISPATCHED
    dispatched_at: datetime
    remind_at: datetime
    escalate_at: datetime
    expire_at: datetime
    acknowledged_at: datetime | None = None
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: Outcome | None = None
    decline_reason: str | None = None
    # The partner's progress notes: the read model keeps them all (`referral_notes`); the
    # state only the last few and their count (before that archive: every note, no count).
    progress: list[ProgressEntry] = Field(default_factory=list)
    progress_count: int = 0
    recent_update_ids: list[str] = Field(default_factory=list)

    def note_count(self) -> int:
        return max(self.progress_count, len(self.progress))


class ReferralContinuation(BaseModel):
    """The input of a referral's next run after continue-as-new: the case's input and the
    state so far (deadlines included, so they are never recomputed)."""

    input: ReferralInput
    state: ReferralState
