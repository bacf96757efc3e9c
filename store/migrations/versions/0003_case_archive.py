"""What a case no longer carries lives here: its events (`case_events`), every rendered version
of its agreement (`agreement_documents`, archived at rendering, never changed), the partners'
progress notes (`referral_notes`), and each review's goal progress and dates (`reviews`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLUG = sa.String(length=64)
ID = sa.String(length=120)
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_events",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", name=op.f("pk_case_events")),
    )
    op.create_table(
        "agreement_documents",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("rendered_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "version", "hash", name=op.f("pk_agreement_documents")),
    )
    op.create_table(
        "referral_notes",
        sa.Column("referral_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("partner_id", SLUG, nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("referral_id", "number", name=op.f("pk_referral_notes")),
    )
    op.create_index(op.f("ix_referral_notes_case_id"), "referral_notes", ["case_id"])
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(sa.Column("due_at", INSTANT, nullable=True))
        batch.add_column(sa.Column("next_review_due", INSTANT, nullable=True))
        batch.add_column(sa.Column("goal_progress", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("goal_progress")
        batch.drop_column("next_review_due")
        batch.drop_column("due_at")
    for table in ("referral_notes", "agreement_documents", "case_events"):
        op.drop_table(table)
