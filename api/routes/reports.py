"""The evaluation of the model project's figures, for supervisors (their municipality) and
evaluators (a Land's or the federal programme's municipalities): `GET /reports/evaluation`
as JSON, and the same figures as CSV (`GET /reports/evaluation.csv`). Aggregates only, under
the disclosure rules (api/evaluation.py, domain/disclosure.py); the scope is checked by
`api.deps.report_request` (a municipality or centre outside it is 404)."""

from fastapi import APIRouter

from api.deps import EvaluationRequest, ServicesDep, SessionDep
from api.evaluation import EvaluationReport, report

router = APIRouter(tags=["reports"])


@router.get("/reports/evaluation", name="reports.evaluation")
def evaluation(
    request: EvaluationRequest, session: SessionDep, services: ServicesDep
) -> EvaluationReport:
    """The model project's figures for the period (`from`, `to`, German calendar days) and
    scope: agreements concluded, the survey per client, reviews on time, goals, closures, the
    referral network both ways, needs and rule hits. A figure resting on fewer than `min_group`
    clients is null."""
    return report(session, request, services.settings.report_min_group)
