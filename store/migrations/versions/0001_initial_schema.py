"""Initial schema: the directory (municipalities, centres, partners, users) and the read model
(case summaries, referrals, tasks, reviews, audit events).

Written by hand from autogenerate's output. Types are the plain SQLAlchemy ones the store's
column types are stored as (VARCHAR for enums, timestamptz for instants), so this file never
changes when application code does.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLUG = sa.String(length=64)
ID = sa.String(length=120)
ENUM = sa.String(length=32)
INSTANT = sa.DateTime(timezone=True)
USERS_SCOPE_FITS_ROLE = (
    "(role = 'counsellor' AND centre_id IS NOT NULL AND partner_id IS NULL"
    " AND municipality_id IS NULL)"
    " OR (role = 'partner' AND partner_id IS NOT NULL AND centre_id IS NULL"
    " AND municipality_id IS NULL)"
    " OR (role = 'supervisor' AND municipality_id IS NOT NULL AND centre_id IS NULL"
    " AND partner_id IS NULL)"
    " OR (role = 'admin' AND centre_id IS NULL AND partner_id IS NULL"
    " AND municipality_id IS NULL)"
)


def upgrade() -> None:
    _directory()
    _read_model()


def _directory() -> None:
    op.create_table(
        "municipalities",
        sa.Column("id", SLUG, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("land", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipalities")),
    )
    op.create_table(
        "centres",
        sa.Column("id", SLUG, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", ENUM, nullable=False),
        sa.Column("municipality_id", SLUG, nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_centres_municipality_id_municipalities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_centres")),
    )
    op.create_index(op.f("ix_centres_municipality_id"), "centres", ["municipality_id"])
    op.create_table(
        "partners",
        sa.Column("id", SLUG, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", ENUM, nullable=False),
        sa.Column("municipality_id", SLUG, nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_partners_municipality_id_municipalities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
    )
    op.create_index("ix_partners_municipality_kind", "partners", ["municipality_id", "kind"])
    op.create_table(
        "users",
        sa.Column("username", SLUG, nullable=False),
        sa.Column("role", ENUM, nullable=False),
        sa.Column("centre_id", SLUG, nullable=True),
        sa.Column("partner_id", SLUG, nullable=True),
        sa.Column("municipality_id", SLUG, nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(USERS_SCOPE_FITS_ROLE, name=op.f("ck_users_scope_fits_role")),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centres.id"], name=op.f("fk_users_centre_id_centres")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_users_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_users_municipality_id_municipalities"),
        ),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_users")),
    )
    op.create_index(op.f("ix_users_centre_id"), "users", ["centre_id"])
    op.create_index(op.f("ix_users_partner_id"), "users", ["partner_id"])
    op.create_index(op.f("ix_users_municipality_id"), "users", ["municipality_id"])


def _read_model() -> None:
    op.create_table(
        "case_summaries",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("municipality_id", SLUG, nullable=False),
        sa.Column("centre_id", SLUG, nullable=False),
        sa.Column("counsellor_id", SLUG, nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("next_review_due", INSTANT, nullable=True),
        sa.Column("review_overdue", sa.Boolean(), nullable=False),
        sa.Column("open_task_count", sa.Integer(), nullable=False),
        sa.Column("client_display_name", sa.String(length=120), nullable=False),
        sa.Column("opened_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("last_applied_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_summaries")),
    )
    op.create_index(
        "ix_case_summaries_centre_stage", "case_summaries", ["centre_id", "stage", "updated_at"]
    )
    op.create_index(
        "ix_case_summaries_counsellor", "case_summaries", ["counsellor_id", "updated_at"]
    )
    op.create_index(
        "ix_case_summaries_overdue",
        "case_summaries",
        ["municipality_id", "review_overdue", "next_review_due"],
    )
    op.create_table(
        "referrals",
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("municipality_id", SLUG, nullable=False),
        sa.Column("route_id", ID, nullable=False),
        sa.Column("partner_id", SLUG, nullable=False),
        sa.Column("actor_kind", ENUM, nullable=False),
        sa.Column("measure", sa.String(length=64), nullable=False),
        sa.Column("need_kind", ENUM, nullable=False),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("dispatched_at", INSTANT, nullable=False),
        sa.Column("acknowledged_at", INSTANT, nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("client_first_name", sa.String(length=100), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("last_applied_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    op.create_index(op.f("ix_referrals_case_id"), "referrals", ["case_id"])
    op.create_index(
        "ix_referrals_partner_status", "referrals", ["partner_id", "status", "dispatched_at"]
    )
    op.create_index(
        "ix_referrals_municipality_status",
        "referrals",
        ["municipality_id", "status", "dispatched_at"],
    )
    op.create_table(
        "tasks",
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("referral_id", ID, nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("assignee_role", ENUM, nullable=False),
        sa.Column("assignee_id", SLUG, nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("due_at", INSTANT, nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(op.f("ix_tasks_case_id"), "tasks", ["case_id"])
    op.create_index(
        "ix_tasks_assignee", "tasks", ["assignee_role", "assignee_id", "done", "due_at"]
    )
    op.create_table(
        "reviews",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("recorded_at", INSTANT, nullable=False),
        sa.Column("agreement_helped", sa.Boolean(), nullable=True),
        sa.Column("easier_to_keep_at_it", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("case_id", "seq", name=op.f("pk_reviews")),
    )
    op.create_table(
        "audit_events",
        # SQLite autoincrements only an INTEGER PRIMARY KEY (the rowid alias).
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("actor", SLUG, nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor", "at"])
    op.create_index("ix_audit_events_object", "audit_events", ["object_type", "object_id", "at"])


def downgrade() -> None:
    # Dependants first; dropping a table drops its indexes on both backends.
    for table in (
        "audit_events",
        "reviews",
        "tasks",
        "referrals",
        "case_summaries",
        "users",
        "partners",
        "centres",
        "municipalities",
    ):
        op.drop_table(table)
