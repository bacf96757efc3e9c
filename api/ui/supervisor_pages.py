"""The municipal coordination's dashboard: its open tasks, overdue reviews and referrals late
past their deadline (the first page of each, counted in full, with the pager to their own
pages: api/ui/supervisor_lists.py; an escalated referral links to its page,
api/ui/supervisor_referral.py), the referrals that found no partner, caseload per counsellor
and per centre, cases per stage (the evaluation has its page: api/ui/evaluation_pages.py);
and the case list every row links to (the case overview is api/ui/supervisor_case.py).

The figures are the reads of the API's supervision routes (`store.reads.supervision`, and
`api.supervision` and `api.supervision_lists` for the lists), asked for the
session's user: the same queries, the same scope (the supervisor's municipality), the same data
minimisation (ids, stages, dates and counts; no client's name). Partners, centres and
counsellors are shown by the directory's names (`directory_names`, a few queries per page
however many rows), their ids stay in the links and filters. One audit entry per page,
through the API's `audited_listing`, as for each list call of the API.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api import supervision_lists
from api.deps import SessionDep, audited_listing
from api.ui.session import SupervisorUser
from api.ui.supervisor_lists import PAGE_SIZE
from api.ui.supervisor_referral import DONE
from api.ui.web import PageRoute, render
from domain.case import Stage
from store.models import Role
from store.reads import supervision as supervision_reads
from store.reads.supervision import CaseloadCount

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LIST_LIMIT = 200
UNASSIGNED_SHOWN = 50  # referrals without a partner on the dashboard, newest first

_audit_municipality_list = audited_listing(Role.SUPERVISOR)


@dataclass
class Load:
    """Cases and overdue reviews of one counsellor, centre or stage."""

    key: str
    centre_id: str
    cases: int = 0
    overdue: int = 0


def _totals(rows: list[CaseloadCount]) -> tuple[list[Load], list[Load], list[Load]]:
    by_counsellor: dict[tuple[str, str], Load] = {}
    by_centre: dict[str, Load] = {}
    by_stage: dict[str, Load] = defaultdict(lambda: Load("", ""))
    for row in rows:
        for load in (
            by_counsellor.setdefault(
                (row.centre_id, row.counsellor_id), Load(row.counsellor_id, row.centre_id)
            ),
            by_centre.setdefault(row.centre_id, Load(row.centre_id, row.centre_id)),
            by_stage[row.stage],
        ):
            load.cases += row.cases
            load.overdue += row.overdue
    stages = []
    for stage in Stage:
        load = by_stage.get(stage.value, Load(stage.value, ""))
        load.key = stage.value
        stages.append(load)
    return list(by_counsellor.values()), list(by_centre.values()), stages


@router.get("/aufsicht", name="ui.supervision.dashboard")
def dashboard(
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    erledigt: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    _audit_municipality_list(request, user, session)
    municipality_id = user.municipality_id or ""
    now = datetime.now(UTC)
    late_reviews = supervision_reads.overdue_review_page(session, municipality_id, 1, PAGE_SIZE)
    late = supervision_lists.late_referrals(session, municipality_id, 1, PAGE_SIZE, now)
    tasks = supervision_lists.supervisor_tasks(session, municipality_id, 1, PAGE_SIZE)
    unassigned = supervision_reads.unassigned_referrals(session, municipality_id, UNASSIGNED_SHOWN)
    counsellors, centres, stages = _totals(supervision_reads.caseload(session, municipality_id))
    names = supervision_reads.directory_names(
        session,
        partners={item.partner_id for item in late.items},
        centres={load.key for load in centres}
        | {row.centre_id for row in late_reviews.rows}
        | {row.centre_id for row in unassigned}
        | {item.centre_id for item in tasks.items if item.centre_id},
        people={load.key for load in counsellors}
        | {row.counsellor_id for row in late_reviews.rows},
    )
    context = {
        "late_reviews": late_reviews,
        "late": late,
        "tasks": tasks,
        "unassigned": unassigned,
        "counsellors": counsellors,
        "centres": centres,
        "stages": stages,
        "names": names,
        "done": DONE.get(erledigt, ""),
    }
    return render(request, "supervisor/dashboard.html", context)


@router.get("/aufsicht/faelle", name="ui.supervision.cases")
def cases(
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    stelle: Annotated[str, Query(max_length=64)] = "",
    berater: Annotated[str, Query(max_length=64)] = "",
    stadium: Annotated[str, Query(max_length=32)] = "",
    ueberfaellig: Annotated[str, Query(max_length=5)] = "",
) -> Response:
    """The municipality's cases the dashboard counted, narrowed like the row that links here."""
    _audit_municipality_list(request, user, session)
    rows = supervision_reads.municipality_cases(
        session,
        user.municipality_id or "",
        LIST_LIMIT,
        centre=stelle,
        counsellor=berater,
        stage=stadium,
        overdue_only=ueberfaellig == "1",
    )
    filters = {
        "stelle": stelle,
        "berater": berater,
        "stadium": stadium,
        "ueberfaellig": ueberfaellig,
    }
    names = supervision_reads.directory_names(
        session,
        centres={row.centre_id for row in rows} | ({stelle} if stelle else set()),
        people={row.counsellor_id for row in rows} | ({berater} if berater else set()),
    )
    context = {"rows": rows, "filters": filters, "names": names}
    return render(request, "supervisor/cases.html", context)
