"""Who sends an update, and whether the case or referral itself lets them.

The API checks scope against the read model, which lags the workflow: right after a transfer,
the old centre still owns the case there for a moment. So every update the API sends carries
the `Actor`, and the workflow's validator (and handler) checks it against the case's *current*
owner: a stale read model cannot grant access. The refusal is `NotYours`, which the API answers
exactly like a missing object (404), so ids cannot be probed.

An update without an actor (an older API, or an operator's tool on the Temporal side) is not
checked here: it is decided by whoever can reach Temporal, which production keeps to the API.
"""

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from domain.case import CaseState, TaskRole
from domain.profile import StrictModel
from domain.referral import ReferralState
from domain.rejections import NotYours

Slug = Annotated[str, Field(min_length=1, max_length=64)]


class ActorRole(StrEnum):
    COUNSELLOR = "counsellor"
    PARTNER = "partner"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    # The data protection officer (issue 15): sends no update to a case; erasure terminates
    # the case's workflows instead (api/erasure.py).
    DATA_PROTECTION = "datenschutz"


class Actor(StrictModel):
    """The signed-in person an update comes from (ids only: it enters the history)."""

    user_id: Slug
    role: ActorRole
    centre_id: Slug | None = None  # a counsellor's centre
    partner_id: Slug | None = None  # a partner account's agency
    municipality_id: Slug | None = None  # a supervisor's municipality


def case_access(state: CaseState, actor: Actor | None) -> NotYours | None:
    """Only a counsellor of the centre that holds the case now may change it."""
    if actor is None:
        return None
    if actor.role is ActorRole.COUNSELLOR and actor.centre_id == state.centre_id:
        return None
    return NotYours()


def referral_change_access(state: CaseState, actor: Actor | None) -> NotYours | None:
    """Who may withdraw or re-route a case's referral: a counsellor of the centre that holds
    the case now, or a supervisor of its municipality (which referrals she may change, the
    stage functions decide: domain/stages_withdrawal.py)."""
    if actor is None:
        return None
    if actor.role is ActorRole.SUPERVISOR and actor.municipality_id == state.municipality_id:
        return None
    return case_access(state, actor)


def reassign_access(state: CaseState, actor: Actor | None) -> NotYours | None:
    """Who may give the case another counsellor: a counsellor of the centre that holds it now,
    or a supervisor of its municipality (only for a case waiting for a counsellor after a
    transfer: the stage function decides, domain/stages_review.py). New with the coordination's
    assignment: no recorded history has a supervisor's reassignment, so allowing one changes
    no replay."""
    if actor is None:
        return None
    if actor.role is ActorRole.SUPERVISOR and actor.municipality_id == state.municipality_id:
        return None
    return case_access(state, actor)


def is_coordination(actor: Actor | None) -> bool:
    """Whether the actor acts as the municipality's coordination (a supervisor)."""
    return actor is not None and actor.role is ActorRole.SUPERVISOR


def referral_access(state: ReferralState, actor: Actor | None) -> NotYours | None:
    """Only the agency the referral was sent to may answer it."""
    if actor is None:
        return None
    if actor.role is ActorRole.PARTNER and actor.partner_id == state.partner_id:
        return None
    return NotYours()


def task_role(actor: Actor | None) -> TaskRole | None:
    """The tasks the actor may mark done: a counsellor those of the counsellor, not the
    supervisors' (an escalated referral, a case waiting for a counsellor)."""
    if actor is None:
        return None
    return TaskRole.COUNSELLOR if actor.role is ActorRole.COUNSELLOR else TaskRole.SUPERVISOR
