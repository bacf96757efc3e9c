"""Needs (the assessment) and routes (what the rules make of each need)."""

from typing import Annotated

from pydantic import Field

from domain.enums import ActorKind, NeedKind
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
