"""Which field a refusal is about, and what to do about it, in German: one table of field
labels per payload path and the messages built from (label, pydantic error type, context).

The JSON API (`api/errors.py`) and the pages (`api/ui/forms.py`) both say refusals through
`describe`, so „Bitte geben Sie den Vornamen ein.“ reads the same in a 422's `errors` and next
to the input. Paths are the payload's dotted paths; a list index names its row for people
(`measures.2.override_reason` → „Maßnahme 3: Begründung“). A few paths mean different things in
different payloads (`reason` is the reason of a decline in one and of a withdrawal in another):
the payload model's own entries (`MODEL_FIELDS`, by the model's name, which pydantic's
`ValidationError.title` carries) come before the common table.

What this module must not do: repeat input back (a refused value may be personal or hostile),
or show a code, a regular expression or a Python repr. A path without a label is named as the
path, so an API client still learns which field; the tests hold every field of every form's
payload to a label.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """A field as people name it, and the sentence that asks for it when it is empty."""

    label: str
    ask: str | None = None  # None: „Bitte füllen Sie „<label>“ aus.“

    def asking(self) -> str:
        return self.ask or f"Bitte füllen Sie das Feld „{self.label}“ aus."


# A list's rows, as a person counts them: `qualifications.0` is „Abschluss 1“.
ROWS: dict[str, str] = {
    "qualifications": "Abschluss",
    "children": "Kind",
    "needs": "Bedarf",
    "new_needs": "Neuer Bedarf",
    "goals": "Ziel",
    "measures": "Maßnahme",
    "goal_progress": "Ziel",
    "languages": "Sprache",
}

_CHOOSE_PARTNER = "Bitte wählen Sie einen Partner."
# Every path of every payload a form or the API takes; a row's index is written as `N`.
FIELDS: dict[str, Field] = {
    # the intake (IntakeData)
    "birth_date": Field("Geburtsdatum", "Bitte geben Sie das Geburtsdatum ein."),
    "languages": Field("Sprachen", "Bitte geben Sie mindestens eine Sprache an."),
    "languages.N": Field("Sprache", "Bitte geben Sie die Sprache an."),
    "german_level": Field("Deutschkenntnisse", "Bitte wählen Sie die Deutschkenntnisse."),
    "literacy_need": Field("Alphabetisierungsbedarf"),
    "integration_course_completed": Field("Integrationskurs abgeschlossen"),
    "residence": Field("Aufenthalt", "Bitte machen Sie die Angaben zum Aufenthalt."),
    "residence.status": Field("Aufenthaltsstatus", "Bitte wählen Sie den Aufenthaltsstatus."),
    "residence.expires_on": Field(
        "Aufenthaltstitel gültig bis", "Bitte geben Sie an, bis wann der Aufenthaltstitel gilt."
    ),
    "receives_citizens_benefit": Field("Bürgergeld"),
    "employment": Field("Erwerbssituation", "Bitte wählen Sie die Erwerbssituation."),
    "qualifications": Field("Abschlüsse"),
    "qualifications.N.title": Field(
        "Bezeichnung", "Bitte geben Sie die Bezeichnung des Abschlusses ein."
    ),
    "qualifications.N.country": Field(
        "Land", "Bitte geben Sie das Land an, in dem der Abschluss erworben wurde."
    ),
    "qualifications.N.kind": Field("Art", "Bitte wählen Sie die Art des Abschlusses."),
    "qualifications.N.regulated": Field("Reglementierter Beruf"),
    "qualifications.N.documents_complete": Field("Unterlagen vollständig"),
    "children": Field("Kinder"),
    "children.N.birth_date": Field("Geburtsdatum", "Bitte geben Sie das Geburtsdatum ein."),
    "children.N.has_childcare": Field("Betreuungsplatz"),
    # the intake's goals are a list of choices, the draft's goals a list of rows
    "goals": Field("Ziele", "Bitte nennen Sie mindestens ein Ziel."),
    "goals.N": Field("Ziel", "Bitte wählen Sie ein Ziel."),
    "goals.N.text": Field("Text", "Bitte beschreiben Sie das Ziel."),
    "goals.N.target_date": Field("Zieldatum", "Bitte geben Sie das Zieldatum ein."),
    "goals.N.id": Field("Ziel"),
    # the assessment and a review's new needs
    "needs": Field("Bedarfe", "Bitte wählen Sie mindestens einen Bedarf."),
    "needs.N.kind": Field("Art", "Bitte wählen Sie die Art des Bedarfs."),
    "needs.N.note": Field("Notiz"),
    "needs.N.priority": Field("Priorität", "Bitte wählen Sie eine Priorität."),
    "new_needs": Field("Neue Bedarfe"),
    "new_needs.N.kind": Field("Art", "Bitte wählen Sie die Art des Bedarfs."),
    "new_needs.N.note": Field("Notiz"),
    "new_needs.N.priority": Field("Priorität", "Bitte wählen Sie eine Priorität."),
    # the draft's measures
    "measures": Field("Maßnahmen"),
    "measures.N.text": Field("Beschreibung", "Bitte beschreiben Sie die Maßnahme."),
    "measures.N.responsible": Field("Zuständig", "Bitte wählen Sie, wer zuständig ist."),
    "measures.N.route_id": Field("Vorschlag"),
    "measures.N.partner_id": Field("Partner", _CHOOSE_PARTNER),
    "measures.N.override_reason": Field(
        "Begründung", "Bitte begründen Sie, warum Sie einen anderen Partner wählen."
    ),
    # a review
    "goal_progress": Field("Stand der Ziele"),
    "goal_progress.N.goal_id": Field("Ziel"),
    "goal_progress.N.status": Field("Stand", "Bitte wählen Sie den Stand des Ziels."),
    "goal_progress.N.note": Field("Notiz"),
    "survey": Field("Befragung"),
    "survey.agreement_helped": Field("Hat die Vereinbarung geholfen?"),
    "survey.easier_to_keep_at_it": Field("Fällt es leichter, dranzubleiben?"),
    "next_review_on": Field(
        "Nächste Überprüfung am", "Bitte geben Sie das Datum der nächsten Überprüfung ein."
    ),
    # the steps with a reason or a note
    "reason": Field("Begründung", "Bitte geben Sie eine Begründung ein."),
    "language": Field("Sprachfassung", "Bitte wählen Sie eine Sprachfassung."),
    "note": Field("Notiz", "Bitte schreiben Sie eine Notiz."),
    "result": Field("Ergebnis", "Bitte wählen Sie ein Ergebnis."),
    "how": Field("Wie weiter", "Bitte wählen Sie, wie es mit der Maßnahme weitergeht."),
    "consent_withdrawn": Field("Einwilligung widerrufen"),
    "referral_id": Field("Vermittlung", "Bitte wählen Sie eine Vermittlung."),
    "partner_id": Field("Partner", _CHOOSE_PARTNER),
    "task_id": Field("Aufgabe", "Bitte wählen Sie eine Aufgabe."),
    # a measure of the client's or the centre's ticked off
    "measure_id": Field("Maßnahme", "Bitte wählen Sie eine Maßnahme."),
    "done_on": Field(
        "Erledigt am", "Bitte geben Sie ein, an welchem Tag die Maßnahme erledigt wurde."
    ),
    # signatures and handovers
    "party": Field("Unterschrift von", "Bitte wählen Sie, wer unterschreibt."),
    "document_hash": Field(
        "Fassung des Dokuments",
        "Bitte laden Sie die Seite neu: die Fassung des Dokuments fehlt.",
    ),
    "confirmed": Field("Bestätigung"),
    "counsellor_id": Field(
        "Beraterin / Berater", "Bitte wählen Sie eine Beraterin oder einen Berater."
    ),
    "centre_id": Field("Beratungsstelle", "Bitte wählen Sie eine Beratungsstelle."),
    "centre_kind": Field("Art der Beratungsstelle"),
    # a new case and a referral to a centre
    "client": Field("Person", "Bitte machen Sie die Angaben zur Person."),
    "client.given_name": Field("Vorname", "Bitte geben Sie den Vornamen ein."),
    "client.family_name": Field("Nachname", "Bitte geben Sie den Nachnamen ein."),
    "contact": Field("Kontakt"),
    "contact.phone": Field("Telefon", "Bitte geben Sie eine Telefonnummer ein."),
    "contact.email": Field("E-Mail", "Bitte geben Sie eine E-Mail-Adresse ein."),
    "client_consents": Field(
        "Einwilligung", "Bitte bestätigen Sie, dass die Person der Vermittlung zustimmt."
    ),
    # the evaluation's query (the API's parameters and the page's)
    "from": Field("Beginn des Zeitraums", "Bitte geben Sie den Beginn des Zeitraums ein."),
    "to": Field("Ende des Zeitraums", "Bitte geben Sie das Ende des Zeitraums ein."),
    "von": Field("Beginn des Zeitraums", "Bitte geben Sie den Beginn des Zeitraums ein."),
    "bis": Field("Ende des Zeitraums", "Bitte geben Sie das Ende des Zeitraums ein."),
    "municipality": Field("Kommune", "Bitte wählen Sie eine Kommune."),
    "kommune": Field("Kommune", "Bitte wählen Sie eine Kommune."),
    "centre": Field("Beratungsstelle", "Bitte wählen Sie eine Beratungsstelle."),
    "stelle": Field("Beratungsstelle", "Bitte wählen Sie eine Beratungsstelle."),
    # the case list's search (`GET /cases?q=`, the page's „Suche“)
    "q": Field("Suche (Name oder Fall-Nr.)"),
    # the login
    "username": Field("Benutzername", "Bitte geben Sie Ihren Benutzernamen ein."),
    "password": Field("Passwort", "Bitte geben Sie Ihr Passwort ein."),
    # an account (the administrators' `/admin/users`, /verwaltung/konten) and one's password
    "role": Field("Rolle", "Bitte wählen Sie eine Rolle."),
    "municipality_id": Field("Kommune", "Bitte wählen Sie eine Kommune."),
    "display_name": Field("Anzeigename"),
    "phone": Field("Telefon"),
    "email": Field("E-Mail"),
    "active": Field("Aktiv"),
    # an account's identity at the municipality's identity provider (api/oidc_links.py)
    "subject": Field(
        "Kennung beim Anmeldedienst", "Bitte geben Sie die Kennung beim Anmeldedienst ein."
    ),
    "current_password": Field(
        "Bisheriges Passwort", "Bitte geben Sie Ihr bisheriges Passwort ein."
    ),
    "new_password": Field("Neues Passwort", "Bitte geben Sie ein neues Passwort ein."),
    "new_password_repeat": Field(
        "Neues Passwort (Wiederholung)", "Bitte wiederholen Sie das neue Passwort."
    ),
}

# The same path meaning something else in one payload (by the model's name).
MODEL_FIELDS: dict[str, dict[str, Field]] = {
    "Closure": {"reason": Field("Grund des Abschlusses", "Bitte wählen Sie den Grund.")},
    "DeclineReason": {
        "reason": Field("Grund der Ablehnung", "Bitte nennen Sie einen Grund für die Ablehnung.")
    },
    "InboundDecline": {
        "reason": Field("Grund der Ablehnung", "Bitte nennen Sie einen Grund für die Ablehnung.")
    },
    "InboundReferralRequest": {
        "reason": Field(
            "Anlass der Vermittlung", "Bitte beschreiben Sie den Anlass der Vermittlung."
        )
    },
    "ReferralWithdrawal": {
        "reason": Field("Grund", "Bitte nennen Sie einen Grund für das Zurückziehen.")
    },
    "WithdrawalReason": {
        "reason": Field("Grund", "Bitte nennen Sie einen Grund für das Zurückziehen.")
    },
    "ReferralSetAside": {"reason": Field("Grund", "Bitte nennen Sie einen Grund.")},
    "SetAsideChoice": {"reason": Field("Grund", "Bitte nennen Sie einen Grund.")},
    "ErasureRequest": {
        "reason": Field("Begründung der Löschung", "Bitte begründen Sie die Löschung.")
    },
    "ProgressNote": {"note": Field("Zwischenstand", "Bitte schreiben Sie den Zwischenstand.")},
    "Outcome": {"note": Field("Notiz")},
    "NotificationSettings": {
        "email": Field(
            "E-Mail-Benachrichtigungen",
            "Bitte geben Sie an, ob Sie E-Mail-Benachrichtigungen erhalten möchten.",
        )
    },
}

# The directory's payloads (api/directory_admin.py): creating and changing a municipality,
# a centre, a partner agency.
_DIRECTORY_FIELDS: dict[str, Field] = {
    "id": Field("Kennung", "Bitte geben Sie eine Kennung ein."),
    "name": Field("Name", "Bitte geben Sie den Namen ein."),
    "land": Field("Bundesland", "Bitte wählen Sie das Bundesland."),
    "municipality_id": Field("Kommune", "Bitte wählen Sie eine Kommune."),
    "address": Field("Anschrift"),
    "phone": Field("Telefon"),
    "email": Field("E-Mail"),
    "contact_email": Field("E-Mail für Vermittlungen"),
    "measures": Field("Angebotene Maßnahmen", "Bitte wählen Sie die angebotenen Maßnahmen."),
    "measures.N": Field("Maßnahme", "Bitte geben Sie die Maßnahme an."),
    "active": Field("Aktiv"),
    "kind": Field("Art", "Bitte wählen Sie die Art."),
}
MODEL_FIELDS.update(
    {
        model: _DIRECTORY_FIELDS
        for model in (
            "MunicipalityIn",
            "MunicipalityChange",
            "CentreIn",
            "CentreChange",
            "PartnerIn",
            "PartnerChange",
        )
    }
)

# Where the request carries a field says where, not which (FastAPI's first `loc` part).
_WHERE = {"body", "query", "path", "header", "cookie"}
_INDEX = re.compile(r"[0-9]+")
_NAMED = re.compile(r"([a-z_]+): (.+)", re.DOTALL)


def path_of(location: Sequence[Any]) -> str:
    """The dotted payload path of a pydantic `loc` (`("body", "measures", 2, "text")` →
    `measures.2.text`); "" for the payload as a whole."""
    parts = [str(part) for part in location]
    if parts and parts[0] in _WHERE:
        parts = parts[1:]
    return ".".join(parts)


def _entry(path: str, model: str | None) -> Field | None:
    generic = ".".join("N" if _INDEX.fullmatch(part) else part for part in path.split("."))
    if model is not None and generic in MODEL_FIELDS.get(model, {}):
        return MODEL_FIELDS[model][generic]
    return FIELDS.get(generic)


def _rows_named(path: str) -> str:
    """„Maßnahme 3“ for `measures.2`, joined for nested rows; "" for a path without rows."""
    parts = path.split(".")
    named = [
        f"{ROWS[parts[i - 1]]} {int(part) + 1}"
        for i, part in enumerate(parts)
        if i > 0 and _INDEX.fullmatch(part) and parts[i - 1] in ROWS and len(part) < 7
    ]
    return ", ".join(named)


def label(path: str, model: str | None = None) -> str:
    """What people call the field at `path`: „Maßnahme 3: Begründung“, „Vorname“; a path
    without an entry is named as the path („Feld „from““), so it is still clear which."""
    entry = _entry(path, model)
    rows = _rows_named(path)
    if entry is None:
        if rows and _INDEX.fullmatch(path.split(".")[-1]):
            return rows  # a row itself: „Sprache 2“
        return f"Feld „{path}“" if path else "Eingabe"
    if rows and not _INDEX.fullmatch(path.split(".")[-1]):
        return f"{rows}: {entry.label}"
    return rows or entry.label


def _asking(path: str, model: str | None) -> str:
    entry = _entry(path, model)
    rows = _rows_named(path)
    if entry is None:
        return f"{label(path, model)}: Pflichtfeld fehlt."
    ask = entry.asking()
    if rows and not _INDEX.fullmatch(path.split(".")[-1]):
        return f"{rows}: {ask}"
    return ask


# Pydantic error types (https://docs.pydantic.dev/latest/errors/validation_errors/), said
# after the field's label.
_TYPES: dict[str, str] = {
    "extra_forbidden": "Unbekanntes Feld.",
    "json_invalid": "Kein gültiges JSON.",
    "json_type": "Erwartet wird ein JSON-Dokument.",
    "model_type": "Erwartet wird ein Objekt.",
    "model_attributes_type": "Erwartet wird ein Objekt.",
    "dict_type": "Erwartet wird ein Objekt.",
    "list_type": "Erwartet wird eine Liste.",
    "string_type": "Erwartet wird ein Text.",
    "int_type": "Erwartet wird eine ganze Zahl.",
    "int_parsing": "Erwartet wird eine ganze Zahl.",
    "int_from_float": "Erwartet wird eine ganze Zahl.",
    "bool_type": "Erwartet wird ja oder nein (true oder false).",
    "bool_parsing": "Erwartet wird ja oder nein (true oder false).",
    "date_type": "Erwartet wird ein Datum (JJJJ-MM-TT).",
    "date_parsing": "Erwartet wird ein Datum (JJJJ-MM-TT).",
    "date_from_datetime_parsing": "Erwartet wird ein Datum (JJJJ-MM-TT).",
    "date_from_datetime_inexact": "Erwartet wird ein Datum ohne Uhrzeit (JJJJ-MM-TT).",
    "datetime_parsing": "Erwartet wird ein Zeitpunkt (ISO 8601).",
    "datetime_type": "Erwartet wird ein Zeitpunkt (ISO 8601).",
    "uuid_parsing": "Erwartet wird eine UUID.",
    "string_unicode": "Der Text enthält ungültige Zeichen (kein gültiges Unicode).",
    "float_parsing": "Erwartet wird eine Zahl.",
    "float_type": "Erwartet wird eine Zahl.",
}
_LIMITS = {
    "greater_than_equal": ("ge", "mindestens"),
    "greater_than": ("gt", "größer als"),
    "less_than_equal": ("le", "höchstens"),
    "less_than": ("lt", "kleiner als"),
}


@dataclass(frozen=True)
class Problem:
    """One refused field: its dotted payload path and the German sentence for it."""

    field: str
    message: str


def _said(error: Mapping[str, Any], raw: str, path: str, model: str | None) -> str:
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    named = label(path, model)
    # pydantic says "too_long" of a text with a length constraint from annotated-types too.
    unit = "Zeichen" if isinstance(error.get("input"), str) else "Einträge"
    if kind == "missing":
        return _asking(path, model)
    if kind in {"string_too_short", "too_short"} and context.get("min_length") == 1:
        # An empty text or an empty list: the field is as good as missing.
        return _asking(path, model)
    if kind == "string_too_short" and "min_length" in context:
        return f"{named}: Zu kurz, mindestens {context['min_length']} Zeichen."
    if kind == "too_short" and "min_length" in context:
        return f"{named}: Zu kurz, mindestens {context['min_length']} {unit}."
    if kind in {"string_too_long", "too_long"} and "max_length" in context:
        return f"{named}: Zu lang, höchstens {context['max_length']} {unit}."
    if kind in {"enum", "literal_error"}:
        return f"{named}: Unbekannter Wert; bitte wählen Sie einen der angebotenen Werte."
    if kind in _LIMITS and _LIMITS[kind][0] in context:
        key, words = _LIMITS[kind]
        return f"{named}: Der Wert muss {words} {context[key]} sein."
    if kind == "string_pattern_mismatch":
        return f"{named}: Das Format stimmt nicht."
    if kind in _TYPES:
        return f"{named}: {_TYPES[kind]}"
    # A domain validator speaks German already ("Value error, " is pydantic's prefix), and
    # may name its field itself (domain/languages.py: „Sprachen: …“).
    said = raw.removeprefix("Value error, ")
    return said if said.startswith(f"{named}:") else f"{named}: {said}"


def describe(error: Mapping[str, Any], model: str | None = None) -> Problem:
    """One pydantic error (an item of `ValidationError.errors()`) as a `Problem`.

    A model validator names its field at the start of its message (`expires_on: …`): the
    problem is then that field's, one level below where pydantic put it."""
    path = path_of(error.get("loc", ()))
    raw = str(error.get("msg", "Ungültiger Wert.")).removeprefix("Value error, ")
    kind = str(error.get("type", ""))
    if kind == "json_invalid":
        # pydantic puts the character position where a field goes (`("body", 0)`): the
        # payload as a whole is what cannot be read, not a field „0“.
        path = ""
    if kind == "value_error" and (named := _NAMED.fullmatch(raw)):
        path = f"{path}.{named.group(1)}" if path else named.group(1)
        raw = named.group(2)
    return Problem(path, _said(error, raw, path, model))


def describe_all(errors: Sequence[Mapping[str, Any]], model: str | None = None) -> list[Problem]:
    """Every error, one per field (the first): one sentence next to an input is enough."""
    seen: dict[str, Problem] = {}
    for error in errors:
        problem = describe(error, model)
        seen.setdefault(problem.field, problem)
    return list(seen.values())
