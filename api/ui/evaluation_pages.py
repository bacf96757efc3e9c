"""The page „Auswertung" (`/auswertung`): the model project's figures for supervisors (their
municipality, linked from the dashboard and the navigation) and evaluators (her start page and
her only page), with a period picker, four charts each with its table, the other figures as
tables, and the same figures as CSV (`/auswertung.csv`).

The figures are the API's: `api.evaluation.report` for the request `api.deps.resolve_report`
allows the session's user (api/ui/evaluation_query.py), so the page, its charts
(`/auswertung/diagramme/<name>.svg`, api/ui/evaluation_charts.py) and its CSV
(api/evaluation_csv.py) show what `GET /reports/evaluation` answers. Each is a read of the
report and audited as one, as in the API; the charts and the CSV take the report the page just
computed when it is fresh (api/report_cache.py). No case, no person: aggregates of places and
kinds.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request, Response, status

from api.deps import SessionDep
from api.evaluation import EvaluationReport, ReportRequest, report
from api.evaluation_csv import csv_response
from api.evaluation_names import report_names
from api.report_cache import ReportCache
from api.ui import evaluation_charts
from api.ui.evaluation_query import Asked, Choice, Refused, pickers, resolve
from api.ui.evaluation_view import EvaluationView
from api.ui.forms import FormState
from api.ui.session import ReportReaderUser, services_of
from api.ui.web import PAGE_CACHE, PageRoute, render
from store.models import User

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ChartName = Literal["vereinbarungen", "umfrage", "vermittlungen", "ueberpruefungen"]

# The page computes its report and leaves it here; its four charts and its CSV take it
# (api/report_cache.py): one computation per look at the figures, not five.
_REPORTS: ReportCache[EvaluationReport] = ReportCache()


def _fresh(session: SessionDep, asked: ReportRequest, min_group: int) -> EvaluationReport:
    return _REPORTS.put((asked, min_group), report(session, asked, min_group))


def _recent(session: SessionDep, asked: ReportRequest, min_group: int) -> EvaluationReport:
    return _REPORTS.get_or_compute((asked, min_group), lambda: report(session, asked, min_group))


def _choice(von: str, bis: str, kommune: str, stelle: str) -> Choice:
    return Choice(von=von, bis=bis, kommune=kommune, stelle=stelle)


@router.get("/auswertung", name="ui.evaluation")
def page(
    request: Request,
    user: ReportReaderUser,
    session: SessionDep,
    von: str = "",
    bis: str = "",
    kommune: str = "",
    stelle: str = "",
) -> Response:
    choice = _choice(von, bis, kommune, stelle)
    try:
        asked = resolve(session, user, choice)
    except Refused as refused:
        form = FormState(values=choice.values(), errors=refused.errors)
        context = {
            "form": form,
            "pickers": pickers(session, user, ""),
            "view": None,
            "asked": None,
            "charts": evaluation_charts.CHARTS,
            "places": "",
        }
        return render(
            request, "evaluation/page.html", context, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    found = _fresh(session, asked.request, services_of(request).settings.report_min_group)
    names = report_names(session, found, asked.request.municipalities)
    shown = {
        "von": [asked.request.start.isoformat()],
        "bis": [asked.request.end.isoformat()],
        "kommune": [asked.kommune],
        "stelle": [asked.stelle],
    }
    context = {
        "form": FormState(values=shown),
        "pickers": pickers(session, user, asked.kommune),
        "view": EvaluationView(found, names),
        "asked": asked,
        "charts": evaluation_charts.CHARTS,
        "places": names.municipality_list(asked.request.municipalities),
    }
    return render(request, "evaluation/page.html", context)


def _asked(user: User, session: SessionDep, choice: Choice) -> Asked:
    """The report a link asks for; a refusal is an error page (the page's form says more)."""
    try:
        return resolve(session, user, choice)
    except Refused as refused:
        message = " ".join(refused.errors.values())
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=message) from None


@router.get("/auswertung.csv", name="ui.evaluation.csv")
def download(
    request: Request,
    user: ReportReaderUser,
    session: SessionDep,
    von: str = "",
    bis: str = "",
    kommune: str = "",
    stelle: str = "",
) -> Response:
    """The page's figures as the API's CSV (api/evaluation_csv.py)."""
    asked = _asked(user, session, _choice(von, bis, kommune, stelle))
    found = _recent(session, asked.request, services_of(request).settings.report_min_group)
    names = report_names(session, found, asked.request.municipalities)
    response = csv_response(found, asked.request, names)
    response.headers["Cache-Control"] = PAGE_CACHE
    return response


@router.get("/auswertung/diagramme/{name}.svg", name="ui.evaluation.chart")
def chart(
    request: Request,
    user: ReportReaderUser,
    session: SessionDep,
    name: Annotated[ChartName, Path()],
    von: str = "",
    bis: str = "",
    kommune: str = "",
    stelle: str = "",
) -> Response:
    """One chart of the page as an SVG image with a policy of its own
    (api/ui/evaluation_charts.py: its inline style only)."""
    asked = _asked(user, session, _choice(von, bis, kommune, stelle))
    found = _recent(session, asked.request, services_of(request).settings.report_min_group)
    names = report_names(session, found, asked.request.municipalities)
    return Response(
        content=evaluation_charts.svg(name, found, names),
        media_type=evaluation_charts.SVG_MEDIA_TYPE,
        headers={
            "Content-Security-Policy": evaluation_charts.SVG_POLICY,
            "Cache-Control": PAGE_CACHE,
        },
    )
