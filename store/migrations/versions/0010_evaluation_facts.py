"""The evaluation's facts, and the evaluator.

The model project's figures need what happened and when, not only what is open now: the
agreements concluded and amended (`agreement_versions`), the closures with their reason
(`case_closures`), the needs assessed (`need_facts`) and the rules that routed them
(`rule_hits`); the reviews gain the centre that held the case and the goals' statuses after
each review, and when the case's next review was recorded (filled here from the reviews
there are); the referrals the sending centre, their end, a completed one's result and the
hours to acknowledgement. Existing rows get empty values otherwise: `lotse db
backfill-evaluation` fills them from the archived events (and the workflows, for the needs).
The report's indexes cover its queries (store/facts.py, store/projections.py;
bench/evaluation.py measures them).

A new role, `evaluator` (a Land's or the federal programme's evaluation), has no scope column;
her municipalities are `evaluator_municipalities` rows, none meaning every municipality.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCOPES = (
    "(role = 'counsellor' AND centre_id IS NOT NULL AND partner_id IS NULL"
    " AND municipality_id IS NULL)"
    " OR (role = 'partner' AND partner_id IS NOT NULL AND centre_id IS NULL"
    " AND municipality_id IS NULL)"
    " OR (role = 'supervisor' AND municipality_id IS NOT NULL AND centre_id IS NULL"
    " AND partner_id IS NULL)"
    " OR (role = 'admin' AND centre_id IS NULL AND partner_id IS NULL"
    " AND municipality_id IS NULL)"
)
SCOPE_BEFORE = _SCOPES
SCOPE_AFTER = (
    _SCOPES + " OR (role = 'evaluator' AND centre_id IS NULL AND partner_id IS NULL"
    " AND municipality_id IS NULL)"
)


def _instant(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _place() -> list[sa.Column[object]]:
    return [
        sa.Column("municipality_id", sa.String(length=64), nullable=False),
        sa.Column("centre_id", sa.String(length=64), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(
            sa.Column("municipality_id", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("centre_id", sa.String(length=64), nullable=False, server_default="")
        )
        for status in ("open", "in_progress", "achieved", "dropped"):
            batch.add_column(
                sa.Column(f"goals_{status}", sa.Integer(), nullable=False, server_default="0")
            )
        batch.add_column(sa.Column("days_late", sa.Integer(), nullable=True))
        batch.add_column(_instant("next_recorded_at", nullable=True))
        batch.create_index(
            "ix_reviews_municipality_survey",
            [
                "municipality_id",
                "centre_id",
                "agreement_helped",
                "easier_to_keep_at_it",
                "recorded_at",
                "next_recorded_at",
                "goals_open",
                "goals_in_progress",
                "goals_achieved",
                "goals_dropped",
            ],
        )
        batch.create_index(
            "ix_reviews_municipality_due", ["municipality_id", "due_at", "centre_id", "days_late"]
        )
    op.execute(
        "UPDATE reviews SET next_recorded_at = (SELECT later.recorded_at FROM reviews AS later"
        " WHERE later.case_id = reviews.case_id AND later.seq > reviews.seq"
        " ORDER BY later.seq LIMIT 1)"
    )
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(
            sa.Column("centre_id", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(_instant("ended_at", nullable=True))
        batch.add_column(sa.Column("result", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("acknowledge_hours", sa.Integer(), nullable=True))
        batch.create_index(
            "ix_referrals_municipality_actor",
            [
                "municipality_id",
                "actor_kind",
                "acknowledge_hours",
                "dispatched_at",
                "centre_id",
                "status",
                "result",
                "acknowledged_at",
            ],
        )
        batch.create_index(
            "ix_referrals_municipality_partner",
            ["municipality_id", "partner_id", "acknowledged_at", "ended_at", "status", "centre_id"],
        )
    op.create_index(
        "ix_referral_notes_partner", "referral_notes", ["partner_id", "at", "referral_id"]
    )
    op.create_table(
        "agreement_versions",
        sa.Column("case_id", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_place(),
        _instant("activated_at"),
        sa.PrimaryKeyConstraint("case_id", "version", name=op.f("pk_agreement_versions")),
    )
    op.create_index(
        "ix_agreement_versions_municipality",
        "agreement_versions",
        ["municipality_id", "activated_at", "centre_id", "version"],
    )
    op.create_table(
        "case_closures",
        sa.Column("case_id", sa.String(length=120), nullable=False),
        *_place(),
        _instant("closed_at"),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_closures")),
    )
    op.create_index(
        "ix_case_closures_municipality",
        "case_closures",
        ["municipality_id", "reason", "closed_at", "centre_id"],
    )
    op.create_table(
        "need_facts",
        sa.Column("case_id", sa.String(length=120), nullable=False),
        sa.Column("need_index", sa.Integer(), nullable=False),
        *_place(),
        _instant("at"),
        sa.Column("need_kind", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "need_index", name=op.f("pk_need_facts")),
    )
    op.create_index(
        "ix_need_facts_municipality",
        "need_facts",
        ["municipality_id", "need_kind", "at", "centre_id"],
    )
    op.create_table(
        "rule_hits",
        sa.Column("case_id", sa.String(length=120), nullable=False),
        sa.Column("route_id", sa.String(length=32), nullable=False),
        *_place(),
        _instant("at"),
        sa.Column("rule", sa.String(length=120), nullable=False),
        sa.Column("need_kind", sa.String(length=32), nullable=False),
        sa.Column("actor_kind", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "route_id", name=op.f("pk_rule_hits")),
    )
    op.create_index(
        "ix_rule_hits_municipality", "rule_hits", ["municipality_id", "rule", "at", "centre_id"]
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_scope_fits_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_scope_fits_role"), sa.text(SCOPE_AFTER))
    op.create_table(
        "evaluator_municipalities",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("municipality_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"],
            ["users.username"],
            name=op.f("fk_evaluator_municipalities_username_users"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_evaluator_municipalities_municipality_id_municipalities"),
        ),
        sa.PrimaryKeyConstraint(
            "username", "municipality_id", name=op.f("pk_evaluator_municipalities")
        ),
    )


def downgrade() -> None:
    op.drop_table("evaluator_municipalities")
    op.execute("DELETE FROM users WHERE role = 'evaluator'")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_scope_fits_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_scope_fits_role"), sa.text(SCOPE_BEFORE))
    for table in ("rule_hits", "need_facts", "case_closures", "agreement_versions"):
        op.drop_table(table)
    op.drop_index("ix_referral_notes_partner", table_name="referral_notes")
    with op.batch_alter_table("referrals") as batch:
        batch.drop_index("ix_referrals_municipality_partner")
        batch.drop_index("ix_referrals_municipality_actor")
        for column in ("acknowledge_hours", "result", "ended_at", "centre_id"):
            batch.drop_column(column)
    with op.batch_alter_table("reviews") as batch:
        batch.drop_index("ix_reviews_municipality_due")
        batch.drop_index("ix_reviews_municipality_survey")
        for column in (
            "next_recorded_at",
            "days_late",
            "goals_dropped",
            "goals_achieved",
            "goals_in_progress",
            "goals_open",
            "centre_id",
            "municipality_id",
        ):
            batch.drop_column(column)
