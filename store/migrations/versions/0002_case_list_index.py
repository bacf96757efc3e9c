"""An index for a centre's case list without filters: `GET /cases` sorts a centre's cases by
`updated_at` (then `case_id`), which the stage index cannot serve without sorting every case of
the centre. Matters from tens of thousands of cases per centre on.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_case_summaries_centre_updated",
        "case_summaries",
        ["centre_id", "updated_at", "case_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_case_summaries_centre_updated", table_name="case_summaries")
