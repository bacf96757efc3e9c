"""A referral's deadlines as the case computed them at dispatch (acknowledge by, escalated at,
expires at), so the partner's inbox and the supervisor's dashboard read them instead of
computing them again. Null for referrals dispatched before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
COLUMNS = ("acknowledge_by", "escalate_at", "expires_at")


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, INSTANT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
