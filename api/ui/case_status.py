"""What the case page says of where a case stands: the status header's one primary action,
whether the review form opens by itself, the message of the signature that put the agreement
in force, and each measure's chip.

The primary action is not a second stage table: it is the furthest step along the case's way
(`ACTION_TITLES`' order, intake to review) among those the domain offers now, so in drafting it
is „Zur Unterschrift vorlegen“ once a draft exists and in an active case the review, never the
amendment or the closing beside it. What it must not do: decide whether an action is allowed
(domain/stage_table.py and the workflow do).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from api.ui import labels
from api.ui.formats import plural
from domain.case import CaseState, Measure, ReferralRecord, Stage
from domain.stage_table import Action

# How the primary action reads on its button (the sections' headings stay as they are).
PRIMARY_LABELS: dict[Action, str] = {
    Action.COMPLETE_INTAKE: "Aufnahme abschließen",
    Action.COMPLETE_ASSESSMENT: "Bedarfsklärung abschließen",
    Action.DRAFT_AGREEMENT: "Vereinbarung entwerfen",
    Action.REQUEST_SIGNATURE: "Zur Unterschrift vorlegen",
    Action.SIGN: "Unterschriften erfassen",
    Action.RECORD_REVIEW: "Überprüfung erfassen",
}
# Actions that are never the primary one: closing and the amendment are there, but secondary.
NEVER_PRIMARY = frozenset({Action.CLOSE})
# The query that asks for the review form (the primary action's link, a no-script way).
REVIEW_ASKED = "ueberpruefung"


@dataclass(frozen=True)
class Primary:
    action: Action
    label: str
    href: str  # within the page: an anchor, for the review with the query that opens its form


def primary_action(offered: list[Action], case_id: str) -> Primary | None:
    """The furthest of the `offered` actions (in `PRIMARY_LABELS`' order), or None when the
    stage offers none of them (a closed case)."""
    chosen = None
    for action in PRIMARY_LABELS:
        if action in offered and action not in NEVER_PRIMARY:
            chosen = action
    if chosen is None:
        return None
    anchor = "#aktion-" + chosen
    href = anchor
    if chosen is Action.RECORD_REVIEW:
        href = f"/faelle/{case_id}?{REVIEW_ASKED}=1{anchor}"
    return Primary(chosen, PRIMARY_LABELS[chosen], href)


def review_due(state: CaseState, now: datetime) -> bool:
    """Whether the review is due: its date has come, or the seven-day reminder went out."""
    due = state.next_review_due
    if due is None:
        return False
    return state.review_overdue or state.review_due_noticed or state.review_reminded or due <= now


def activation_message(state: CaseState, partner_name: Callable[[str | None], str]) -> str | None:
    """What the signature that put the agreement in force did, from the state after it:
    since when it applies, and which measures went to which partners (None: the current
    version is not signed by both, so the signature activated nothing)."""
    document = state.documents[-1] if state.documents else None
    if document is None or state.stage is not Stage.ACTIVE:
        return None
    signed = [s.at for s in state.signatures if s.version == document.version]
    if len(signed) < 2:
        return None
    # The referrals dispatched with the activation carry its moment (domain/stages.py).
    activated = max(signed)
    sent = [r for r in state.referrals if r.dispatched_at == activated]
    first = "Die Vereinbarung gilt ab heute."
    if state.activated_at is not None and state.activated_at < activated:
        # An amendment: the agreement was in force before, this version is new.
        first = f"Die geänderte Vereinbarung (Fassung {document.version}) gilt ab heute."
    if not sent:
        return first + " Keine neue Maßnahme ging an einen Partner."
    routes = {route.id: route for route in state.routes}
    named = []
    for referral in sent:
        route = routes.get(referral.route_id)
        what = labels.measure(route.measure) if route is not None else "Maßnahme"
        named.append(f"{partner_name(referral.partner_id)} für {what}")
    count = plural(len(sent), "Vermittlung", "Vermittlungen")
    return f"{first} {count} an Partner übermittelt: {'; '.join(named)}."


def measure_state(
    measure: Measure, referral: ReferralRecord | None, in_force: bool
) -> tuple[str, str]:
    """A measure's chip: its state in words and the chip's kind (done, waiting, open,
    planned), from the measure, its latest referral and whether an agreement is in force (a
    measure without a proposal is never marked activated: domain/stages.py `_activate`)."""
    if measure.done:
        if measure.outcome is not None:
            return "abgeschlossen: " + labels.OUTCOME[measure.outcome.result.value], "done"
        return "erledigt", "done"
    if measure.set_aside is not None:
        return labels.SET_ASIDE[measure.set_aside.value], "waiting"
    if referral is not None:
        return labels.REFERRAL_STATUS[referral.status.value], "open"
    if measure.activated_at is None and (not in_force or measure.route_id is not None):
        return "geplant", "planned"
    return "offen", "open"
