"""The municipal coordination's dashboard: overdue reviews, referrals unanswered past their
deadline, caseload per counsellor and per centre, cases per stage, the evaluation figures;
and the case lists and case overview every row links to.

The figures are the API's own supervision functions (`api.routes.supervision`), called with
the session's user: the same queries, the same scope (the supervisor's municipality), the same
data minimisation (ids, stages, dates and counts; no names). One audit entry per page, through
the API's `audited_listing`, as for each list call of the API.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session, col, select

from api.deps import SessionDep, audited_listing
from api.routes.supervision import (
    CaseloadRow,
    case_overview,
    caseload,
    evaluation,
    open_referrals,
    overdue_reviews,
)
from api.ui.session import PageSupervisedCase, SupervisorUser
from api.ui.sla import overdue
from api.ui.web import PageRoute, render
from domain.case import Stage
from store.models import Municipality, Role, User
from store.projections import CaseSummary, ReferralSummary

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LIST_LIMIT = 200

_audit_municipality_list = audited_listing(Role.SUPERVISOR)


@dataclass
class Load:
    """Cases and overdue reviews of one counsellor, centre or stage."""

    key: str
    centre_id: str
    cases: int = 0
    overdue: int = 0


def _totals(rows: list[CaseloadRow]) -> tuple[list[Load], list[Load], list[Load]]:
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


def _land(session: Session, user: User) -> str:
    municipality = session.get(Municipality, user.municipality_id)
    return municipality.land if municipality is not None else "NW"


@router.get("/aufsicht", name="ui.supervision.dashboard")
def dashboard(request: Request, user: SupervisorUser, session: SessionDep) -> Response:
    _audit_municipality_list(request, user, session)
    now = datetime.now(UTC)
    land = _land(session, user)
    late_reviews = overdue_reviews(user, session, 1, 50)
    unanswered = []
    for item in open_referrals(user, session, None, 1, LIST_LIMIT).items:
        row = session.get(ReferralSummary, item.id)
        if row is not None and overdue(row, land, now):
            unanswered.append(item)
    counsellors, centres, stages = _totals(caseload(user, session))
    context = {
        "late_reviews": late_reviews,
        "unanswered": unanswered,
        "counsellors": counsellors,
        "centres": centres,
        "stages": stages,
        "evaluation": evaluation(user, session),
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
    query = select(CaseSummary).where(CaseSummary.municipality_id == user.municipality_id)
    if stelle:
        query = query.where(CaseSummary.centre_id == stelle)
    if berater:
        query = query.where(CaseSummary.counsellor_id == berater)
    if stadium:
        query = query.where(CaseSummary.stage == stadium)
    if ueberfaellig == "1":
        query = query.where(col(CaseSummary.review_overdue).is_(True))
    query = query.order_by(col(CaseSummary.updated_at).desc(), col(CaseSummary.case_id))
    rows = session.exec(query.limit(LIST_LIMIT)).all()
    filters = {
        "stelle": stelle,
        "berater": berater,
        "stadium": stadium,
        "ueberfaellig": ueberfaellig,
    }
    return render(request, "supervisor/cases.html", {"rows": rows, "filters": filters})


@router.get("/aufsicht/faelle/{case_id}", name="ui.supervision.case")
def case_page(request: Request, case: PageSupervisedCase, session: SessionDep) -> Response:
    overview = case_overview(case, session)
    return render(request, "supervisor/case.html", {"case": overview})
