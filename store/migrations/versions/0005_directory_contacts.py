"""Whom to call, and what the partner said: centres get an address, a phone and an e-mail;
users a display name, a phone and an e-mail; a referral row keeps its routing priority; and
`referral_steps` keeps each step of a referral as its case heard it, with the partner's words.

A partner reads on its referral which centre sent the client, who the counsellor is and how
to reach both; a counsellor reads the priority the rules gave the measure. The directory's new
columns are empty for existing rows (the pages then fall back to the username or say that no
contact is known); an administrator fills them in. A referral projected before keeps a null
priority: its case carried none, and guessing "normal" would hide an urgent one. Steps
exist from this version on: a case heard its partners' notes before, but kept none of them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, length): each NOT NULL with an empty default, like `partners.contact_email`.
CONTACT_COLUMNS = (
    ("centres", "address", 300),
    ("centres", "phone", 40),
    ("centres", "email", 254),
    ("users", "display_name", 120),
    ("users", "phone", 40),
    ("users", "email", 254),
)


def upgrade() -> None:
    for table in ("centres", "users"):
        with op.batch_alter_table(table) as batch:
            for name_of_table, column, length in CONTACT_COLUMNS:
                if name_of_table == table:
                    batch.add_column(
                        sa.Column(
                            column, sa.String(length=length), nullable=False, server_default=""
                        )
                    )
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=True))
    op.create_table(
        "referral_steps",
        sa.Column("case_id", sa.String(length=120), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("by", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", name=op.f("pk_referral_steps")),
    )
    op.create_index(
        op.f("ix_referral_steps_referral_id"), "referral_steps", ["referral_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_referral_steps_referral_id"), table_name="referral_steps")
    op.drop_table("referral_steps")
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("priority")
    for table in ("users", "centres"):
        with op.batch_alter_table(table) as batch:
            for name_of_table, column, _ in reversed(CONTACT_COLUMNS):
                if name_of_table == table:
                    batch.drop_column(column)
