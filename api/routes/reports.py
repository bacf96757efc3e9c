"""The evaluation of the model project's figures, for supervisors (their municipality) and
evaluators (a Land's or the federal programme's municipalities): `GET /reports/evaluation`
as JSON, and the same figures as CSV (`GET /reports/evaluation.csv`, api/evaluation_csv.py).
Aggregates only, under the disclosure rules (api/evaluation.py, domain/disclosure.py); the
scope is checked by `api.deps.report_request` (a municipality or centre outside it is 404)."""

from typing import Any

from fastapi import APIRouter, Response

from api.deps import EvaluationRequest, ServicesDep, SessionDep
from api.evaluation import EvaluationReport, report
from api.evaluation_csv import COLUMNS, csv_response
from api.evaluation_names import report_names

router = APIRouter(tags=["reports"])

CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Die Zahlen als CSV-Datei für deutsche Tabellenkalkulationen: UTF-8 mit "
        "BOM, Trennzeichen `;`, Dezimalkomma (`0,5925`), Zeilenende CRLF. Kopfzeile immer "
        f"`{';'.join(COLUMNS)}`; je Gruppe und Kennzahl eine Zeile, in jeder Zeile Zeitraum "
        "und Umfang. `section`, `group` und `figure` sind die Schlüssel des JSON-Berichts "
        "(`GET /reports/evaluation`), `group_label` und `figure_label` ihre deutschen Namen. "
        "Leeres `value`: nicht veröffentlicht (beruht auf weniger als `min_group` "
        "Klientinnen, erste Zeile) oder ein Anteil ohne Grundlage.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "headers": {
            "Content-Disposition": {
                "description": 'attachment; filename="auswertung-<from>-<to>.csv"',
                "schema": {"type": "string"},
            }
        },
    }
}


@router.get("/reports/evaluation", name="reports.evaluation")
def evaluation(
    request: EvaluationRequest, session: SessionDep, services: ServicesDep
) -> EvaluationReport:
    """The model project's figures for the period (`from`, `to`, German calendar days) and
    scope: agreements concluded, the survey per client, reviews on time, goals, closures, the
    referral network both ways, needs and rule hits. A figure resting on fewer than `min_group`
    clients is null."""
    return report(session, request, services.settings.report_min_group)


@router.get(
    "/reports/evaluation.csv",
    name="reports.evaluation_csv",
    response_class=Response,
    responses=CSV_ANSWER,
)
def evaluation_csv(
    request: EvaluationRequest, session: SessionDep, services: ServicesDep
) -> Response:
    """The same figures as `GET /reports/evaluation`, with the same parameters, scope and
    answers (404 outside the scope, 422 for a period that is none), as a CSV file to open in
    Excel or LibreOffice: one line per group and figure, suppressed figures empty."""
    found = report(session, request, services.settings.report_min_group)
    names = report_names(session, found, request.municipalities)
    return csv_response(found, request, names)
