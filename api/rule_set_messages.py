"""A rule set's problems in German: each names the rule (its id) and the field inside it.

The rules say their problems in English for the command line (`lotse rules check`) and as data
(`rules.schema.RuleProblem`: rule, field, the pydantic error when pydantic found it). This
module turns the data into the sentences the API's 422 and the rules page show. A pydantic
error is said through api/field_messages.py's messages (by type and context); the rules' own
problems through the table below, matched by their English wording. Nothing here repeats a
refused value: it may be anything an upload held.
"""

import re
from typing import Any

from api.field_messages import describe, label
from rules.schema import CatalogError, RuleProblem

# The rules' own problems (catalog.py, overrides.py, schema.py, conditions.py) by the start of
# their English sentence.
_OWN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), german)
    for pattern, german in (
        (r"unknown rule id", "Diese Regel-Id gibt es in der Bundestabelle nicht."),
        (r"replaced twice", "Die Regel wird zweimal ersetzt."),
        (r"a replacement keeps the need", "Eine ersetzte Regel behält ihren Bedarf."),
        (r"duplicate rule id", "Diese Regel-Id gibt es schon."),
        (r"'.*' routes another need", "Die genannte Regel gehört zu einem anderen Bedarf."),
        (r"both replaced and disabled", "Die Regel wird ersetzt und abgeschaltet zugleich."),
        (r"give 'before' or 'after'", "Bitte nur „before“ oder „after“ angeben, nicht beides."),
        (r"expected one of", "Unbekannter Bedarf."),
        (
            r"qualification facts exist only",
            "Abschluss-Angaben gibt es nur beim Bedarf „credential“.",
        ),
        (r"unknown placeholder", "Unbekannter Platzhalter in der Begründung."),
        (r"placeholder .* exists only", "Dieser Platzhalter gibt es nur beim Bedarf „credential“."),
        (r"bad template", "Die Begründung ist als Vorlage nicht lesbar (geschweifte Klammern?)."),
        (r"unknown fact", "Unbekannte Angabe in der Bedingung."),
        (
            r"unknown operator|no operator given",
            "Unbekannter oder fehlender Vergleich in der Bedingung.",
        ),
        (r"'.*' compares numbers", "Dieser Vergleich passt nur zu Zahlen."),
        (r"'in' takes", "„in“ braucht eine nicht leere Liste von Werten."),
        (r"'.*' takes a list", "„all“ und „any“ brauchen eine Liste von Bedingungen."),
        (r"an empty 'any'", "Ein leeres „any“ trifft nie zu."),
        (r"expected a mapping of facts", "Die Bedingung muss Angaben mit Werten nennen."),
        (r".* is (true or false|a whole number|one of)", "Dieser Wert passt nicht zur Angabe."),
        (r"unknown German level", "Unbekanntes Sprachniveau."),
        (r"longer than \d+ bytes", "Der Text ist zu lang (höchstens 48 KiB)."),
        (r"contains control characters", "Der Text enthält Steuerzeichen; bitte entfernen."),
        (r"expected 'override'", "Erwartet wird eine Änderung der Bundestabelle (kind: override)."),
        (r"expected '", "Die Änderung gehört zu einer anderen Kommune."),
        (
            r"expected a mapping with 'kind'",
            "Erwartet wird eine Zuordnung mit replace/add/disable.",
        ),
        (r"YAML error: .*aliases", "YAML-Anker und -Verweise (&, *) sind nicht erlaubt."),
        (r"YAML error: .*nested|YAML error: nested", "Der Text ist zu tief verschachtelt."),
        (r"YAML error: .*duplicate key", "Ein Schlüssel kommt doppelt vor."),
        (r"YAML error", "Der Text ist kein gültiges YAML oder JSON."),
    )
)
_UNKNOWN = "Dieser Eintrag ist ungültig."
# An upload may hold thousands of bad rules: the first ones say enough.
MAX_PROBLEMS = 50


def _said(problem: RuleProblem) -> str:
    error = problem.error
    if error is not None and error.get("type") != "lotse_rule":
        # pydantic's own check (a type, a length, a missing field): its German sentence,
        # without the path in front (the caller names rule and field itself).
        said = describe(error)
        return said.message.removeprefix(f"{label(said.field)}: ")
    for pattern, german in _OWN:
        if pattern.match(problem.message):
            return german
    return _UNKNOWN


def german_problems(error: CatalogError) -> list[dict[str, Any]]:
    """`[{"rule", "field", "message"}]`: the rule's id (None for the text as a whole), the
    field inside the rule and a German sentence naming both."""
    answer: list[dict[str, Any]] = []
    for problem in error.problems[:MAX_PROBLEMS]:
        field = problem.field or "text"
        rule = problem.rule
        if rule is not None and rule.startswith("#"):
            rule = f"Nr. {rule[1:].split(' ')[0]} (ohne Id)"
        where = f"Regel „{rule}“, Feld „{field}“" if rule else f"Feld „{field}“"
        answer.append(
            {"rule": problem.rule, "field": field, "message": f"{where}: {_said(problem)}"}
        )
    if len(error.problems) > MAX_PROBLEMS:
        more = len(error.problems) - MAX_PROBLEMS
        answer.append({"rule": None, "field": "text", "message": f"… und {more} weitere Fehler."})
    return answer
