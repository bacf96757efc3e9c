"""What the case page says about intake corrections: each corrected field with its German
label and its old and new value in German formats („Geburtsdatum: 17.05.1990 → 01.01.1991“),
from the data of an `intake_corrected` event (domain/events.py: a field path and two values
as JSON text); and the intake form's values filled from a profile, so the correction form
starts from what the case holds.

Only for pages: no stage rule here (domain/stages_correction.py decides).
"""

import json
from datetime import date
from typing import Any

from api.ui import labels
from api.ui.formats import german_date
from domain.languages import LANGUAGE_CHOICES, country_name, language_name
from domain.profile import IntakeData

_LISTED = frozenset(code for code, _ in LANGUAGE_CHOICES)

FIELD_LABELS: dict[str, str] = {
    "birth_date": "Geburtsdatum",
    "languages": "Sprachen",
    "german_level": "Deutschkenntnisse",
    "literacy_need": "Alphabetisierungsbedarf",
    "integration_course_completed": "Integrationskurs abgeschlossen",
    "residence.status": "Aufenthaltsstatus",
    "residence.expires_on": "Aufenthaltstitel gültig bis",
    "receives_citizens_benefit": "Bezieht Bürgergeld (SGB II)",
    "employment": "Erwerbssituation",
    "qualifications": "Berufliche Abschlüsse",
    "children": "Kinder",
    "goals": "Ziele",
}
# Fields whose values are codes with German names.
_CODES: dict[str, dict[str, str]] = {
    "german_level": labels.GERMAN_LEVEL,
    "residence.status": labels.RESIDENCE,
    "employment": labels.EMPLOYMENT,
    "goals": labels.GOAL,
}
EMPTY = "—"


def describe(data: dict[str, Any]) -> str:
    """„<label>: <old> → <new>“ for the data of an `intake_corrected` event."""
    field = str(data.get("field", ""))
    label = FIELD_LABELS.get(field, field)
    return f"{label}: {_value(field, data.get('old'))} → {_value(field, data.get('new'))}"


def _value(field: str, raw: object) -> str:
    try:
        value = json.loads(str(raw))
    except ValueError:
        return str(raw)
    return _shown(field, value)


def _shown(field: str, value: object) -> str:
    if value is None or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, list):
        if field == "qualifications":
            return "; ".join(_qualification(item) for item in value)
        if field == "children":
            return "; ".join(_child(item) for item in value)
        if field == "languages":
            return ", ".join(language_name(str(code)) for code in value)
        return ", ".join(_shown(field, item) for item in value)
    if isinstance(value, str):
        if field in _CODES:
            return _CODES[field].get(value, value)
        return _date(value) if field.endswith(("birth_date", "expires_on")) else value
    return str(value)


def _date(text: str) -> str:
    try:
        return german_date(date.fromisoformat(text))
    except ValueError:
        return text


def _qualification(item: object) -> str:
    if not isinstance(item, dict):
        return str(item)
    kind = labels.QUALIFICATION_KIND.get(str(item.get("kind")), str(item.get("kind")))
    country = country_name(str(item.get("country")))
    return f"{item.get('title')} ({country}, {kind})"


def _child(item: object) -> str:
    if not isinstance(item, dict):
        return str(item)
    care = "mit Betreuungsplatz" if item.get("has_childcare") else "ohne Betreuungsplatz"
    return f"geboren {_date(str(item.get('birth_date')))}, {care}"


def form_values(profile: IntakeData) -> dict[str, list[str]]:
    """The intake form's fields (api/ui/case_forms.intake reads them) filled from `profile`."""
    values: dict[str, list[str]] = {
        "birth_date": [profile.birth_date.isoformat()],
        # The picker's checkboxes hold the languages it lists; any other goes in the field
        # beside it, as a code.
        "languages": [code for code in profile.languages if code in _LISTED],
        "languages_other": [", ".join(c for c in profile.languages if c not in _LISTED)],
        "german_level": [profile.german_level.value],
        "employment": [profile.employment.value],
        "residence.status": [profile.residence.status.value],
        "residence.expires_on": [
            profile.residence.expires_on.isoformat() if profile.residence.expires_on else ""
        ],
        "goals": [goal.value for goal in profile.goals],
    }
    for flag in ("literacy_need", "integration_course_completed", "receives_citizens_benefit"):
        if getattr(profile, flag):
            values[flag] = ["on"]
    for i, q in enumerate(profile.qualifications):
        values[f"qualifications.{i}.title"] = [q.title]
        values[f"qualifications.{i}.country"] = [q.country]
        values[f"qualifications.{i}.kind"] = [q.kind.value]
        if q.regulated:
            values[f"qualifications.{i}.regulated"] = ["on"]
        if q.documents_complete:
            values[f"qualifications.{i}.documents_complete"] = ["on"]
    for i, child in enumerate(profile.children):
        values[f"children.{i}.birth_date"] = [child.birth_date.isoformat()]
        if child.has_childcare:
            values[f"children.{i}.has_childcare"] = ["on"]
    return values
