"""The intake profile (IntakeData) of DESIGN.md with the checks a counsellor understands.

Checks that need "today" (a birth date in the future, a permit that has already expired) read
it from the validation context (`context={"today": date}`), because the domain never reads the
clock; `validate_intake` is the one entry point that always supplies it.
"""

from datetime import date
from typing import Annotated, Any

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

# The code tables are read when domain.languages is imported: payloads are decoded inside
# Temporal's workflow sandbox, where opening a data file is forbidden.
from domain.languages import (
    country_code,
    language_code,
    unknown_country_message,
    unknown_languages_message,
)

# A country's German name may be long („Föderierte Staaten von Mikronesien“); the stored value
# is its two-letter code.
_COUNTRY_ENTRY_LENGTH = 80


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
    # ISO 3166-1 alpha-2 as stored; alpha-3 and the German name are accepted and converted.
    country: Annotated[
        str,
        Field(
            max_length=_COUNTRY_ENTRY_LENGTH,
            description="ISO 3166-1 alpha-2 (stored), alpha-3 or the German name, e.g. "
            "'SY', 'SYR', 'Syrien'; answered as alpha-2.",
        ),
    ]
    kind: QualificationKind
    regulated: bool
    documents_complete: bool

    @field_validator("country")
    @classmethod
    def _iso_country(cls, value: str) -> str:
        code = country_code(value)
        if code is None:
            raise ValueError(unknown_country_message(value))
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
    # Stored as ISO 639-1 where the language has such a code, else ISO 639-3 (domain/languages.py);
    # either code or the German name is accepted and converted.
    languages: Annotated[
        list[str],
        Field(
            max_length=20,
            description="ISO 639-1 or ISO 639-3 codes or German names, e.g. 'ar', 'prs' "
            "(Dari), 'kmr' (Kurmanji), 'Türkisch'; answered as 639-1 where the language has "
            "such a code, else 639-3.",
        ),
    ] = Field(default_factory=list)
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
        codes = [language_code(entry) for entry in value]
        unknown = [entry for entry, code in zip(value, codes, strict=True) if code is None]
        if unknown:
            raise ValueError(unknown_languages_message(unknown))
        return list(dict.fromkeys(code for code in codes if code is not None))


def validate_intake(data: Any, today: date) -> IntakeData:
    """Validate raw intake data with the checks relative to `today` switched on."""
    return IntakeData.model_validate(data, context={"today": today})
