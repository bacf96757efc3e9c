"""The contract between a case (AgreementWorkflow) and its referrals (ReferralWorkflow):
the child's input, its state, the partner's outcome and the report a child sends its parent."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from domain.clocks import Clocks
from domain.needs import Route
from domain.profile import StrictModel


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
    note: Annotated[str, Field(max_length=2000)] = ""


class DeclineReason(StrictModel):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ProgressNote(StrictModel):
    note: Annotated[str, Field(min_length=1, max_length=2000)]


class ReferralInput(StrictModel):
    referral_id: str  # case-<uuid>-ref-<n>: also the child's workflow id
    case_id: str  # the parent's workflow id (never its run id: that changes on continue-as-new)
    route_id: str
    route: Route
    partner_id: str
    land: str = "NW"  # the municipality's Land (ISO 3166-2 subdivision) for public holidays
    dispatched_at: datetime
    clocks: Clocks = Field(default_factory=Clocks)


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
