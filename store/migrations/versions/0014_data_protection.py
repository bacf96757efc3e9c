"""Data protection (issue 15): the role `datenschutz` and the register of erased cases.

- `users`: the scope CHECK admits `datenschutz`, scoped to one municipality like a supervisor.
- `case_erasures`: one row per erased case (Art. 17): when, by whom, why, and the case's
  municipality (the scope of the officer who may read it). The read model keeps the case's
  ids, stages and facts for the evaluation; this row is what makes every access answer 410.

Follows 0013 (the data keys).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The CHECK as 0010 left it, copied (a revision never imports application code).
SCOPE_BEFORE = (
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
)
SCOPE_AFTER = (
    SCOPE_BEFORE + " OR (role = 'datenschutz' AND municipality_id IS NOT NULL"
    " AND centre_id IS NULL AND partner_id IS NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_scope_fits_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_scope_fits_role"), sa.text(SCOPE_AFTER))
    op.create_table(
        "case_erasures",
        sa.Column("case_id", sa.String(length=120), nullable=False),
        sa.Column("municipality_id", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_erasures")),
    )


def downgrade() -> None:
    op.drop_table("case_erasures")
    op.execute("DELETE FROM users WHERE role = 'datenschutz'")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_scope_fits_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_scope_fits_role"), sa.text(SCOPE_BEFORE))
