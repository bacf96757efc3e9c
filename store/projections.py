"""The read model: what the API lists and the supervisor watches, projected from the workflows.

Temporal is the source of truth; these rows are a copy for fast lists and scoped queries,
written only by activities and rebuildable from the workflows. Hence:

- no foreign keys: activities deliver at least once and in no guaranteed order across
  workflows (a referral child may report before its parent's summary write has landed), so a
  foreign key would turn a harmless race into an activity retrying forever;
- `last_applied_seq` on the rows that change over time: the case (or referral) event sequence
  whose effect the row holds. A write carrying a sequence at or below it is a redelivery and is
  skipped, which makes the activities idempotent by business key;
- personal data kept to what a list or a partner task needs: the client's name and date of
  birth (the counsellor's own list shows them; shared and supervisor views the display name)
  and the name's search keys (`CaseNameKey`, domain/name_key.py); on a referral
  the common minimum (first name, languages) and the facts its partner's kind receives
  (`partner_view`, domain/consent.py). The profile itself stays in the workflow.

Indexes follow the API's queries (named in each table's comment).
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, Text
from sqlmodel import Field, SQLModel

from domain.case import StepBy
from domain.enums import ActorKind, NeedKind
from domain.referral import OutcomeResult, ReferralStatus
from store.models import SLUG_LENGTH, Role
from store.types import StrEnumType, UTCDateTime

ID_LENGTH = 120  # case-<uuid>-ref-<n> and task ids derived from it


def client_display_name(given_name: str, family_name: str) -> str:
    """ "Amina K.": enough to find a case in a list, without the full name in every row."""
    given = " ".join(given_name.split())
    family = family_name.strip()
    return f"{given} {family[0].upper()}." if family else given


class CaseSummary(SQLModel, table=True):
    __tablename__ = "case_summaries"
    __table_args__ = (
        # counsellor lists: a centre's cases by stage, most recently changed first
        Index("ix_case_summaries_centre_stage", "centre_id", "stage", "updated_at"),
        # A centre's whole list, newest first (`GET /cases` without filters): migration 0002.
        Index("ix_case_summaries_centre_updated", "centre_id", "updated_at", "case_id"),
        # "my cases"
        Index("ix_case_summaries_counsellor", "counsellor_id", "updated_at"),
        # supervision: overdue reviews of a municipality, most overdue first; caseload
        Index("ix_case_summaries_overdue", "municipality_id", "review_overdue", "next_review_due"),
        # The search by case number (migration 0012).
        Index("ix_case_summaries_number", "number"),
    )

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)  # the workflow id, case-<uuid>
    municipality_id: str = Field(max_length=SLUG_LENGTH)
    centre_id: str = Field(max_length=SLUG_LENGTH)
    counsellor_id: str = Field(max_length=SLUG_LENGTH)
    stage: str = Field(max_length=32)
    next_review_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_overdue: bool = False
    open_task_count: int = 0
    client_display_name: str = Field(max_length=120)
    # Migration 0012: the human case number (domain/case_number.py; "" only between a case's
    # first batch and its number, never after a batch), the client's full name and date of
    # birth (null before the intake). A row projected before 0012 has the given name only
    # (the display name's), until its case's next batch brings the rest.
    # A server default too, so bulk writers that name the older columns only (bench/) still work.
    number: str = Field(default="", max_length=20, sa_column_kwargs={"server_default": ""})
    client_given_name: str = Field(
        default="", max_length=100, sa_column_kwargs={"server_default": ""}
    )
    client_family_name: str = Field(
        default="", max_length=100, sa_column_kwargs={"server_default": ""}
    )
    client_birth_date: date | None = None
    opened_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    last_applied_seq: int = 0


class CaseNameKey(SQLModel, table=True):
    """One search key of a case's client name (domain/name_key.py; migration 0012): the search
    finds cases by key through the index, the projector replaces a case's keys with each batch."""

    __tablename__ = "case_name_keys"
    __table_args__ = (Index("ix_case_name_keys_key", "key", "case_id"),)

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    key: str = Field(primary_key=True, max_length=40)


class ReferralSummary(SQLModel, table=True):
    """One referral (ReferralWorkflow) as a partner and a supervisor see it."""

    __tablename__ = "referrals"
    __table_args__ = (
        # partner inbox and the directory's open-referral count: a partner's referrals by status
        Index("ix_referrals_partner_status", "partner_id", "status", "dispatched_at"),
        # supervision: open / unacknowledged-past-SLA referrals of a municipality
        Index("ix_referrals_municipality_status", "municipality_id", "status", "dispatched_at"),
        # The evaluation (migration 0011; store/reads/evaluation.py and the monthly cells):
        # covering, so a count reads no row. The referrals dispatched in a period, and the
        # partners that acknowledged or ended one in it.
        Index(
            "ix_referrals_municipality_dispatched",
            "municipality_id",
            "dispatched_at",
            "centre_id",
            "actor_kind",
            "acknowledge_hours",
            "acknowledged_at",
            "status",
            "result",
        ),
        Index(
            "ix_referrals_municipality_acknowledged",
            "municipality_id",
            "acknowledged_at",
            "centre_id",
            "partner_id",
        ),
        Index(
            "ix_referrals_municipality_ended",
            "municipality_id",
            "ended_at",
            "status",
            "centre_id",
            "partner_id",
        ),
    )

    id: str = Field(primary_key=True, max_length=ID_LENGTH)  # case-<uuid>-ref-<n>
    case_id: str = Field(index=True, max_length=ID_LENGTH)
    municipality_id: str = Field(max_length=SLUG_LENGTH)
    route_id: str = Field(max_length=ID_LENGTH)
    partner_id: str = Field(max_length=SLUG_LENGTH)
    actor_kind: ActorKind = Field(sa_type=StrEnumType(ActorKind))
    measure: str = Field(max_length=64)
    need_kind: NeedKind = Field(sa_type=StrEnumType(NeedKind))
    status: ReferralStatus = Field(sa_type=StrEnumType(ReferralStatus))
    dispatched_at: datetime = Field(sa_type=UTCDateTime)
    # The referral's deadlines, as the case computed them at dispatch (domain.referral.
    # ReferralDeadlines). Referrals dispatched by code before that get the deadlines the pages
    # computed then (domain.referral.deadlines_of_earlier_code): in migration 0004 if they were
    # projected already, from the projector if their event comes later.
    acknowledge_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalate_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated: bool = False
    # The routing rule's priority (1 urgent, 2 normal, 3 when possible: domain.needs.Route);
    # null for a referral dispatched before the case carried it (migration 0005).
    priority: int | None = None
    # What the partner's task needs and the signed consent clause names; nothing more. The
    # common minimum in columns, the facts of the partner's kind in `partner_view`
    # (domain.consent.PartnerView.stored(): only the keys its kind receives). Empty for a
    # referral projected before migration 0008 (its clause named the common minimum only) and
    # once the referral is withdrawn.
    client_first_name: str = Field(max_length=100)
    languages: list[str] = Field(default_factory=list, sa_type=JSON)  # domain/languages.py codes
    partner_view: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # The evaluation's facts (migration 0010; store/facts.py): the centre that sent it, when it
    # ended (declined, expired, withdrawn or completed: `status` says which), a completed
    # one's result, and the hours from dispatch to acknowledgement (the report's median).
    centre_id: str = Field(default="", max_length=SLUG_LENGTH)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    result: OutcomeResult | None = Field(default=None, sa_type=StrEnumType(OutcomeResult))
    acknowledge_hours: int | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)
    last_applied_seq: int = 0


class TaskRecord(SQLModel, table=True):
    """Something a person has to do: a counsellor's (permit expiry, follow-up, no partner left)
    or a municipality's supervisors' (overdue review, escalated referral)."""

    __tablename__ = "tasks"
    __table_args__ = (
        # "my open tasks", soonest first
        Index("ix_tasks_assignee", "assignee_role", "assignee_id", "done", "due_at"),
    )

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    case_id: str = Field(index=True, max_length=ID_LENGTH)
    referral_id: str | None = Field(default=None, max_length=ID_LENGTH)
    kind: str = Field(max_length=64)
    assignee_role: Role = Field(sa_type=StrEnumType(Role))
    # The counsellor's username for a counsellor task, the municipality id for a supervisor task.
    assignee_id: str = Field(max_length=SLUG_LENGTH)
    title: str = Field(max_length=300)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)


class ReviewRecord(SQLModel, table=True):
    """A recorded review with the model project's two evaluation questions (for the report)
    and the goal progress it recorded (the case itself keeps only its last few reviews)."""

    __tablename__ = "reviews"
    __table_args__ = (
        # The evaluation (migrations 0010, 0011; store/reads/evaluation.py and the monthly
        # cells): covering, so a count reads no row. The reviews due in a period, the reviews
        # recorded in it (the survey), and those whose next review (anywhere, or at the same
        # centre) came in it.
        Index("ix_reviews_municipality_due", "municipality_id", "due_at", "centre_id", "days_late"),
        Index(
            "ix_reviews_municipality_recorded",
            "municipality_id",
            "recorded_at",
            "centre_id",
            "agreement_helped",
            "easier_to_keep_at_it",
            "next_recorded_at",
            "next_here_recorded_at",
            "goals_open",
            "goals_in_progress",
            "goals_achieved",
            "goals_dropped",
        ),
        Index("ix_reviews_municipality_next", "municipality_id", "next_recorded_at", "recorded_at"),
        Index(
            "ix_reviews_municipality_next_here",
            "municipality_id",
            "next_here_recorded_at",
            "centre_id",
            "recorded_at",
        ),
    )

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    seq: int = Field(primary_key=True)  # the case event sequence that recorded it
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    agreement_helped: bool | None = None
    easier_to_keep_at_it: bool | None = None
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the date it answered
    next_review_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # [{"goal_id", "status", "note"}] as the counsellor recorded them (migration 0003).
    goal_progress: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    # The evaluation's facts (migration 0010): where the case was when the review was recorded,
    # and how many of the agreement's goals stood at each status after it (a goal this review
    # did not mention keeps the status an earlier review gave it).
    municipality_id: str = Field(default="", max_length=SLUG_LENGTH)
    centre_id: str = Field(default="", max_length=SLUG_LENGTH)
    goals_open: int = 0
    goals_in_progress: int = 0
    goals_achieved: int = 0
    goals_dropped: int = 0
    # Whole days, rounded up, from the date it answered to its recording (negative: early;
    # null: no due date). The report's "on time" is at most 14.
    days_late: int | None = None
    # When the case's next review was recorded; null while this is its latest. The survey
    # counts each client at the last review in a period: the one recorded in it whose next
    # came after it (store/fact_writer.py sets it when the next review is recorded).
    next_recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the case's next review at the same centre was recorded (migration 0011): one
    # centre's figures count a client at her last review there.
    next_here_recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseEventRecord(SQLModel, table=True):
    """Everything that happened to a case, in order: the case's events (ids, kinds, dates and
    counts, never personal data; one model per kind in domain/events.py). The case carries only
    the events not yet here (domain/compaction.py); `GET /cases/{id}/history` reads these."""

    __tablename__ = "case_events"

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    seq: int = Field(primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=40)
    stage: str = Field(max_length=32)  # the stage after the event
    data: dict[str, str | int | bool | None] = Field(default_factory=dict, sa_type=JSON)


class AgreementDocumentRecord(SQLModel, table=True):
    """Every rendered version of a case's agreement, archived when it is rendered and never
    changed: the signed text outlives the workflow and Temporal's retention. Keyed by its hash
    too, because a version number is taken only once the signature request succeeds: a render
    whose request then failed leaves a row that no signature names."""

    __tablename__ = "agreement_documents"

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    version: int = Field(primary_key=True)
    hash: str = Field(primary_key=True, max_length=64)  # SHA-256 (hex) of the UTF-8 text
    text: str = Field(sa_type=Text)
    rendered_at: datetime = Field(sa_type=UTCDateTime)


class ReferralNoteRecord(SQLModel, table=True):
    """A partner's progress note on a referral (the referral carries only its last few)."""

    __tablename__ = "referral_notes"
    __table_args__ = (
        # the evaluation: did a partner write a note in a period (migration 0010)
        Index("ix_referral_notes_partner", "partner_id", "at", "referral_id"),
        # The evaluation's monthly cells: the notes of a month (migration 0011).
        Index("ix_referral_notes_at", "at", "referral_id", "partner_id"),
    )

    referral_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    number: int = Field(primary_key=True)  # 1, 2, ... per referral
    case_id: str = Field(index=True, max_length=ID_LENGTH)
    partner_id: str = Field(max_length=SLUG_LENGTH)
    at: datetime = Field(sa_type=UTCDateTime)
    note: str = Field(max_length=2000)


class ReferralStepRecord(SQLModel, table=True):
    """A step of a referral as its case heard it, with the partner's (or the counsellor's)
    words: the referral's timeline (`GET /cases/{id}` `referrals[].history`, the case page).
    Keyed by the case event that recorded it (domain.case.ReferralStep); migration 0005."""

    __tablename__ = "referral_steps"

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    seq: int = Field(primary_key=True)
    referral_id: str = Field(index=True, max_length=ID_LENGTH)
    at: datetime = Field(sa_type=UTCDateTime)
    status: ReferralStatus = Field(sa_type=StrEnumType(ReferralStatus))
    note: str = Field(default="", max_length=2000)
    by: StepBy = Field(default=StepBy.PARTNER, sa_type=StrEnumType(StepBy))


class AuditEvent(SQLModel, table=True):
    """Who did what to which object. Ids and verbs only, never personal data: the audit log is
    kept longer than cases are."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id", "at"),
        Index("ix_audit_events_actor", "actor", "at"),
    )

    # SQLite autoincrements only an INTEGER PRIMARY KEY (the rowid alias), not a BIGINT one.
    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer(), "sqlite")
    )
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=SLUG_LENGTH)  # username
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=ID_LENGTH)
