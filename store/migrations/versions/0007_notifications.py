"""Notifications: the in-app list (`notifications`, one row per notice and user), the mail
ledger (`mail_deliveries`, one row per notice and address: sent, pending or failed, so a
retried activity sends only what is missing and administrators see what never arrived), and
each user's switch for mail (`users.email_notifications`, on for everyone who had an account).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLUG = sa.String(length=64)
ID = sa.String(length=120)
EVENT_KEY = sa.String(length=200)
KIND = sa.String(length=32)
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", SLUG, nullable=False),
        sa.Column("kind", KIND, nullable=False),
        sa.Column("event_key", EVENT_KEY, nullable=False),
        sa.Column("case_id", ID, nullable=True),
        sa.Column("referral_id", ID, nullable=True),
        sa.Column("inbound_referral_id", ID, nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("read_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "event_key", "username", name=op.f("uq_notifications_event_key_username")
        ),
    )
    op.create_index(
        "ix_notifications_username_created", "notifications", ["username", "created_at", "id"]
    )
    op.create_index("ix_notifications_username_unread", "notifications", ["username", "read_at"])
    op.create_table(
        "mail_deliveries",
        sa.Column("event_key", EVENT_KEY, nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("kind", KIND, nullable=False),
        sa.Column("case_id", ID, nullable=True),
        sa.Column("referral_id", ID, nullable=True),
        sa.Column("inbound_referral_id", ID, nullable=True),
        sa.Column("status", KIND, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=100), nullable=True),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("event_key", "address", name=op.f("pk_mail_deliveries")),
    )
    op.create_index(
        "ix_mail_deliveries_status_updated", "mail_deliveries", ["status", "updated_at"]
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("email_notifications", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_notifications")
    op.drop_index("ix_mail_deliveries_status_updated", table_name="mail_deliveries")
    op.drop_table("mail_deliveries")
    op.drop_index("ix_notifications_username_unread", table_name="notifications")
    op.drop_index("ix_notifications_username_created", table_name="notifications")
    op.drop_table("notifications")
