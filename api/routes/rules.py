"""The routing rules as data (`GET /rules`) and a dry run of them (`POST /rules/explain`):
profile and needs in, routes out (with the partner the directory would pick), no case made.

A municipality routes by its published rule set (rules/municipal.py, on the store); one the
directory does not know is refused (422 naming `municipality`), never routed by the federal
table instead. The dry run may try a draft (`draft_id`) of a municipality the caller may see
(api/rule_sets.py; another one's is not found).

The dry run is for the roles that route needs (counsellors) or oversee or edit routing
(supervisors, rule editors, admins); partners get 403. Its matching runs in an evaluator
process (rules/pool.py): when that process dies or hangs, the answer is 503 with Retry-After
and the next request gets a fresh process; the API process itself is never at risk.
"""

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool

import rules
from api.deps import CurrentUser, Services, ServicesDep, require_role
from api.errors import invalid
from api.rule_sets import checked_catalog, scope_municipality, scoped_version, version_catalog
from domain.explain import ExplainRequest
from domain.needs import RoutingResult
from domain.rule_sets import UnknownMunicipality
from rules.municipal import MunicipalEvaluators
from store.directory import SqlDirectory
from store.models import Role, User
from store.reads.scope import home_municipality

router = APIRouter(tags=["rules"])
_log = logging.getLogger(__name__)

# Seconds a client should wait after a 503 of the dry run: a replacement evaluator process
# starts in well under a second.
RETRY_AFTER_SECONDS = 1

RoutingUser = Annotated[
    User,
    Depends(require_role(Role.COUNSELLOR, Role.SUPERVISOR, Role.RULE_EDITOR, Role.ADMIN)),
]

Municipality = Annotated[
    str | None, Query(max_length=64, description="Gemeinde; ohne Angabe die eigene.")
]


def _unknown_municipality() -> HTTPException:
    return invalid("municipality", "Diese Kommune steht nicht im Verzeichnis.")


def _catalog(evaluators: MunicipalEvaluators, municipality: str | None) -> dict[str, Any]:
    try:
        return evaluators.catalog(municipality).to_json()
    except UnknownMunicipality as error:
        raise _unknown_municipality() from error
    except rules.CatalogError as error:
        raise _rules_broken(error) from error


def _rules_broken(error: Exception) -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        detail=f"Das Regelwerk kann nicht geladen werden: {error}",
    )


@router.get("/rules", name="rules.list")
async def list_rules(
    user: CurrentUser, services: ServicesDep, municipality: Municipality = None
) -> dict[str, Any]:
    """The merged rule catalog (name, version, rules in table order) of a municipality."""
    if municipality is None:
        municipality = await run_in_threadpool(home_municipality, services.engine, user)
    return await run_in_threadpool(_catalog, services.rules, municipality)


def _evaluators(
    request: ExplainRequest, user: User, services: Services
) -> tuple[str | None, Callable[[str | None], rules.Evaluator]]:
    """The municipality and the evaluators a dry run routes by: a draft's when it names one."""
    if request.rules is not None:
        if request.draft_id is not None or request.municipality is None:
            raise invalid("rules", "Bitte „rules“ mit einer Kommune und ohne „draft_id“ angeben.")
        with services.sessions() as session:
            municipality = scope_municipality(session, user, request.municipality)
        tried = services.rules.evaluator(checked_catalog(request.rules, municipality))
        return municipality, lambda _: tried
    if request.draft_id is None:
        return request.municipality, services.rules
    with services.sessions() as session:
        row = scoped_version(session, user, request.draft_id)
    if request.municipality not in (None, row.municipality_id):
        raise invalid("municipality", "Der Entwurf gehört zu einer anderen Kommune.")
    evaluator = services.rules.evaluator(version_catalog(row))
    return row.municipality_id, lambda _: evaluator


def _explain(request: ExplainRequest, user: User, services: Services) -> RoutingResult:
    # The same routing as a case's (`rules.route_needs`, which the route_needs activity calls).
    municipality, evaluators = _evaluators(request, user, services)
    try:
        return rules.route_needs(
            request.profile,
            request.needs,
            municipality=municipality,
            today=request.today,
            centre_kind=request.centre_kind,
            partners=SqlDirectory(services.engine).partners,
            evaluators=evaluators,
        )
    except UnknownMunicipality as error:
        raise _unknown_municipality() from error
    except rules.CatalogError as error:
        raise _rules_broken(error) from error
    except (rules.RulesUnavailable, rules.RoutingEngineError) as error:
        # The evaluator process died, hung or refused the batch; it is replaced, the request
        # may be repeated. The cause (process id, signal) goes to the log, not to the client.
        _log.warning("rules evaluation failed: %s", error)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="Die Regelauswertung ist gerade ausgefallen; bitte in einigen Sekunden "
            "erneut versuchen.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from error


@router.post("/rules/explain", name="rules.explain")
async def explain(
    request: ExplainRequest, user: RoutingUser, services: ServicesDep
) -> RoutingResult:
    """Route a profile's needs as a case would be routed, with the rule and reason of each."""
    return await run_in_threadpool(_explain, request, user, services)
