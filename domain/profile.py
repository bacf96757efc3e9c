"""The intake profile (IntakeData) of DESIGN.md with the checks a counsellor understands.

Checks that need "today" (a birth date in the future, a permit that has already expired) read
it from the validation context (`context={"today": date}`), because the domain never reads the
clock; `validate_intake` is the one entry point that always supplies it.
"""

from datetime import date
from typing import Annotated, Any

import pycountry
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.enums import Employment, GermanLevel, Goal, QualificationKind, ResidenceStatus
from domain.fields import PlausibleDate, Title

# Loaded once at import: pycountry reads its data files lazily, and inside Temporal's workflow
# sandbox (where payloads are decoded) opening a file is forbidden.
_ISO_639_1 = frozenset(
    lang.alpha_2 for lang in pycountry.languages if getattr(lang, "alpha_2", None)
)
_ISO_3166_1 = frozenset(country.alpha_2 for country in pycountry.countries)


class StrictModel(BaseModel):
    """Base of all payloads: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _today(info: ValidationInfo) -> date | None:
    context = info.context
    if isinstance(context, dict):
        today = context.get("today")
        if isinstance(today, date):
            return today
    return None


class Residence(StrictModel):
    status: ResidenceStatus
    expires_on: PlausibleDate | None = None

    @model_validator(mode="after")
    def _permit_not_expired(self, info: ValidationInfo) -> "Residence":
        today = _today(info)
        if (
            self.status is ResidenceStatus.PERMIT
            and self.expires_on is not None
            and today is not None
            and self.expires_on < today
        ):
            raise ValueError(
                f"expires_on: Der Aufenthaltstitel ist am {self.expires_on:%d.%m.%Y} "
                "abgelaufen; bitte Status 'unclear' wählen oder das neue Ablaufdatum eintragen."
            )
        return self


class Qualification(StrictModel):
    title: Title
    country: Annotated[str, Field(min_length=2, max_length=2)]
    kind: QualificationKind
    regulated: bool
    documents_complete: bool

    @field_validator("country")
    @classmethod
    def _iso_country(cls, value: str) -> str:
        code = value.upper()
        if code not in _ISO_3166_1:
            raise ValueError(f"'{value}' ist kein Ländercode nach ISO 3166-1 (z. B. SY, UA).")
        return code


class Child(StrictModel):
    birth_date: PlausibleDate
    has_childcare: bool

    @field_validator("birth_date")
    @classmethod
    def _not_in_future(cls, value: date, info: ValidationInfo) -> date:
        return _past_or_today(value, info)


def _past_or_today(value: date, info: ValidationInfo) -> date:
    today = _today(info)
    if today is not None and value > today:
        raise ValueError(f"Das Geburtsdatum {value:%d.%m.%Y} liegt in der Zukunft.")
    return value


class IntakeData(StrictModel):
    """The client's profile as taken at intake; the facts the routing rules read."""

    birth_date: PlausibleDate
    languages: Annotated[list[str], Field(max_length=20)] = Field(default_factory=list)
    german_level: GermanLevel
    literacy_need: bool = False
    integration_course_completed: bool = False
    residence: Residence
    receives_citizens_benefit: bool = False
    employment: Employment
    qualifications: Annotated[list[Qualification], Field(max_length=20)] = Field(
        default_factory=list
    )
    children: Annotated[list[Child], Field(max_length=20)] = Field(default_factory=list)
    goals: Annotated[list[Goal], Field(max_length=7)] = Field(default_factory=list)

    @field_validator("birth_date")
    @classmethod
    def _birth_not_in_future(cls, value: date, info: ValidationInfo) -> date:
        return _past_or_today(value, info)

    @field_validator("languages")
    @classmethod
    def _iso_languages(cls, value: list[str]) -> list[str]:
        codes = [code.strip().lower() for code in value]
        unknown = [code for code in codes if code not in _ISO_639_1]
        if unknown:
            raise ValueError(
                f"Unbekannte Sprachcodes „{'“, „'.join(unknown)}“: erwartet werden Codes nach "
                "ISO 639-1 (z. B. „ar“, „uk“, „tr“)."
            )
        return list(dict.fromkeys(codes))


def validate_intake(data: Any, today: date) -> IntakeData:
    """Validate raw intake data with the checks relative to `today` switched on."""
    return IntakeData.model_validate(data, context={"today": today})
