"""The counsellor's lists: a centre's cases (`GET /cases` and the page "Meine Fälle") and a
counsellor's open tasks (the same page).

Both front doors page through `centre_cases`, so the API and the page filter, search and order
alike: newest change first, ties by id, both descending, so that the centre's list without
filters is read backwards along `ix_case_summaries_centre_updated` and no page sorts
(tests/store/test_case_list_index.py; bench/api.py measures this query).
"""

from dataclasses import dataclass

from sqlmodel import Session, col, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from domain.case import Stage
from store.models import Role
from store.projections import CaseSummary, TaskRecord
from store.reads.paging import Slice, page_of


def centre_cases(
    centre_id: str,
    *,
    stage: Stage | None = None,
    overdue: bool | None = None,
    counsellor: str | None = None,
    search: str | None = None,
) -> SelectOfScalar[CaseSummary]:
    """A centre's cases, newest change first; each given filter narrows. `search` looks in
    what a list row holds: the display name ("Amina K.") and the case id."""
    query = select(CaseSummary).where(CaseSummary.centre_id == centre_id)
    if stage is not None:
        query = query.where(CaseSummary.stage == stage.value)
    if overdue is not None:
        query = query.where(CaseSummary.review_overdue == overdue)
    if counsellor is not None:
        query = query.where(CaseSummary.counsellor_id == counsellor)
    if search:
        pattern = f"%{search}%"
        query = query.where(
            or_(
                col(CaseSummary.client_display_name).ilike(pattern),
                col(CaseSummary.case_id).ilike(pattern),
            )
        )
    return query.order_by(col(CaseSummary.updated_at).desc(), col(CaseSummary.case_id).desc())


def centre_case_page(
    session: Session,
    centre_id: str,
    page: int,
    page_size: int,
    *,
    stage: Stage | None = None,
    overdue: bool | None = None,
    counsellor: str | None = None,
    search: str | None = None,
) -> Slice[CaseSummary]:
    """One page of `centre_cases`."""
    query = centre_cases(
        centre_id, stage=stage, overdue=overdue, counsellor=counsellor, search=search
    )
    return page_of(session, query, page, page_size)


@dataclass(frozen=True)
class OpenTask:
    """A counsellor's open task with the client it is about (the case list's display name)."""

    task: TaskRecord
    client: str


def open_tasks_of(session: Session, username: str, limit: int) -> list[OpenTask]:
    """The counsellor's open tasks, soonest due first (`ix_tasks_assignee`), each naming its
    client, so two tasks of one kind can be told apart without opening the cases."""
    query = (
        select(TaskRecord, CaseSummary.client_display_name)
        .outerjoin(CaseSummary, col(CaseSummary.case_id) == col(TaskRecord.case_id))
        .where(
            TaskRecord.assignee_role == Role.COUNSELLOR,
            TaskRecord.assignee_id == username,
            col(TaskRecord.done).is_(False),
        )
        .order_by(col(TaskRecord.due_at), col(TaskRecord.id))
        .limit(limit)
    )
    return [OpenTask(task, client or "") for task, client in session.exec(query).all()]
