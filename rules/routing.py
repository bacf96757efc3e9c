"""Routing a profile's needs the whole way, as a case is routed: the municipality's rules
pick each need's route (evaluator.py), then the directory's partners of the chosen kind pick
the partner (partners.py). The `route_needs` activity and `POST /rules/explain` both call
`route_needs`, so a dry run routes exactly as a case does.

Pure apart from what the caller passes in: the partners come from `partners(municipality)`
(None: the directory does not know the municipality, and the routes keep no partner).
"""

from collections.abc import Callable, Sequence
from datetime import date

from domain.enums import CentreKind
from domain.needs import Need, RoutingResult
from domain.partners import Partner
from domain.profile import IntakeData
from rules.evaluator import evaluator_for
from rules.partners import resolve_partners

PartnerSource = Callable[[str], Sequence[Partner] | None]


def route_needs(
    profile: IntakeData,
    needs: Sequence[Need],
    *,
    municipality: str | None,
    today: date,
    centre_kind: CentreKind,
    partners: PartnerSource,
) -> RoutingResult:
    """The routes of `needs` with their partners. Raises ValueError (not a municipality id),
    rules.CatalogError (its rules are broken), rules.RulesUnavailable and
    rules.RoutingEngineError (the evaluation failed; trying again may well succeed)."""
    result = evaluator_for(municipality).route(profile, needs, today=today, centre_kind=centre_kind)
    if municipality is None:
        return result
    directory = partners(municipality)
    if directory is None:
        return result
    routes = resolve_partners(result.routes, list(directory), municipality)
    return result.model_copy(update={"routes": routes})
