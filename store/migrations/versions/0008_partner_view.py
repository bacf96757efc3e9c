"""The consented minimum becomes need-specific: a referral row keeps, besides the common minimum
(first name, languages), the facts its partner's kind receives (`referrals.partner_view`, a
JSON object with only the keys of domain/consent.py's row for that kind: the German level for
a language school, family name and date of birth for a Jobcenter, ...).

No backfill: existing rows get an empty object. Their clients signed a consent clause that
named the common minimum only, so adding a family name or a qualification to them now would
send a partner more than the signature covers; the case does not send these facts for them
either (their referrals carry consent terms 1). The rows' partners keep seeing what they saw.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("partner_view", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("partner_view")
