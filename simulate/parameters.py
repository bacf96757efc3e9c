"""The behaviour model's parameters: one data file (`simulate/model_project.yaml`, every value
commented there) read into this schema. Which values are published facts of the model project
and which are assumptions of the simulator is in docs/model-project.md.

A bad value is refused with a German message naming the field by its dotted path
(`partners.acknowledge_share: ...`), so a file edited by hand says where it is wrong.
"""

from collections.abc import Collection
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Self

import pycountry
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from domain.case import ClosureReason, GoalStatus
from domain.enums import ActorKind, Employment, GermanLevel, ResidenceStatus
from domain.referral import OutcomeResult

DEFAULT_FILE = Path(__file__).with_name("model_project.yaml")

# Numbers are strict: YAML 1.1 reads `yes`, `no`, `on` and `off` as booleans, and a lax float
# would take `yes` for 1.0 without a word; a quoted "0.5" is refused too, naming the field.
# NaN and infinity are refused outright: NaN fails the bound checks with a misleading message,
# and an infinite weight would swallow every other weight of its dict.
Share = Annotated[float, Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)]
Days = Annotated[int, Field(strict=True, ge=0, le=3650)]
# Weights are relative, so no sensible file needs more than a million; the bound also keeps a
# dict's total finite.
Weight = Annotated[float, Field(strict=True, ge=0.0, le=1_000_000.0, allow_inf_nan=False)]
Months = Annotated[int, Field(strict=True, ge=1, le=120)]

# Read once at import, as domain/profile.py does: the codes a client's languages must have.
_ISO_639_1 = frozenset(
    lang.alpha_2 for lang in pycountry.languages if getattr(lang, "alpha_2", None)
)
_SHOWN_KEY_LENGTH = 40


def _shown(text: str) -> str:
    """`text` quoted for a message: control and other unprintable characters escaped (a message
    is printed on a terminal), long text cut."""
    cut = text if len(text) <= _SHOWN_KEY_LENGTH else text[:_SHOWN_KEY_LENGTH] + "…"
    escaped = "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in cut
    )
    return f"'{escaped}'"


def _weights(allowed: Collection[str], what: str) -> AfterValidator:
    """The check of one weight dict: at least one entry, every key one of `allowed` (`what`
    says which in the message), and a positive total (a draw divides by it)."""

    def check(value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("Die Gewichte dürfen nicht leer sein.")
        for key in value:
            if key not in allowed:
                raise ValueError(f"Unbekannter Schlüssel {_shown(key)}: erwartet wird {what}.")
        if sum(value.values()) <= 0.0:
            raise ValueError(
                "Die Gewichte ergeben zusammen 0; mindestens eines muss größer als 0 sein."
            )
        return value

    return AfterValidator(check)


def _enum_keys(values: Collection[str], what: str) -> AfterValidator:
    return _weights(frozenset(values), f"{what} ({', '.join(values)})")


# The keys each weight dict may have. ClosureReason leaves out `transferred` (a move to another
# centre, not an ending); ActorKind leaves out `migration_counselling` (the centre itself, which
# does not refer a client to itself).
GermanLevelWeights = Annotated[
    dict[str, Weight], _enum_keys([v.value for v in GermanLevel], "ein Deutschniveau")
]
LanguageWeights = Annotated[
    dict[str, Weight],
    _weights(_ISO_639_1, "ein Sprachcode nach ISO 639-1 in Kleinbuchstaben (z. B. ar, tr, fa)"),
]
EmploymentWeights = Annotated[
    dict[str, Weight], _enum_keys([v.value for v in Employment], "eine Erwerbssituation")
]
ResidenceWeights = Annotated[
    dict[str, Weight], _enum_keys([v.value for v in ResidenceStatus], "ein Aufenthaltsstatus")
]
ReferrerWeights = Annotated[
    dict[str, Weight],
    _enum_keys(
        [v.value for v in ActorKind if v is not ActorKind.MIGRATION_COUNSELLING],
        "die Art eines Partners",
    ),
]
OutcomeWeights = Annotated[
    dict[str, Weight], _enum_keys([v.value for v in OutcomeResult], "ein Ergebnis")
]
GoalStatusWeights = Annotated[
    dict[str, Weight], _enum_keys([v.value for v in GoalStatus], "ein Stand eines Ziels")
]
ClosureWeights = Annotated[
    dict[str, Weight],
    _enum_keys(
        [v.value for v in ClosureReason if v is not ClosureReason.TRANSFERRED],
        "ein Abschlussgrund",
    ),
]


class ParametersError(ValueError):
    """The parameters file cannot be used; the message names the field, in German."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DayRange(Strict):
    """A number of days drawn evenly from `min` to `max` (both included)."""

    min: Days
    max: Days

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) ist größer als max ({self.max}).")
        return self


class Project(Strict):
    """The model project's frame (published facts)."""

    start: date  # the first day agreements were opened
    months: Months  # how long the project ran
    agreements: Annotated[
        int, Field(strict=True, ge=1, le=1_000_000)
    ]  # concluded at scale 1: more than this
    opening_months: Months  # cases are opened in these first months


class Clients(Strict):
    """Who comes to a centre (assumptions)."""

    german_level: GermanLevelWeights  # GermanLevel value -> weight
    languages: LanguageWeights  # ISO 639-1 code -> weight (the client's first language)
    second_language_share: Share  # also speaks English or French
    citizens_benefit_share: Share
    employment: EmploymentWeights  # Employment value -> weight
    residence: ResidenceWeights  # ResidenceStatus value -> weight
    children_share: Share  # has children under 14
    child_without_place_share: Share  # of those: one child has no childcare place
    qualification_share: Share  # holds a foreign qualification
    qualification_documents_complete_share: Share
    literacy_need_share: Share
    integration_course_completed_share: Share
    mbe_age: DayRange  # in years (MBE: adults from 27)
    jmd_age: DayRange  # in years (JMD: 12 to 26)


class Intake(Strict):
    """How a case moves to signing (assumptions)."""

    inbound_share: Share  # cases that begin as a partner's referral to the centre
    inbound_sources: ReferrerWeights  # ActorKind value of the referring partner -> weight
    inbound_declined_share: Share  # referrals to a centre the centre declines
    inbound_days_to_decision: DayRange
    ended_before_signing_share: Share  # cases closed before the agreement is signed
    days_to_assessment: DayRange
    days_to_draft: DayRange
    days_to_signature: DayRange
    extra_need_share: Share  # a need beyond those the profile implies ("other")


class PartnerBehaviour(Strict):
    """How a partner agency answers a referral (assumptions). The shares of acknowledge,
    decline and silence add up to 1."""

    acknowledge_share: Share
    decline_share: Share
    silent_share: Share  # no answer: reminder, escalation, expiry, re-route
    acknowledge_working_days: DayRange  # after dispatch
    decline_working_days: DayRange
    complete_share: Share  # of the acknowledged: completed with an outcome (else open)
    complete_days: DayRange  # after the acknowledgement
    outcome: OutcomeWeights  # OutcomeResult value -> weight
    progress_note_share: Share  # an acknowledged referral gets one progress note

    @model_validator(mode="after")
    def _shares_add_up(self) -> Self:
        total = self.acknowledge_share + self.decline_share + self.silent_share
        if abs(total - 1.0) > 1e-9:
            raise ValueError(
                "acknowledge_share, decline_share und silent_share ergeben zusammen "
                f"{total:g}, nicht 1."
            )
        return self


class CounsellorBehaviour(Strict):
    """How counsellors record reviews (assumptions). The shares add up to 1."""

    on_time_share: Share  # recorded within the 14 days after the due date
    late_share: Share  # recorded later
    missed_share: Share  # not recorded at all: the review stays overdue
    on_time_days: DayRange  # days after the due date
    late_days: DayRange
    goal_progress: GoalStatusWeights  # GoalStatus value -> weight, per goal and review

    @model_validator(mode="after")
    def _shares_add_up(self) -> Self:
        total = self.on_time_share + self.late_share + self.missed_share
        if abs(total - 1.0) > 1e-9:
            raise ValueError(
                f"on_time_share, late_share und missed_share ergeben zusammen {total:g}, nicht 1."
            )
        return self


class Closures(Strict):
    """How agreements end (assumptions)."""

    after_reviews: DayRange  # an agreement closes after this many reviews (a count)
    closed_within_project_share: Share  # agreements that close before the project ends
    reasons: ClosureWeights  # ClosureReason value -> weight (transferred excluded)
    before_signing_reasons: ClosureWeights


class Survey(Strict):
    """The two survey questions at each review. Defaults: the published shares."""

    agreement_helped: Share  # "the signed agreement helped": 59.2 %
    easier_to_keep_at_it: Share  # "made it easier to stay on the ball": 37.3 %
    unanswered_share: Share  # a review without an answer to the questions


class Parameters(Strict):
    project: Project
    clients: Clients
    intake: Intake
    partners: PartnerBehaviour
    counsellors: CounsellorBehaviour
    closures: Closures
    survey: Survey


# The sections a file must have, for the message when it has none.
_SECTIONS = ", ".join(Parameters.model_fields)


def _number(value: object) -> str:
    """A bound as the file writes it: 1 not 1.0 (decimals with a point, as YAML wants them)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _given(value: object) -> str:
    """The offending value, short and printable, for the message."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "leer"
    if isinstance(value, int | float):
        text = repr(value)
        return text if len(text) <= 24 else text[:24] + "…"
    if isinstance(value, str):
        return _shown(value)
    return f"ein Wert vom Typ {type(value).__name__}"


def _message(item: ErrorDetails) -> str:
    """Pydantic's English message in German; the field is named by the caller."""
    kind = item["type"]
    ctx = item.get("ctx") or {}
    given = _given(item.get("input"))
    if kind == "value_error":
        return item["msg"].removeprefix("Value error, ")
    if kind == "missing":
        return "fehlt."
    if kind == "extra_forbidden":
        return "ist kein bekanntes Feld (Tippfehler?)."
    if kind in {"greater_than_equal", "greater_than"}:
        bound = _number(ctx.get("ge", ctx.get("gt")))
        least = "mindestens" if kind == "greater_than_equal" else "größer als"
        return f"muss {least} {bound} sein, angegeben ist {given}."
    if kind in {"less_than_equal", "less_than"}:
        bound = _number(ctx.get("le", ctx.get("lt")))
        most = "höchstens" if kind == "less_than_equal" else "kleiner als"
        return f"darf {most} {bound} sein, angegeben ist {given}."
    if kind == "finite_number":
        return f"muss eine endliche Zahl sein, angegeben ist {given}."
    if kind in {"float_parsing", "float_type"}:
        return f"muss eine Zahl sein (z. B. 0.25), angegeben ist {given}."
    if kind in {"int_parsing", "int_type", "int_from_float", "int_parsing_size"}:
        return f"muss eine ganze Zahl sein, angegeben ist {given}."
    if kind in {
        "date_parsing",
        "date_from_datetime_parsing",
        "date_type",
        "date_from_datetime_inexact",
    }:
        return f"muss ein Datum der Form JJJJ-MM-TT sein, angegeben ist {given}."
    if kind in {"bool_parsing", "bool_type"}:
        return f"muss true oder false sein, angegeben ist {given}."
    if kind in {"string_type", "string_unicode"}:
        return f"muss ein Text sein, angegeben ist {given}."
    if kind == "dict_type":
        return f"muss eine Zuordnung (Schlüssel: Wert) sein, angegeben ist {given}."
    if kind in {"model_type", "model_attributes_type"}:
        if not item["loc"]:
            return f"muss aus den Abschnitten {_SECTIONS} bestehen, angegeben ist {given}."
        return f"muss ein Abschnitt mit Feldern sein, angegeben ist {given}."
    return f"ungültiger Wert ({given})."


def _german(error: ValidationError) -> str:
    """One German sentence per error, each naming its field by dotted path
    (`partners.acknowledge_share: darf höchstens 1 sein, ...`)."""
    lines = []
    for item in error.errors():
        parts = [str(part) for part in item["loc"]]
        # A key the file made up (an unknown field, a weight's key) may hold anything: escaped.
        where = ".".join(_shown(part)[1:-1] for part in parts) or "Datei"
        lines.append(f"{where}: {_message(item)}")
    return "Die Parameterdatei ist ungültig: " + "; ".join(lines)


def parse_parameters(raw: Any) -> Parameters:
    """The parameters of an already parsed document; ParametersError names the bad field."""
    try:
        return Parameters.model_validate(raw)
    except ValidationError as error:
        raise ParametersError(_german(error)) from None


def load_parameters(path: Path | None = None) -> Parameters:
    """Read the parameters file (the packaged default unless `path` is given)."""
    file = path or DEFAULT_FILE
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ParametersError(
            f"Die Parameterdatei {file.name} ist nicht lesbar: {type(error).__name__}"
        ) from None
    return parse_parameters(raw)
