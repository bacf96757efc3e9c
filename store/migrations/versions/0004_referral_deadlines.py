"""A referral's deadlines as the case computed them at dispatch (acknowledge by, escalated at,
expires at), so the partner's inbox and the supervisor's dashboard read them instead of
computing them again.

Referrals dispatched before get the deadlines the pages computed for them until now: the
default clocks on the working days of their municipality's Land
(`domain.referral.deadlines_of_earlier_code`). Without them an open referral of a
running municipality would lose its "overdue" mark on the upgrade.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from domain.referral import deadlines_of_earlier_code
from store.types import UTCDateTime

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
    _backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)


def _backfill(connection: sa.Connection) -> None:
    # The app's instant type, so SQLite's naive UTC text reads and writes as the app's does.
    referrals = sa.table(
        "referrals",
        sa.column("id", sa.String),
        sa.column("municipality_id", sa.String),
        sa.column("dispatched_at", UTCDateTime),
        *(sa.column(name, UTCDateTime) for name in COLUMNS),
    )
    municipalities = sa.table("municipalities", sa.column("id", sa.String), sa.column("land"))
    found = connection.execute(
        sa.select(referrals.c.id, referrals.c.dispatched_at, municipalities.c.land)
        .select_from(
            referrals.outerjoin(municipalities, municipalities.c.id == referrals.c.municipality_id)
        )
        .where(referrals.c.acknowledge_by.is_(None))
    ).all()
    values = []
    for referral_id, dispatched_at, land in found:
        deadlines = deadlines_of_earlier_code(dispatched_at, land)
        values.append(
            {
                "referral_id": referral_id,
                # Bound under names of their own: SQLAlchemy keeps the columns' names for SET.
                "new_acknowledge_by": deadlines.acknowledge_by,
                "new_escalate_at": deadlines.escalate_at,
                "new_expires_at": deadlines.expires_at,
            }
        )
    if values:
        connection.execute(
            referrals.update()
            .where(referrals.c.id == sa.bindparam("referral_id"))
            .values({name: sa.bindparam(f"new_{name}") for name in COLUMNS}),
            values,
        )
