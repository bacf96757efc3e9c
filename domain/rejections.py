"""Why an action is refused: typed, so the API can answer 409 (wrong stage) or 422 (bad data),
and worded for the counsellor who reads it."""

from dataclasses import dataclass

from pydantic import ValidationError

from domain.case import STAGE_LABELS, CaseState, Stage
from domain.stage_table import ACTION_LABELS, ALLOWED, Action


@dataclass(frozen=True)
class WrongStage:
    """The action is not possible in the case's current stage (HTTP 409)."""

    stage: Stage
    message: str
    type: str = "WrongStage"


@dataclass(frozen=True)
class Invalid:
    """The data does not fit the case (HTTP 422); `field` is a dotted path into the payload."""

    field: str
    message: str
    type: str = "Invalid"


@dataclass(frozen=True)
class NotYours:
    """The case or referral is not the actor's (any more; domain/actor.py): the API answers
    exactly as for a missing one (HTTP 404)."""

    message: str = "Nicht gefunden."
    type: str = "NotFound"


Rejection = WrongStage | Invalid | NotYours


def _stage_name(stage: Stage) -> str:
    # The German name only: a stage's code („awaiting_signature“) means nothing to a reader.
    return f"„{STAGE_LABELS[stage]}“"


def require_allowed(state: CaseState, action: Action) -> WrongStage | None:
    """A `WrongStage` naming the current stage unless the stage table allows `action` in it."""
    return require_stage(state, action, *ALLOWED[action])


def require_stage(state: CaseState, action: Action, *allowed: Stage) -> WrongStage | None:
    """A `WrongStage` naming the current stage unless the case is in one of `allowed`."""
    return require_stage_for(state, ACTION_LABELS[action], *allowed)


def require_stage_for(state: CaseState, what: str, *allowed: Stage) -> WrongStage | None:
    """`require_stage` for a variant of an action (`what`: "Als doppelt angelegt
    abschließen")."""
    if state.stage in allowed:
        return None
    wanted = " oder ".join(_stage_name(stage) for stage in allowed)
    return WrongStage(
        stage=state.stage,
        message=(
            f"Im Stadium {_stage_name(state.stage)} nicht möglich: "
            f"{what} geht nur im Stadium {wanted}."
        ),
    )


def from_validation_error(err: ValidationError, prefix: str = "") -> Invalid:
    """The first error of a pydantic validation as an `Invalid` with a dotted field path."""
    first = err.errors()[0]
    field = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    message = first["msg"].removeprefix("Value error, ")
    return Invalid(field=field or prefix, message=message)
