"""The constrained field types every payload shares: text a person may send (names, notes, ids)
and dates a person may send (birth dates, expiries, target and review dates).

Text never carries control characters (NUL, the other C0 and C1 codes, DEL), bidi overrides
and isolates (U+202A-202E, U+2066-2069) or lone surrogates: PostgreSQL refuses NUL in text
for ever (the projection of such a case would fail on every retry), surrogates cannot be
encoded as UTF-8, and a bidi override makes a name or note read differently from what it is.
Single-line fields (names, titles, ids) refuse every C0 code and the Unicode line and
paragraph separators; multi-line fields (notes, goal and measure texts, reasons) allow tab,
line feed, carriage return and those separators.

Dates lie between 1900-01-01 and 2200-12-31: every date the domain computes from one (the
warning 90 days before an expiry, a review 18 months ahead) then stays within Python's range,
where "0001-01-10" made the stage function raise a bare OverflowError.

Each check answers in German with the code point and position, never the text itself (the
message goes back to the sender, but names and notes are personal data wherever else it ends).
The JSON schema of each type states the same rule (`pattern`; `formatMinimum`/`formatMaximum`),
so clients and the API fuzzing (tests/api/test_fuzz.py) know it.
"""

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

# Character classes as regex text, shared by the check and the JSON schema's `pattern`.
_C0_BUT_LINES = r"\u0000-\u0008\u000b\u000c\u000e-\u001f"
_LINE_BREAKS = r"\u0009\u000a\u000d\u2028\u2029"  # tab, LF, CR, line and paragraph separator
_DEL_AND_C1 = r"\u007f-\u009f"
_BIDI = r"\u202a-\u202e\u2066-\u2069"
_SURROGATES = r"\ud800-\udfff"

_SINGLE_LINE_FORBIDDEN = _C0_BUT_LINES + _LINE_BREAKS + _DEL_AND_C1 + _BIDI + _SURROGATES
_MULTI_LINE_FORBIDDEN = _C0_BUT_LINES + _DEL_AND_C1 + _BIDI + _SURROGATES

SINGLE_LINE_PATTERN = f"^[^{_SINGLE_LINE_FORBIDDEN}]*$"
MULTI_LINE_PATTERN = f"^[^{_MULTI_LINE_FORBIDDEN}]*$"

_SINGLE_LINE_BAD = re.compile(f"[{_SINGLE_LINE_FORBIDDEN}]")
_MULTI_LINE_BAD = re.compile(f"[{_MULTI_LINE_FORBIDDEN}]")
_BIDI_CHAR = re.compile(f"[{_BIDI}]")
_SURROGATE_CHAR = re.compile(f"[{_SURROGATES}]")
_LINE_BREAK_CHAR = re.compile(f"[{_LINE_BREAKS}]")

EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


def _refuse(bad: re.Pattern[str], value: str) -> str:
    found = bad.search(value)
    if found is None:
        return value
    char = found.group()
    where = {"code": f"U+{ord(char):04X}", "position": found.start() + 1}
    if _BIDI_CHAR.fullmatch(char):
        raise PydanticCustomError(
            "text_bidi_control",
            "Zeichen zur Steuerung der Schreibrichtung ({code}, Zeichen {position}) sind "
            "nicht erlaubt.",
            where,
        )
    if _SURROGATE_CHAR.fullmatch(char):
        raise PydanticCustomError(
            "text_surrogate",
            "Ungültiges Zeichen ({code}, Zeichen {position}): kein vollständiges Unicode-Zeichen.",
            where,
        )
    if _LINE_BREAK_CHAR.fullmatch(char):
        raise PydanticCustomError(
            "text_line_break",
            "Zeilenumbrüche und Tabulatoren ({code}, Zeichen {position}) sind in diesem Feld "
            "nicht erlaubt.",
            where,
        )
    raise PydanticCustomError(
        "text_control_character",
        "Steuerzeichen ({code}, Zeichen {position}) sind nicht erlaubt.",
        where,
    )


def single_line(value: str) -> str:
    """`value` unless it holds a line break, tab, control character, bidi control or lone
    surrogate (then a German validation error)."""
    return _refuse(_SINGLE_LINE_BAD, value)


def multi_line(value: str) -> str:
    """`value` unless it holds a control character other than tab, line feed and carriage
    return, a bidi control or a lone surrogate."""
    return _refuse(_MULTI_LINE_BAD, value)


def plausible_date(value: date) -> date:
    """`value` when it lies between 1900-01-01 and 2200-12-31."""
    if EARLIEST <= value <= LATEST:
        return value
    raise PydanticCustomError(
        "date_out_of_range",
        "Das Datum {value} liegt außerhalb des erlaubten Bereichs (01.01.1900 bis 31.12.2200).",
        {"value": f"{value.day:02d}.{value.month:02d}.{value.year:04d}"},
    )


# An address as people type it, not RFC 5322's full grammar: one @, a dot in the domain, no
# spaces. What a mail server then refuses shows as a failed delivery, not as a broken form.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Digits and what German numbers are written with: "+49 1234 5678-210", "(01234) 56 78".
_PHONE = re.compile(r"\+?[0-9 ()/.-]*[0-9][0-9 ()/.-]*")


# A directory id as URLs and case ids carry it: lower-case letters, digits, "-" and "_".
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{1,63}")


def slug(value: str) -> str:
    """`value` when it can be a directory id (municipality, centre, partner)."""
    if not _SLUG.fullmatch(value):
        raise PydanticCustomError(
            "slug",
            "Nur Kleinbuchstaben ohne Umlaute, Ziffern, - und _, am Anfang ein Buchstabe oder "
            "eine Ziffer (Beispiel: mbe-mitte).",
        )
    return value


def is_slug(value: str) -> bool:
    """Whether `value` can be a directory id at all: anything else (a NUL, which PostgreSQL
    refuses in a query) is not looked up, just not found."""
    return _SLUG.fullmatch(value) is not None


def email_address(value: str) -> str:
    """`value` when it is empty or looks like an e-mail address."""
    if not value or _EMAIL.fullmatch(value):
        return value
    raise PydanticCustomError(
        "email_address", "Keine gültige E-Mail-Adresse (Beispiel: name@beispiel.de)."
    )


def phone_number(value: str) -> str:
    """`value` when it is empty or a phone number (digits, spaces, + ( ) / . -)."""
    if not value or _PHONE.fullmatch(value):
        return value
    raise PydanticCustomError(
        "phone_number",
        "Keine gültige Telefonnummer: nur Ziffern, Leerzeichen und + ( ) / . - "
        "(Beispiel: 01234 5678-210).",
    )


_LINE_RULE = Field(json_schema_extra={"pattern": SINGLE_LINE_PATTERN})
_LINE_CHECK = AfterValidator(single_line)
_LINES_RULE = Field(json_schema_extra={"pattern": MULTI_LINE_PATTERN})
_LINES_CHECK = AfterValidator(multi_line)

SingleLine = Annotated[str, _LINE_RULE, _LINE_CHECK]
"""Single-line text of any length (give it one: `Annotated[SingleLine, Field(max_length=64)]`)."""
MultiLine = Annotated[str, _LINES_RULE, _LINES_CHECK]
"""Multi-line text of any length."""

# Length first, then the characters: a huge value is refused for its size without a scan.
Name = Annotated[str, Field(min_length=1, max_length=100), _LINE_RULE, _LINE_CHECK]
"""A given name (at least one character)."""
OptionalName = Annotated[str, Field(max_length=100), _LINE_RULE, _LINE_CHECK]
"""A family name, which some people do not have."""
Title = Annotated[str, Field(min_length=1, max_length=200), _LINE_RULE, _LINE_CHECK]
"""A short single-line label: a qualification's title, a partner's name."""
Code = Annotated[str, Field(min_length=1, max_length=64), _LINE_RULE, _LINE_CHECK]
"""A short key: a municipality id, a measure's name in the rule catalog."""
LanguageCode = Annotated[str, Field(min_length=1, max_length=8), _LINE_RULE, _LINE_CHECK]
"""A language code as a payload names it (`ar`, `prs`): a control character is refused as
such, not as an unknown language."""
Id = Annotated[str, Field(min_length=1, max_length=120), _LINE_RULE, _LINE_CHECK]
"""An id a payload refers to (goal, route, partner, counsellor, centre, task)."""
Text = Annotated[str, Field(min_length=1, max_length=2000), _LINES_RULE, _LINES_CHECK]
"""A required multi-line text: a goal, a measure, a decline reason, a progress note."""
Note = Annotated[str, Field(max_length=2000), _LINES_RULE, _LINES_CHECK]
"""An optional multi-line note (empty when not given)."""

DisplayName = Annotated[str, Field(max_length=120), _LINE_RULE, _LINE_CHECK]
"""A person's name as colleagues and partners read it (empty when not given)."""
EmailAddress = Annotated[
    str, Field(max_length=254), _LINE_RULE, _LINE_CHECK, AfterValidator(email_address)
]
"""An optional e-mail address (empty when not given)."""
PhoneNumber = Annotated[
    str, Field(max_length=40), _LINE_RULE, _LINE_CHECK, AfterValidator(phone_number)
]
"""An optional phone number (empty when not given)."""

_DATE_RANGE = {"formatMinimum": EARLIEST.isoformat(), "formatMaximum": LATEST.isoformat()}
PlausibleDate = Annotated[
    date, Field(json_schema_extra=_DATE_RANGE), AfterValidator(plausible_date)
]
"""A date a person sends: between 1900-01-01 and 2200-12-31."""


# The length is checked first: a huge value is refused for its size without a scan.
Slug = Annotated[
    str,
    Field(min_length=2, max_length=64, json_schema_extra={"pattern": _SLUG.pattern}),
    AfterValidator(slug),
]
"""A directory id (see `slug`)."""
