"""What the page „Auswertung" is asked for: its GET parameters (`von`, `bis`, `kommune`,
`stelle`), checked like the API's (`GET /reports/evaluation`: plausible dates, single-line ids
of at most 64 characters) and resolved through the API's own scope check
(`api.deps.resolve_report`), so the page, its charts and its CSV count exactly what the API
would count for the same user.

A refusal is said next to its field, in German (the API's 422 for `from`/`to` becomes one for
`von`/`bis`); a municipality or centre outside the user's scope stays the API's 404. What the
pickers offer is read here too: the municipalities and centres in the user's scope.
"""

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import HTTPException, status
from pydantic import Field, TypeAdapter, ValidationError
from sqlmodel import Session

from api.deps import resolve_report
from api.errors import validation_errors
from api.evaluation import ReportRequest
from domain.fields import PlausibleDate, SingleLine
from store.models import Role, User
from store.reads import scope as scope_reads
from store.reads.evaluation import centres_of, municipalities_of

_DAY: TypeAdapter[date] = TypeAdapter(PlausibleDate)
_ID: TypeAdapter[str] = TypeAdapter(Annotated[SingleLine, Field(max_length=64)])
# The API's query parameters and the page's: the API's refusals name its own.
_PAGE_FIELD = {"from": "von", "to": "bis", "municipality": "kommune", "centre": "stelle"}


@dataclass(frozen=True)
class Choice:
    """The page's parameters as sent (empty: not chosen)."""

    von: str = ""
    bis: str = ""
    kommune: str = ""
    stelle: str = ""

    def values(self) -> dict[str, list[str]]:
        """For the form (`FormState.values`): what it shows again."""
        return {name: [value] for name, value in self.__dict__.items()}


@dataclass(frozen=True)
class Asked:
    """A choice that passed the checks: the report to count, and the chosen ids."""

    request: ReportRequest
    kommune: str
    stelle: str

    def query(self) -> str:
        """The parameters of this exact report (the period resolved: a link made before
        midnight counts the same days after it), for the chart and CSV links."""
        params = {
            "von": self.request.start.isoformat(),
            "bis": self.request.end.isoformat(),
            "kommune": self.kommune,
            "stelle": self.stelle,
        }
        return urlencode({name: value for name, value in params.items() if value})


class Refused(Exception):
    """The choice cannot be counted; `errors` maps a page field to its German message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _parse(adapter: TypeAdapter[Any], field: str, raw: str, errors: dict[str, str]) -> Any:
    value = raw.strip()
    if not value:
        return None
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        # A bare value's error has no location: the page's field names it.
        located = [{**item, "loc": (field, *item["loc"])} for item in error.errors()]
        errors[field] = validation_errors(located)[0]["message"]
        return None


def allowed_municipalities(session: Session, user: User) -> tuple[str, ...] | None:
    """The municipalities the user's figures may cover (None: every one), as the API's scope
    check decides them."""
    if user.role is Role.SUPERVISOR:
        return (user.municipality_id or "",)
    return scope_reads.evaluator_municipalities(session, user.username)


def resolve(session: Session, user: User, choice: Choice) -> Asked:
    """The report `choice` asks for; `Refused` for a bad value, the API's 404 for a
    municipality or centre outside the user's scope (audited there, like every report)."""
    errors: dict[str, str] = {}
    start = _parse(_DAY, "von", choice.von, errors)
    end = _parse(_DAY, "bis", choice.bis, errors)
    municipality = _parse(_ID, "kommune", choice.kommune, errors)
    centre = _parse(_ID, "stelle", choice.stelle, errors)
    if municipality is not None and centre is not None and not errors:
        # Both within the scope, but not together: the form's mistake (a centre kept from
        # another municipality), said next to the field. Anything else is the API's 404.
        allowed = allowed_municipalities(session, user)

        def in_scope(place: str | None) -> bool:
            return (
                place is not None
                and (allowed is None or place in allowed)
                and scope_reads.municipality_exists(session, place)
            )

        home = scope_reads.centre_municipality(session, centre)
        if in_scope(home) and in_scope(municipality) and home != municipality:
            errors["stelle"] = "Diese Beratungsstelle gehört nicht zur gewählten Kommune."
    if errors:
        raise Refused(errors)
    try:
        request = resolve_report(session, user, start, end, municipality, centre)
    except HTTPException as error:
        if error.status_code != status.HTTP_422_UNPROCESSABLE_CONTENT:
            raise
        detail: dict[str, Any] = error.detail if isinstance(error.detail, dict) else {}
        raise Refused(
            {
                _PAGE_FIELD.get(problem["field"], problem["field"]): problem["message"]
                for problem in detail.get("errors", [])
            }
            or {"von": "Dieser Zeitraum ist nicht möglich."}
        ) from error
    return Asked(request, municipality or "", centre or "")


@dataclass(frozen=True)
class Pickers:
    """The options of the form: municipalities (only for an evaluator: a supervisor has one)
    and centres, each (id, name), in the user's scope."""

    municipalities: list[tuple[str, str]]
    centres: list[tuple[str, str]]


def pickers(session: Session, user: User, municipality: str) -> Pickers:
    """The centres of the chosen municipality, or of every municipality in scope."""
    allowed = allowed_municipalities(session, user)
    places = municipalities_of(session, allowed) if user.role is Role.EVALUATOR else []
    chosen = [municipality] if municipality else allowed
    return Pickers(municipalities=places, centres=centres_of(session, chosen))
