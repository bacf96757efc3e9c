"""A case's past reviews for its page: the read model's rows (store.projections.ReviewRecord)
merged with the reviews the case still carries until they are projected (domain/compaction.py).
Reads only; the rows are written by store/fact_writer.py.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from domain.case import ReviewRecord
from store.projections import ReviewRecord as ReviewRow


@dataclass(frozen=True)
class GoalNote:
    goal_id: str
    status: str  # a GoalStatus value
    note: str


@dataclass(frozen=True)
class PastReview:
    recorded_at: datetime
    due_at: datetime | None  # the review date it answered
    next_review_due: datetime | None
    goals: list[GoalNote]
    agreement_helped: bool | None
    easier_to_keep_at_it: bool | None


def _of_row(row: ReviewRow) -> PastReview:
    return PastReview(
        recorded_at=row.recorded_at,
        due_at=row.due_at,
        next_review_due=row.next_review_due,
        goals=[
            GoalNote(str(g.get("goal_id", "")), str(g.get("status", "")), str(g.get("note", "")))
            for g in row.goal_progress
        ],
        agreement_helped=row.agreement_helped,
        easier_to_keep_at_it=row.easier_to_keep_at_it,
    )


def _of_record(review: ReviewRecord) -> PastReview:
    return PastReview(
        recorded_at=review.recorded_at,
        due_at=review.due_at,
        next_review_due=review.next_review_due,
        goals=[GoalNote(g.goal_id, g.status.value, g.note) for g in review.goal_progress],
        agreement_helped=review.survey.agreement_helped,
        easier_to_keep_at_it=review.survey.easier_to_keep_at_it,
    )


def case_reviews(engine: Engine, case_id: str, carried: Sequence[ReviewRecord]) -> list[PastReview]:
    """Every review of the case, oldest first. A review both projected and still carried is
    the same review (same moment of recording): the case's copy wins."""
    with Session(engine) as session:
        rows = session.exec(
            select(ReviewRow)
            .where(ReviewRow.case_id == case_id)
            .order_by(col(ReviewRow.recorded_at))
        ).all()
    reviews = {row.recorded_at: _of_row(row) for row in rows}
    reviews.update((review.recorded_at, _of_record(review)) for review in carried)
    return [reviews[at] for at in sorted(reviews)]
