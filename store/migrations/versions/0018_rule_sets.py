"""A municipality's rules of its own (issue 16): the role `regelwerk` and the rule set versions.

- `users`: the scope CHECK admits `regelwerk` (a rule editor), scoped to one municipality like
  a supervisor.
- `rule_sets`: one row per version of a municipality's overrides of the federal routing table
  (add, replace, disable by rule id), draft, published or superseded, with the content hash
  of the merged catalog (the `ruleset_version` routes record), who made it and who published
  it. Routing reads the municipality's published row (one at most: a partial unique index);
  none means the federal table.

Follows 0017 (sign-in with the identity provider).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The CHECK as 0014 left it, copied (a revision never imports application code).
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
    " OR (role = 'datenschutz' AND municipality_id IS NOT NULL AND centre_id IS NULL"
    " AND partner_id IS NULL)"
)
SCOPE_AFTER = (
    SCOPE_BEFORE + " OR (role = 'regelwerk' AND municipality_id IS NOT NULL"
    " AND centre_id IS NULL AND partner_id IS NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_scope_fits_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_scope_fits_role"), sa.text(SCOPE_AFTER))
    op.create_table(
        "rule_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("override_text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_rule_sets_municipality_id_municipalities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_sets")),
        sa.UniqueConstraint(
            "municipality_id", "version", name=op.f("uq_rule_sets_municipality_id_version")
        ),
    )
    op.create_index("ix_rule_sets_municipality_status", "rule_sets", ["municipality_id", "status"])
    # One published version per municipality (partial: drafts and superseded ones are many).
    op.create_index(
        "uq_rule_sets_one_published",
        "rule_sets",
        ["municipality_id"],
        unique=True,
        sqlite_where=sa.text("status = 'published'"),
        postgresql_where=sa.text("status = 'published'"),
    )


def downgrade() -> None:
    op.drop_index("uq_rule_sets_one_published", table_name="rule_sets")
    op.drop_index("ix_rule_sets_municipality_status", table_name="rule_sets")
    op.drop_table("rule_sets")
    op.execute("DELETE FROM users WHERE role = 'regelwerk'")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_scope_fits_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_scope_fits_role"), sa.text(SCOPE_BEFORE))
