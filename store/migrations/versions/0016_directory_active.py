"""Deactivation in the directory (issue 16): municipalities and centres get `active`, as
partners and users have since 0001.

An administrator deactivates a centre or a municipality instead of deleting it, because cases
refer to it: a deactivated centre, or any centre of a deactivated municipality, opens no new
case, takes no transfer and no inbound referral, while its running cases carry on. Existing
rows are active.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("municipalities", "centres")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
            )


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("active")
