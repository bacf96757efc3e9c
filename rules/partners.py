"""Partner resolution: the concrete partner for each route, picked from the directory.

Rules choose the actor kind and the measure; this picks the partner of that kind: active, in
the case's municipality, offering the route's measure, with the fewest open referrals, ties
broken by partner id (stable across runs). Pure: the caller passes the directory records.

Decisions (DESIGN.md leaves them open):
- Routes of one call count as load: a partner picked for one route carries one more referral
  for the next route of the same call, so two routes of one kind spread across equal partners
  instead of both going to the lowest id.
- `migration_counselling` routes are the centre's own work: no partner and no reason.
- A route without a fitting partner keeps `partner_id=None` and says why in German
  (`unassigned_reason`); it is never dropped.
- `exclude` names partners that already declined or let the referral expire (re-routing).
"""

from collections.abc import Collection, Sequence

from domain.enums import ActorKind
from domain.labels import ACTOR_LABELS
from domain.needs import Route
from domain.partners import Partner


def _no_partner_reason(
    route: Route, of_kind: list[Partner], exclude: Collection[str], municipality: str
) -> str:
    kind = f"der Art „{ACTOR_LABELS[route.actor]}“ in „{municipality}“"
    active = [p for p in of_kind if p.active]
    offering = [p for p in active if route.measure in p.measures]
    if not of_kind:
        problem = f"Kein Partner {kind} im Verzeichnis"
    elif not active:
        problem = f"Kein aktiver Partner {kind}"
    elif not offering:
        problem = f"Kein aktiver Partner {kind} bietet die Maßnahme „{route.measure}“ an"
    else:
        assert all(p.id in exclude for p in offering)
        problem = f"Alle passenden Partner {kind} haben bereits abgelehnt oder nicht reagiert"
    return f"{problem}: bitte manuell zuweisen."


def resolve_partners(
    routes: Sequence[Route],
    partners: Sequence[Partner],
    municipality: str,
    *,
    exclude: Collection[str] = (),
) -> list[Route]:
    """Copies of `routes` with `partner_id` (or `unassigned_reason`) set, in the same order."""
    load = {p.id: p.open_referrals for p in partners}
    local = [p for p in partners if p.municipality == municipality]
    resolved: list[Route] = []

    def assign(route: Route, partner_id: str | None, reason: str | None) -> None:
        update = {"partner_id": partner_id, "unassigned_reason": reason}
        resolved.append(route.model_copy(update=update))

    for route in routes:
        if route.actor is ActorKind.MIGRATION_COUNSELLING:
            assign(route, None, None)
            continue
        of_kind = [p for p in local if p.kind is route.actor]
        candidates = [
            p for p in of_kind if p.active and route.measure in p.measures and p.id not in exclude
        ]
        if not candidates:
            assign(route, None, _no_partner_reason(route, of_kind, exclude, municipality))
            continue
        chosen = min(candidates, key=lambda p: (load[p.id], p.id))
        load[chosen.id] += 1
        assign(route, chosen.id, None)
    return resolved
