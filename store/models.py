"""The directory tables: municipalities, centres, partner agencies and user accounts; and the
inbound referrals between them (a partner refers a client to a centre).

The directory is configuration, kept by administrators: it has foreign keys, because a centre
without its municipality or a user scoped to a partner that does not exist is always a mistake.
The read model written by activities lives in `projections` and has none (see there why). An
inbound referral is written by the API (`store.inbound`) between two directory entries that
exist when it is written, so it has foreign keys to them too.

Importing this module registers the tables on `SQLModel.metadata`, which Alembic's env.py
compares migrations against. It holds no queries (those are in `directory`, `users`, `seed`,
`inbound` and `reads/`) but one: a new municipality's case prefix is derived on insert.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Index,
    Text,
    UniqueConstraint,
    event,
    select,
    text,
)
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel, col

from domain.case_number import derive_prefix
from domain.enums import ActorKind, CentreKind
from domain.inbound import InboundStatus
from store.types import StrEnumType, UTCDateTime

# Named constraints, so a later migration can drop or alter one by name; SQLite's batch mode
# (table copy) needs the names, as unnamed constraints cannot be addressed there.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SLUG_LENGTH = 64
ADDRESS_LENGTH = 300
PHONE_LENGTH = 40
EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path
DISPLAY_NAME_LENGTH = 120


class Role(StrEnum):
    """What a user account may do; its scope column says where (see `User`)."""

    COUNSELLOR = "counsellor"
    PARTNER = "partner"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    # The Land's or the federal programme's evaluation: aggregates only (migration 0010); her
    # municipalities are `evaluator_municipalities` rows, none meaning all.
    EVALUATOR = "evaluator"
    # A municipality's data protection officer (migration 0014): erases closed cases, exports
    # a client's data and reads the audit log; sees no case list.
    DATA_PROTECTION = "datenschutz"
    # A municipality's rule editor (migration 0018): drafts, tries and publishes the
    # municipality's routing rules; sees no case and no client.
    RULE_EDITOR = "regelwerk"


class Municipality(SQLModel, table=True):
    __tablename__ = "municipalities"

    id: str = Field(primary_key=True, max_length=SLUG_LENGTH)  # slug, e.g. "musterstadt"
    name: str = Field(max_length=200)
    # ISO 3166-2 subdivision code without the country (e.g. "NW"): picks the public holidays
    # that working-day clocks skip.
    land: str = Field(max_length=3)
    # The first part of its case numbers ("MUS" in MUS-2026-0147; domain/case_number.py):
    # three letters, unique. Set by migration 0012 for the municipalities before it, and
    # derived from the id when a row is inserted without one (store/case_numbers.py).
    case_prefix: str | None = Field(default=None, max_length=3, unique=True)
    # False: deactivated by an administrator (migration 0016): no new case opens at any of
    # its centres; its running cases carry on. Never deleted: cases refer to it.
    active: bool = True


@event.listens_for(OrmSession, "before_flush")
def _give_case_prefixes(session: OrmSession, context: object, instances: object) -> None:
    """A municipality added without a case prefix gets one derived from its id, as migration
    0012 gave the existing ones theirs; several added at once get different ones."""
    new = [row for row in session.new if isinstance(row, Municipality) and not row.case_prefix]
    if not new:
        return
    with session.no_autoflush:
        taken = {
            prefix
            for prefix in session.execute(select(col(Municipality.case_prefix))).scalars()
            if prefix
        }
    taken |= {
        row.case_prefix for row in session.new if isinstance(row, Municipality) and row.case_prefix
    }
    for row in sorted(new, key=lambda row: row.id):
        row.case_prefix = derive_prefix(row.id, taken)
        taken.add(row.case_prefix)


class Centre(SQLModel, table=True):
    """A migration counselling centre (MBE or JMD) that holds cases."""

    __tablename__ = "centres"

    id: str = Field(primary_key=True, max_length=SLUG_LENGTH)
    name: str = Field(max_length=200)
    kind: CentreKind = Field(sa_type=StrEnumType(CentreKind))
    municipality_id: str = Field(
        foreign_key="municipalities.id", index=True, max_length=SLUG_LENGTH
    )
    # Whom a partner or a client calls about a case (migration 0005); empty when not given.
    address: str = Field(default="", max_length=ADDRESS_LENGTH)
    phone: str = Field(default="", max_length=PHONE_LENGTH)
    email: str = Field(default="", max_length=EMAIL_LENGTH)
    # False: deactivated (migration 0016): it opens no new case and takes no transfer or
    # inbound referral; its running cases carry on.
    active: bool = True


class PartnerAgency(SQLModel, table=True):
    """A partner agency of the directory; `directory.SqlDirectory` turns it into a
    `domain.partners.Partner` (the type routing sees) with its open-referral count."""

    __tablename__ = "partners"
    __table_args__ = (Index("ix_partners_municipality_kind", "municipality_id", "kind"),)

    id: str = Field(primary_key=True, max_length=SLUG_LENGTH)
    name: str = Field(max_length=200)
    kind: ActorKind = Field(sa_type=StrEnumType(ActorKind))
    municipality_id: str = Field(foreign_key="municipalities.id", max_length=SLUG_LENGTH)
    # The measures (rule vocabulary, e.g. "integration_course") this agency carries out.
    measures: list[str] = Field(default_factory=list, sa_type=JSON)
    active: bool = True
    contact_email: str = Field(default="", max_length=EMAIL_LENGTH)


# One scope column per role and no other: a counsellor sees a centre's cases, a partner one
# agency's referrals, a supervisor, a data protection officer and a rule editor one
# municipality; an admin and an evaluator have none (an evaluator's municipalities are rows of
# their own, `EvaluatorMunicipality`). Kept in the database too, so no code path (seed, admin
# API, a hand-written SQL fix) can store a half-scoped account.
_SCOPE_FITS_ROLE = (
    "(role = 'counsellor' AND centre_id IS NOT NULL AND partner_id IS NULL"
    " AND municipality_id IS NULL)"
    " OR (role = 'partner' AND partner_id IS NOT NULL AND centre_id IS NULL"
    " AND municipality_id IS NULL)"
    " OR (role = 'supervisor' AND municipality_id IS NOT NULL AND centre_id IS NULL"
    " AND partner_id IS NULL)"
    " OR (role = 'admin' AND centre_id IS NULL AND partner_id IS NULL"
    " AND municipality_id IS NULL)"
    " OR (role = 'evaluator' AND centre_id IS NULL AND partner_id IS NULL"
    " AND municipality_id IS NULL)"
    " OR (role = 'datenschutz' AND municipality_id IS NOT NULL AND centre_id IS NULL"
    " AND partner_id IS NULL)"
    " OR (role = 'regelwerk' AND municipality_id IS NOT NULL AND centre_id IS NULL"
    " AND partner_id IS NULL)"
)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_SCOPE_FITS_ROLE, name="scope_fits_role"),)

    username: str = Field(primary_key=True, max_length=SLUG_LENGTH)
    role: Role = Field(sa_type=StrEnumType(Role))
    centre_id: str | None = Field(
        default=None, foreign_key="centres.id", index=True, max_length=SLUG_LENGTH
    )
    partner_id: str | None = Field(
        default=None, foreign_key="partners.id", index=True, max_length=SLUG_LENGTH
    )
    municipality_id: str | None = Field(
        default=None, foreign_key="municipalities.id", index=True, max_length=SLUG_LENGTH
    )
    # argon2id in PHC string format (parameters and salt included), ~100 characters.
    password_hash: str = Field(max_length=255)
    active: bool = True
    # The person behind the login, as partners and colleagues read it, and how to reach her
    # (migration 0005); empty when not given (the pages then show the username).
    display_name: str = Field(default="", max_length=DISPLAY_NAME_LENGTH)
    phone: str = Field(default="", max_length=PHONE_LENGTH)
    email: str = Field(default="", max_length=EMAIL_LENGTH)
    # Whether notices also go to `email` (migration 0007); the in-app list shows them either
    # way. Each user turns it off and on for herself (`PUT /me/notification-settings`).
    email_notifications: bool = True
    # A supervisor's daily digest of her municipality's open items (migration 0009): opt-in.
    daily_digest: bool = False
    # Set by an administrator's password reset (migration 0015): until the account chooses a
    # new password, its token and session reach nothing else (api/deps.py, api/ui/session.py).
    must_change_password: bool = False
    # When the password was last reset or changed (migration 0015): tokens and sessions
    # issued before then are refused (api/deps.py, api/ui/session.py). None: never since.
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EvaluatorMunicipality(SQLModel, table=True):
    """A municipality an evaluator's figures cover (migration 0010). An evaluator without
    rows covers every municipality: the federal programme; with rows, a Land's set."""

    __tablename__ = "evaluator_municipalities"

    username: str = Field(foreign_key="users.username", primary_key=True, max_length=SLUG_LENGTH)
    municipality_id: str = Field(
        foreign_key="municipalities.id", primary_key=True, max_length=SLUG_LENGTH
    )


# A decided referral says when and by whom; an accepted one names its case, a declined one its
# reason. An open one may name its case already: accepting claims the case id before it starts
# the case (store.inbound), so a decline cannot slip in between.
_DECISION_FITS_STATUS = (
    "(status = 'open' AND decided_at IS NULL AND decided_by IS NULL"
    " AND decline_reason IS NULL)"
    " OR (status = 'accepted' AND decided_at IS NOT NULL AND decided_by IS NOT NULL"
    " AND case_id IS NOT NULL AND decline_reason IS NULL)"
    " OR (status = 'declined' AND decided_at IS NOT NULL AND decided_by IS NOT NULL"
    " AND case_id IS NULL AND decline_reason IS NOT NULL)"
)
INBOUND_ID_LENGTH = 64  # inbound-<uuid>: 44 characters


class InboundReferral(SQLModel, table=True):
    """A partner's referral of a client to a counselling centre of its municipality, and the
    centre's decision. Its ids and instants are the networking facts the evaluation counts
    (who referred to whom, when, and what became of it); the client's name, contact and the
    reason are for the centre's counsellors alone (and the name, for the partner that sent it).
    """

    __tablename__ = "inbound_referrals"
    __table_args__ = (
        CheckConstraint(_DECISION_FITS_STATUS, name="decision_fits_status"),
        # a centre's incoming referrals by status, newest first
        Index("ix_inbound_referrals_centre_status", "centre_id", "status", "created_at"),
        # a partner's sent referrals, newest first
        Index("ix_inbound_referrals_partner_created", "partner_id", "created_at"),
        # coordination: the municipality's referrals, newest first
        Index("ix_inbound_referrals_municipality_created", "municipality_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=INBOUND_ID_LENGTH)  # inbound-<uuid>
    partner_id: str = Field(foreign_key="partners.id", max_length=SLUG_LENGTH)
    # The partner's kind when it referred (a directory entry's kind may change later).
    partner_kind: ActorKind = Field(sa_type=StrEnumType(ActorKind))
    centre_id: str = Field(foreign_key="centres.id", max_length=SLUG_LENGTH)
    municipality_id: str = Field(foreign_key="municipalities.id", max_length=SLUG_LENGTH)
    status: InboundStatus = Field(sa_type=StrEnumType(InboundStatus))
    created_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=SLUG_LENGTH)  # counsellor username
    # The case accepting opened (case-<uuid>, derived from this id); one referral, one case.
    case_id: str | None = Field(default=None, unique=True, max_length=120)
    decline_reason: str | None = Field(default=None, max_length=2000)
    # What the partner sent about the client (domain.inbound.InboundReferralRequest).
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    reason: str = Field(max_length=2000)


class RuleSetStatus(StrEnum):
    """A municipality's rule set version: edited as a draft, then published; publishing the
    next one supersedes it. Only one is published per municipality at a time."""

    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class RuleSetVersion(SQLModel, table=True):
    """One version of a municipality's overrides of the federal routing table (migration
    0018): the override (add, replace, disable by rule id) as its author wrote it, YAML or
    JSON, and the content hash of the merged catalog it gives, which is the
    `ruleset_version` every route routed by it records. Never deleted: a case's routes name
    the hash of the version they were routed with, and this row says which one it was."""

    __tablename__ = "rule_sets"
    __table_args__ = (
        Index("ix_rule_sets_municipality_status", "municipality_id", "status"),
        UniqueConstraint("municipality_id", "version"),
        # One published version per municipality, whatever two publishers do at once.
        Index(
            "uq_rule_sets_one_published",
            "municipality_id",
            unique=True,
            sqlite_where=text("status = 'published'"),
            postgresql_where=text("status = 'published'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    municipality_id: str = Field(foreign_key="municipalities.id", max_length=SLUG_LENGTH)
    version: int  # 1, 2, ... per municipality, in the order the drafts were made
    status: RuleSetStatus = Field(sa_type=StrEnumType(RuleSetStatus))
    override_text: str = Field(sa_type=Text)
    content_hash: str = Field(max_length=64)  # SHA-256 of the merged catalog (rules.Catalog)
    created_by: str = Field(max_length=SLUG_LENGTH)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    published_by: str | None = Field(default=None, max_length=SLUG_LENGTH)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
