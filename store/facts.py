"""The evaluation's facts: what the model project's figures count, projected from the case's
events (migration 0010), beside the read model's lists.

The lists (`store/projections.py`) say what is open now; these rows say what happened and
when, so the report (`store/reads/evaluation.py`) can count any period: agreements concluded
and amended, closures with their reason, the needs assessed and the rules that routed them.
The reviews and the referrals already had rows; migration 0010 gave them the facts they
lacked (the centre, the goals' statuses, a referral's end and outcome).

Like the read model these rows have no foreign keys and no personal data: ids, kinds, instants
and counts. They are written by the projector (`store/fact_writer.py`, once per event) and
rebuilt for cases from before by `lotse db backfill-evaluation` (`store/backfill.py`), which
replays the archived events through the same writer. Every row is keyed by its business key,
so a repeated write changes nothing.

Each table has the index a count reads, covering it (no row is read): the municipality, the
instant, and the rest of what the query needs (migration 0011), so a month or a few days of a
municipality are one range. The report reads whole months from the monthly cells
(store/evaluation_cells.py), which are counted with these. bench/evaluation.py measures them.
"""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from domain.case import ClosureReason
from domain.enums import ActorKind, NeedKind
from store.models import SLUG_LENGTH
from store.projections import ID_LENGTH
from store.types import StrEnumType, UTCDateTime


class AgreementVersionFact(SQLModel, table=True):
    """A version of an agreement came into force: both signed it. Version 1 is the agreement
    concluded, every later one an amendment. `centre_id` is the centre that held the case then."""

    __tablename__ = "agreement_versions"
    __table_args__ = (
        Index(
            "ix_agreement_versions_municipality",
            "municipality_id",
            "activated_at",
            "centre_id",
            "version",
        ),
    )

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    version: int = Field(primary_key=True)
    municipality_id: str = Field(max_length=SLUG_LENGTH)
    centre_id: str = Field(max_length=SLUG_LENGTH)
    activated_at: datetime = Field(sa_type=UTCDateTime)


class ClosureFact(SQLModel, table=True):
    """A case closed, with its reason (`domain.case.ClosureReason`)."""

    __tablename__ = "case_closures"
    __table_args__ = (
        # a month's closures, for the monthly cells (migration 0011)
        Index("ix_case_closures_month", "municipality_id", "closed_at", "centre_id", "reason"),
    )

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    municipality_id: str = Field(max_length=SLUG_LENGTH)
    centre_id: str = Field(max_length=SLUG_LENGTH)
    closed_at: datetime = Field(sa_type=UTCDateTime)
    reason: ClosureReason = Field(sa_type=StrEnumType(ClosureReason))


class NeedFact(SQLModel, table=True):
    """A need assessed (at the assessment, or a review's new need), by its index in the case's
    needs; routed or not. Its rule hits are `RuleHitFact` rows."""

    __tablename__ = "need_facts"
    __table_args__ = (
        Index("ix_need_facts_month", "municipality_id", "at", "centre_id", "need_kind"),
    )

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    need_index: int = Field(primary_key=True)
    municipality_id: str = Field(max_length=SLUG_LENGTH)
    centre_id: str = Field(max_length=SLUG_LENGTH)
    at: datetime = Field(sa_type=UTCDateTime)
    need_kind: NeedKind = Field(sa_type=StrEnumType(NeedKind))


class RuleHitFact(SQLModel, table=True):
    """A routing rule matched a need: one row per route the rules proposed (the rule owners'
    statistics: which rules fire, for which needs, to which partner kind)."""

    __tablename__ = "rule_hits"
    __table_args__ = (Index("ix_rule_hits_month", "municipality_id", "at", "centre_id", "rule"),)

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    route_id: str = Field(primary_key=True, max_length=32)
    municipality_id: str = Field(max_length=SLUG_LENGTH)
    centre_id: str = Field(max_length=SLUG_LENGTH)
    at: datetime = Field(sa_type=UTCDateTime)
    rule: str = Field(max_length=120)
    need_kind: NeedKind = Field(sa_type=StrEnumType(NeedKind))
    actor_kind: ActorKind = Field(sa_type=StrEnumType(ActorKind))
