"""The evaluation's monthly cells (store/evaluation_cells.py) and the indexes that count a
month of facts by its instant.

The reviews gain `next_here_recorded_at` (the case's next review at the same centre; filled
here from the reviews there are). A report over many months reads the cells of its whole
months instead of every fact (bench/evaluation.py: 15 million facts). A cell is counted from
the facts, never adjusted: `evaluation_stale_months` lists the (municipality, month) pairs
whose cells are to be counted again, and here every month of every municipality from its
first fact on is listed, so the first report after the upgrade counts the months it needs.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GERMAN_TIME = ZoneInfo("Europe/Berlin")

_INDEXES = (
    (
        "ix_reviews_municipality_recorded",
        "reviews",
        [
            "municipality_id",
            "recorded_at",
            "centre_id",
            "agreement_helped",
            "easier_to_keep_at_it",
            "next_recorded_at",
            "next_here_recorded_at",
            "goals_open",
            "goals_in_progress",
            "goals_achieved",
            "goals_dropped",
        ],
    ),
    (
        "ix_reviews_municipality_next",
        "reviews",
        ["municipality_id", "next_recorded_at", "recorded_at"],
    ),
    (
        "ix_reviews_municipality_next_here",
        "reviews",
        ["municipality_id", "next_here_recorded_at", "centre_id", "recorded_at"],
    ),
    ("ix_referral_notes_at", "referral_notes", ["at", "referral_id", "partner_id"]),
    (
        "ix_referrals_municipality_dispatched",
        "referrals",
        [
            "municipality_id",
            "dispatched_at",
            "centre_id",
            "actor_kind",
            "acknowledge_hours",
            "acknowledged_at",
            "status",
            "result",
        ],
    ),
    (
        "ix_referrals_municipality_acknowledged",
        "referrals",
        ["municipality_id", "acknowledged_at", "centre_id", "partner_id"],
    ),
    (
        "ix_referrals_municipality_ended",
        "referrals",
        ["municipality_id", "ended_at", "status", "centre_id", "partner_id"],
    ),
    (
        "ix_case_closures_month",
        "case_closures",
        ["municipality_id", "closed_at", "centre_id", "reason"],
    ),
    ("ix_need_facts_month", "need_facts", ["municipality_id", "at", "centre_id", "need_kind"]),
    ("ix_rule_hits_month", "rule_hits", ["municipality_id", "at", "centre_id", "rule"]),
)

# The indexes of 0010 that grouped a whole period's facts in one pass: the cells count whole
# months now, and the days around them are read by the instant (the indexes above).
_REPLACED = (
    (
        "ix_reviews_municipality_survey",
        "reviews",
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
    ),
    (
        "ix_referrals_municipality_actor",
        "referrals",
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
    ),
    (
        "ix_referrals_municipality_partner",
        "referrals",
        ["municipality_id", "partner_id", "acknowledged_at", "ended_at", "status", "centre_id"],
    ),
    (
        "ix_case_closures_municipality",
        "case_closures",
        ["municipality_id", "reason", "closed_at", "centre_id"],
    ),
    (
        "ix_need_facts_municipality",
        "need_facts",
        ["municipality_id", "need_kind", "at", "centre_id"],
    ),
    ("ix_rule_hits_municipality", "rule_hits", ["municipality_id", "rule", "at", "centre_id"]),
)

# Where each municipality's facts begin and end: (table, instant column).
_INSTANTS = (
    ("agreement_versions", "activated_at"),
    ("case_closures", "closed_at"),
    ("need_facts", "at"),
    ("rule_hits", "at"),
    ("reviews", "recorded_at"),
    ("reviews", "due_at"),
    ("referrals", "dispatched_at"),
    ("inbound_referrals", "created_at"),
)


def _cell() -> list[sa.Column[object]]:
    return [
        sa.Column("municipality_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.DateTime(timezone=True), nullable=False),
        sa.Column("centre_id", sa.String(length=64), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(
            sa.Column("next_here_recorded_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE reviews SET next_here_recorded_at = (SELECT later.recorded_at FROM reviews AS later"
        " WHERE later.case_id = reviews.case_id AND later.centre_id = reviews.centre_id"
        " AND later.seq > reviews.seq ORDER BY later.seq LIMIT 1)"
    )
    for name, table, _columns in _REPLACED:
        op.drop_index(name, table_name=table)
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)
    op.create_table(
        "evaluation_counts",
        *_cell(),
        sa.Column("figure", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=120), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "municipality_id",
            "month",
            "centre_id",
            "figure",
            "item",
            name=op.f("pk_evaluation_counts"),
        ),
    )
    op.create_table(
        "evaluation_acknowledge_hours",
        sa.Column("municipality_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=32), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "municipality_id",
            "month",
            "actor_kind",
            "hours",
            name=op.f("pk_evaluation_acknowledge_hours"),
        ),
    )
    op.create_table(
        "evaluation_survey",
        sa.Column("id", sa.Integer(), nullable=False),
        *_cell(),
        sa.Column("next_month", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_here_month", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agreement_helped", sa.Boolean(), nullable=True),
        sa.Column("easier_to_keep_at_it", sa.Boolean(), nullable=True),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.Column("goals_open", sa.Integer(), nullable=False),
        sa.Column("goals_in_progress", sa.Integer(), nullable=False),
        sa.Column("goals_achieved", sa.Integer(), nullable=False),
        sa.Column("goals_dropped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_survey")),
    )
    op.create_index("ix_evaluation_survey_cell", "evaluation_survey", ["municipality_id", "month"])
    op.create_table(
        "evaluation_partners",
        *_cell(),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "municipality_id",
            "month",
            "centre_id",
            "partner_id",
            name=op.f("pk_evaluation_partners"),
        ),
    )
    stale = op.create_table(
        "evaluation_stale_months",
        sa.Column("municipality_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "municipality_id", "month", name=op.f("pk_evaluation_stale_months")
        ),
    )
    rows = _every_month()
    if rows:
        op.bulk_insert(stale, rows)


def _aware(value: object) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _month_start(day: date) -> datetime:
    # SQLite keeps naive UTC text (store/types.py): the same form the models write.
    at = datetime.combine(date(day.year, day.month, 1), time(0), GERMAN_TIME).astimezone(UTC)
    return at.replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else at


def _every_month() -> list[dict[str, object]]:
    """Every month of every municipality from its first fact to its last (or now)."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    bounds: dict[str, list[datetime]] = {}
    for table, column in _INSTANTS:
        for municipality_id, first, last in bind.execute(
            sa.text(
                f"SELECT municipality_id, MIN({column}), MAX({column}) FROM {table}"
                f" WHERE {column} IS NOT NULL GROUP BY municipality_id"
            )
        ).all():
            if municipality_id:
                bounds.setdefault(municipality_id, []).extend([_aware(first), _aware(last)])
    rows: list[dict[str, object]] = []
    for municipality_id, instants in sorted(bounds.items()):
        first = min(instants).astimezone(GERMAN_TIME).date()
        last = max(now, *instants).astimezone(GERMAN_TIME).date()
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            rows.append(
                {"municipality_id": municipality_id, "month": _month_start(date(year, month, 1))}
            )
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return rows


def downgrade() -> None:
    for table in (
        "evaluation_stale_months",
        "evaluation_partners",
        "evaluation_survey",
        "evaluation_counts",
        "evaluation_acknowledge_hours",
    ):
        op.drop_table(table)
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    for name, table, columns in _REPLACED:
        op.create_index(name, table, columns)
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("next_here_recorded_at")
