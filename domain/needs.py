"""Needs (the assessment) and routes (what the rules make of each need)."""

from collections.abc import Iterable
from typing import Annotated

from pydantic import Field

from domain.enums import ActorKind, Goal, NeedKind
from domain.fields import Note
from domain.profile import StrictModel


class Need(StrictModel):
    kind: NeedKind
    note: Note = ""
    priority: Annotated[int, Field(ge=1, le=3)] = 2


class Assessment(StrictModel):
    needs: Annotated[list[Need], Field(min_length=1, max_length=30)]


class FollowUp(StrictModel):
    after_days: Annotated[int, Field(gt=0, le=3650)]
    action: Annotated[str, Field(min_length=1, max_length=300)]


class Route(StrictModel):
    """One routed need: which kind of actor does which measure, by which rule and why."""

    need: NeedKind
    need_index: Annotated[int, Field(ge=0)] = 0
    actor: ActorKind
    measure: str
    partner_id: str | None = None
    rule: str
    reason: str
    priority: Annotated[int, Field(ge=1, le=3)] = 2
    follow_ups: list[FollowUp] = Field(default_factory=list)
    qualification: str | None = None
    unassigned_reason: str | None = None


class Unrouted(StrictModel):
    """A need no rule matched: shown to the counsellor, never dropped."""

    need: NeedKind
    need_index: Annotated[int, Field(ge=0)]
    reason: str
    qualification: str | None = None


class RoutingResult(StrictModel):
    ruleset_version: str
    routes: list[Route] = Field(default_factory=list)
    unrouted: list[Unrouted] = Field(default_factory=list)


# The need each intake goal stands for: the assessment form preselects these. "other" says
# too little to name a need, so the counsellor writes that one herself.
NEED_OF_GOAL: dict[Goal, NeedKind] = {
    Goal.LANGUAGE: NeedKind.LANGUAGE,
    Goal.EMPLOYMENT: NeedKind.EMPLOYMENT,
    Goal.TRAINING: NeedKind.TRAINING,
    Goal.RECOGNITION: NeedKind.CREDENTIAL,
    Goal.CHILDCARE: NeedKind.CHILDCARE,
    Goal.RESIDENCE: NeedKind.RESIDENCE,
}


def needs_from_goals(goals: Iterable[Goal]) -> list[NeedKind]:
    """The needs that follow from the intake's goals, in the goals' order, each once."""
    found: list[NeedKind] = []
    for goal in goals:
        need = NEED_OF_GOAL.get(goal)
        if need is not None and need not in found:
            found.append(need)
    return found
