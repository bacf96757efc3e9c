"""The counsellor's lists: a centre's cases (`GET /cases` and the page "Meine Fälle") and a
counsellor's open tasks (the same page).

Both front doors page through `centre_cases`, so the API and the page filter, search and order
alike: newest change first, ties by id, both descending, so that the centre's list without
filters is read backwards along `ix_case_summaries_centre_updated` and no page sorts
(tests/store/test_case_list_index.py; bench/api.py measures this query).
"""

import re
from dataclasses import dataclass

from sqlalchemy import exists, false
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from domain.case import Stage
from domain.case_number import parse_case_number, serial_suffix
from domain.name_key import SearchTerm, name_keys, search_terms
from store.erasure import CaseErasure
from store.models import Role
from store.projections import CaseNameKey, CaseSummary, TaskRecord
from store.reads.paging import Slice, page_of

_CASE_ID = re.compile(r"(?:case-)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def centre_cases(
    centre_id: str,
    *,
    stage: Stage | None = None,
    overdue: bool | None = None,
    counsellor: str | None = None,
    search: str | None = None,
) -> SelectOfScalar[CaseSummary]:
    """A centre's cases, newest change first; each given filter narrows. `search`: see
    `matching`. An erased case (store/erasure.py) is in no list: it has no client any more."""
    erased = exists().where(col(CaseErasure.case_id) == col(CaseSummary.case_id))
    query = select(CaseSummary).where(CaseSummary.centre_id == centre_id, ~erased)
    if stage is not None:
        query = query.where(CaseSummary.stage == stage.value)
    if overdue is not None:
        query = query.where(CaseSummary.review_overdue == overdue)
    if counsellor is not None:
        query = query.where(CaseSummary.counsellor_id == counsellor)
    if search:
        query = matching(query, search)
    return query.order_by(col(CaseSummary.updated_at).desc(), col(CaseSummary.case_id).desc())


def matching(query: SelectOfScalar[CaseSummary], search: str) -> SelectOfScalar[CaseSummary]:
    """The cases `search` names: a case number ("MUS-2026-0147", any case, leading zeros of
    the serial optional) or its serial part ("147", "2026-0147"), a case id (with or without
    "case-"), or else the client's name, every word of it matching a word of the name by its
    key (domain/name_key.py: "Hadad" finds Haddad, "Mohamed" Muhammad, „Юсуф“ Юсуф), a word of
    three letters or more also the names it begins ("Hadd" finds Haddad). Keys are compared
    by equality or as a range on the indexed key column, never LIKE, so no character of the
    user's text is a pattern; a text without a letter or a number finds nothing."""
    if (number := parse_case_number(search)) is not None:
        return query.where(CaseSummary.number == number)
    if (suffix := serial_suffix(search)) is not None:
        # Digits and hyphens only: `endswith` escapes them anyway. Not indexed, but within
        # the one centre's cases that the query is narrowed to.
        return query.where(col(CaseSummary.number).endswith(suffix, autoescape=True))
    if (case_id := _CASE_ID.fullmatch(search.strip().lower())) is not None:
        return query.where(CaseSummary.case_id == f"case-{case_id.group(1)}")
    terms = search_terms(search)
    if not terms:
        return query.where(false())
    for term in terms:
        query = query.where(col(CaseSummary.case_id).in_(_named(term)))
    return query


def _named(term: SearchTerm) -> SelectOfScalar[str]:
    """The cases with a name word of `term`'s key, or beginning with it: a key is letters a-z
    only, so "the keys from `key` up to `key` + '{'" are exactly those that begin with it."""
    named = select(CaseNameKey.case_id)
    if not term.prefix:
        return named.where(CaseNameKey.key == term.key)
    return named.where(col(CaseNameKey.key) >= term.key, col(CaseNameKey.key) < term.key + "{")


def same_name_cases(
    session: Session, centre_id: str, given_name: str, family_name: str, limit: int
) -> list[CaseSummary]:
    """The centre's cases whose client has this name (each word of it by its key, so a
    variant spelling counts too), newest change first: what the new-case form warns of."""
    keys = name_keys(given_name, family_name)
    if not keys:
        return []
    query = select(CaseSummary).where(CaseSummary.centre_id == centre_id)
    for key in keys:
        query = query.where(
            col(CaseSummary.case_id).in_(select(CaseNameKey.case_id).where(CaseNameKey.key == key))
        )
    query = query.order_by(col(CaseSummary.updated_at).desc(), col(CaseSummary.case_id).desc())
    return list(session.exec(query.limit(limit)).all())


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
