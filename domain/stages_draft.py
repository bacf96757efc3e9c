"""The stage machine's drafting step: goals and measures of an agreement, first or amended.

A measure carries out one routing proposal (or none: the client's or the centre's own task);
it may name another partner than the proposal's, with a reason. In an amendment, a measure
of the signed agreement (found by its proposal) keeps its id, partner, referral and progress;
only its wording may change. So an amendment after a review changes the agreement without
losing what already happened. Same shape as stages.py.
"""

from datetime import datetime

from domain.actions import AgreementDraft
from domain.case import CaseGoal, CaseState, Measure, Responsible, Stage
from domain.case_log import new_id, record
from domain.enums import ActorKind
from domain.events import AgreementDrafted
from domain.labels import NEED_LABELS
from domain.referral import OPEN
from domain.rejections import Invalid, Rejection, require_allowed
from domain.stage_table import Action


def check_draft_agreement(
    state: CaseState, draft: AgreementDraft, now: datetime
) -> Rejection | None:
    if wrong := require_allowed(state, Action.DRAFT_AGREEMENT):
        return wrong
    goal_ids = {goal.id for goal in state.goals}
    for index, goal in enumerate(draft.goals):
        if goal.id is not None and goal.id not in goal_ids:
            return Invalid(f"goals.{index}.id", f"Es gibt kein Ziel '{goal.id}' in diesem Fall.")
    return _check_measures(state, draft)


def _running(state: CaseState) -> dict[str, Measure]:
    """Measures of a signed agreement, by the proposal they carry out: they stay as signed."""
    return {m.route_id: m for m in state.measures if m.route_id is not None and m.activated_at}


def _check_measures(state: CaseState, draft: AgreementDraft) -> Rejection | None:
    routes = {route.id: route for route in state.routes}
    running = _running(state)
    seen: set[str] = set()
    for index, measure in enumerate(draft.measures):
        field = f"measures.{index}"
        if measure.route_id is None:
            continue
        route = routes.get(measure.route_id)
        if route is None:
            return Invalid(f"{field}.route_id", f"Es gibt keinen Vorschlag '{measure.route_id}'.")
        if measure.route_id in seen:
            return Invalid(
                f"{field}.route_id",
                f"Der Vorschlag '{measure.route_id}' steht schon in einer anderen Maßnahme.",
            )
        seen.add(measure.route_id)
        current = running.get(measure.route_id)
        if current is not None:
            if measure.responsible is not current.responsible:
                return Invalid(
                    f"{field}.responsible",
                    "Eine laufende Maßnahme behält ihre Verantwortlichen; für eine andere "
                    "Aufteilung bitte einen neuen Vorschlag (Überprüfung mit neuem Bedarf).",
                )
            if measure.partner_id is not None and measure.partner_id != current.partner_id:
                return Invalid(
                    f"{field}.partner_id",
                    "Diese Maßnahme ist bereits vermittelt; der Partner lässt sich nicht mehr "
                    "ändern.",
                )
            continue
        if measure.responsible is not Responsible.PARTNER:
            continue
        if route.actor is ActorKind.MIGRATION_COUNSELLING:
            return Invalid(
                f"{field}.responsible",
                "Diesen Vorschlag setzt die Beratungsstelle selbst um: "
                "bitte 'counsellor' als verantwortlich wählen.",
            )
        overrides = measure.partner_id is not None and measure.partner_id != route.partner_id
        if overrides and not (measure.override_reason or "").strip():
            return Invalid(
                f"{field}.override_reason",
                "Wer vom vorgeschlagenen Partner abweicht, muss das begründen.",
            )
        if measure.partner_id is None and route.partner_id is None:
            return Invalid(
                f"{field}.partner_id",
                route.unassigned_reason or "Für diesen Vorschlag ist kein Partner bekannt.",
            )
    still_open = {r.route_id for r in state.referrals if r.status in OPEN}
    dropped = still_open - seen
    if dropped:
        return Invalid(
            "measures",
            f"Die Vorschläge {_named(state, dropped)} sind an Partner vermittelt und noch offen; "
            "ihre Maßnahmen können nicht entfallen. Bitte übernehmen Sie sie wieder.",
        )
    return None


def draft_agreement(
    state: CaseState, draft: AgreementDraft, now: datetime
) -> CaseState | Rejection:
    if rejection := check_draft_agreement(state, draft, now):
        return rejection
    new = state.fork()
    old_goals = {goal.id: goal for goal in new.goals}
    new.goals = [
        old_goals[goal.id].model_copy(update={"text": goal.text, "target_date": goal.target_date})
        if goal.id is not None
        else CaseGoal(id=new_id(new, "g"), text=goal.text, target_date=goal.target_date)
        for goal in draft.goals
    ]
    routes = {route.id: route for route in new.routes}
    running = _running(new)
    new.measures = []
    for item in draft.measures:
        current = running.get(item.route_id) if item.route_id is not None else None
        if current is not None:
            # Signed and maybe dispatched: only the wording may change; the id, the partner
            # (a re-route's, too) and the progress stay.
            new.measures.append(current.model_copy(update={"text": item.text}))
            continue
        route = routes.get(item.route_id) if item.route_id is not None else None
        proposed = route.partner_id if route is not None else None
        partner_id = None
        if item.responsible is Responsible.PARTNER:
            partner_id = item.partner_id or proposed
        overridden = partner_id is not None and partner_id != proposed
        new.measures.append(
            Measure(
                id=new_id(new, "m"),
                text=item.text,
                responsible=item.responsible,
                route_id=item.route_id,
                partner_id=partner_id,
                override_reason=item.override_reason if overridden else None,
            )
        )
    new.amendment_pending = state.stage is Stage.ACTIVE
    record(
        new,
        AgreementDrafted(
            goals=len(new.goals), measures=len(new.measures), amendment=new.amendment_pending
        ),
        now,
    )
    return new


def _named(state: CaseState, route_ids: set[str]) -> str:
    """The proposals as a counsellor reads them: their needs in German, in proposal order
    („Sprache“ und „Arbeit“), not their ids."""
    needs = [NEED_LABELS[route.need] for route in state.routes if route.id in route_ids]
    return " und ".join(f"„{need}“" for need in needs) or f"({len(route_ids)})"
