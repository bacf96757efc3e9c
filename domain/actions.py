"""The payloads of the counsellor's actions on a case (the workflow updates of DESIGN.md) and
what the activities hand back into them (a rendered document).

Field-level checks live here (pydantic); checks that need the case (does this goal exist, is
the hash current) live in the stage functions, which answer with a `Rejection`.
"""

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from domain.case import (
    ClientName,
    ClosureReason,
    GoalProgress,
    Party,
    Responsible,
    SetAside,
    Survey,
)
from domain.consent import COMMON_MINIMUM_TERMS
from domain.editions import UNKNOWN_EDITION, edition_code
from domain.enums import CentreKind
from domain.fields import Id, LanguageCode, Note, PlausibleDate, Text
from domain.needs import Need
from domain.profile import StrictModel


class CaseOpen(StrictModel):
    """`POST /cases`: the client's name; centre and counsellor come from the caller."""

    client: ClientName


class DraftGoal(StrictModel):
    text: Text
    target_date: PlausibleDate | None = None
    # Optional: the id of a goal of the current agreement this one continues (keeps its status).
    id: Id | None = None


class DraftMeasure(StrictModel):
    text: Text
    responsible: Responsible
    route_id: Id | None = None  # the routing proposal this measure carries out
    partner_id: Id | None = None  # overrides the proposal's partner ...
    override_reason: Note | None = None  # ... with a reason

    @model_validator(mode="after")
    def _partner_needs_route(self) -> "DraftMeasure":
        if self.responsible is Responsible.PARTNER and self.route_id is None:
            raise ValueError(
                "route_id: Eine Maßnahme eines Partners braucht einen Routing-Vorschlag "
                "(route_id); er bestimmt die Art des Partners."
            )
        if self.partner_id is not None and self.route_id is None:
            raise ValueError(
                "partner_id: Ein Partner kann nur zu einem Routing-Vorschlag gewählt werden."
            )
        return self


class AgreementDraft(StrictModel):
    goals: Annotated[list[DraftGoal], Field(min_length=1, max_length=30)]
    measures: Annotated[list[DraftMeasure], Field(max_length=50)] = Field(default_factory=list)


class Signature(StrictModel):
    party: Party
    # SHA-256 in hex, as `POST /cases/{id}/signature-request` answered it.
    document_hash: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]


class Review(StrictModel):
    goal_progress: Annotated[list[GoalProgress], Field(max_length=30)] = Field(default_factory=list)
    survey: Survey = Field(default_factory=Survey)
    new_needs: Annotated[list[Need], Field(max_length=30)] = Field(default_factory=list)
    next_review_on: PlausibleDate | None = None


class Closure(StrictModel):
    reason: ClosureReason
    note: Note = ""


class Reassignment(StrictModel):
    counsellor_id: Id
    # The centre the caller checked the counsellor against (the directory's word, which the
    # case cannot ask): the case refuses when another centre holds it by now. The
    # coordination's assignment always names it (api/supervision.py); left out, nothing is
    # compared (every reassignment recorded before it existed).
    centre_id: Id | None = None


class CounsellorChoice(StrictModel):
    """The body of the coordination's assignment of a transferred case: whom (an active
    counsellor of the centre that holds the case)."""

    counsellor_id: Id


class Transfer(StrictModel):
    centre_id: Id
    # The new centre's kind when it differs (MBE -> JMD); unchanged when left out.
    centre_kind: CentreKind | None = None
    # The counsellor at the new centre, if known; otherwise the case waits for one (a task).
    counsellor_id: Id | None = None


class TaskDone(StrictModel):
    task_id: Id


class MeasureCompletionDay(StrictModel):
    """The body of a check-off: the day the measure was done (the measure comes from the
    path)."""

    done_on: PlausibleDate


class OwnMeasureCompletion(StrictModel):
    """The client or the centre did one of its own measures, on `done_on` (a partner's
    measure is completed by the partner's report, not here)."""

    measure_id: Id
    done_on: PlausibleDate


class WithdrawalReason(StrictModel):
    """The body of a withdrawal: why (the referral comes from the path), and whether the
    client withdrew her consent for the measure (then it is not handed on again)."""

    reason: Text
    consent_withdrawn: bool = False


class SetAsideChoice(StrictModel):
    """The body of setting a measure aside: how (`rest` or `coordination`) and why."""

    how: Literal[SetAside.REST, SetAside.COORDINATION]
    reason: Text


class ReferralSetAside(StrictModel):
    """A referral that went nowhere (declined, expired, withdrawn): its measure rests, or goes
    to the coordination for want of a partner."""

    referral_id: Id
    how: Literal[SetAside.REST, SetAside.COORDINATION]
    reason: Text


class RerouteChoice(StrictModel):
    """The body of a re-route: to whom (none: the next partner the directory offers), why."""

    partner_id: Id | None = None
    reason: Text


class ReferralWithdrawal(StrictModel):
    """A counsellor (or, for an escalated referral, the coordination) takes a referral back;
    the reason is shown to the counsellor in the referral's timeline."""

    referral_id: Id
    reason: Text
    consent_withdrawn: bool = False


class ReferralReroute(StrictModel):
    """Hand a referral's measure to another partner of the same kind: `partner_id`, or the
    next the directory offers when none is given."""

    referral_id: Id
    partner_id: Id | None = None
    reason: Text


class SignatureEdition(StrictModel):
    """Which edition a signature request presents: German only (no language), or German with
    the client's language following each block (a code of domain/editions.py; `fa` reads the
    Dari edition)."""

    language: LanguageCode | None = None

    @field_validator("language")
    @classmethod
    def _has_translation(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = edition_code(value)  # exactly a code: nothing stripped, nothing guessed
        if code is None:
            raise ValueError(UNKNOWN_EDITION)
        return code


class RenderedDocument(StrictModel):
    """The agreement as the client signs it (from the render activity). The activity archives
    the text in the read model and answers with its hash only; `text` is set in the results
    of older workers."""

    text: str = ""
    hash: Annotated[str, Field(min_length=64, max_length=64)]
    # Which consent clause the text holds (domain.consent): what its referrals may send. A
    # result recorded before the clause named the kind-specific facts has none: the common
    # minimum.
    consent_terms: Annotated[int, Field(ge=1)] = COMMON_MINIMUM_TERMS
    # The edition's language when the text is bilingual (domain/editions.py); None: German
    # only, as in every result recorded before editions.
    language: str | None = None
