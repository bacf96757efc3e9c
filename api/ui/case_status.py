"""The case page's status header: the one primary action of the stage, and whether the review
form opens by itself.

The primary action is not a second stage table: it is the furthest step along the case's way
(`ACTION_TITLES`' order, intake to review) among those the domain offers now, so in drafting it
is „Zur Unterschrift vorlegen“ once a draft exists and in an active case the review, never the
amendment or the closing beside it. What it must not do: decide whether an action is allowed
(domain/stage_table.py and the workflow do).
"""

from dataclasses import dataclass
from datetime import datetime

from domain.case import CaseState
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
