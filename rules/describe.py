"""A rule's condition in German, for the decision table of the rules page (api/ui/rules_pages):
„Alter unter 25 und Bürgergeld (SGB II): ja“. Words only: nothing here evaluates a rule."""

from domain.enums import CentreKind, GermanLevel
from domain.labels import (
    EMPLOYMENT_LABELS,
    QUALIFICATION_KIND_LABELS,
    RESIDENCE_LABELS,
)
from rules.conditions import AllOf, AnyOf, Atom, Condition, Scalar

FACT_LABELS: dict[str, str] = {
    "literacy_need": "Alphabetisierungsbedarf",
    "german_rank": "Deutschniveau",
    "course_completed": "Integrationskurs abgeschlossen",
    "age": "Alter",
    "has_child_under6_without_care": "Kind unter 6 ohne Betreuung",
    "has_child_1_to_6_without_care": "Kind von 1 bis 6 ohne Betreuung",
    "only_children_under1_without_care": "nur Kinder unter 1 ohne Betreuung",
    "sgb2": "Bürgergeld (SGB II)",
    "employment": "Erwerbssituation",
    "permit_days_left": "Tage bis zum Ablauf des Aufenthaltstitels",
    "residence_status": "Aufenthaltsstatus",
    "centre_kind": "Beratungsstelle",
    "qual_documents_complete": "Unterlagen des Abschlusses vollständig",
    "qual_regulated": "reglementierter Beruf",
    "qual_kind": "Art des Abschlusses",
}
_OPS = {
    "eq": "ist",
    "ne": "ist nicht",
    "lt": "unter",
    "le": "höchstens",
    "gt": "über",
    "ge": "mindestens",
    "in": "ist eins von",
}
_RANKS = {level.rank: level.value for level in GermanLevel}
_CENTRES = {CentreKind.MBE.value: "MBE", CentreKind.JMD.value: "JMD"}


def _value(fact: str, value: Scalar) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if fact == "german_rank" and isinstance(value, int):
        return _RANKS.get(value, str(value))
    text = str(value)
    # Each enum fact by the German label of its value (the labels are keyed by value too).
    labels: dict[str, str] = {
        "employment": {k.value: v for k, v in EMPLOYMENT_LABELS.items()},
        "residence_status": {k.value: v for k, v in RESIDENCE_LABELS.items()},
        "qual_kind": {k.value: v for k, v in QUALIFICATION_KIND_LABELS.items()},
    }.get(fact, {})
    if text in labels:
        return labels[text]
    return _CENTRES.get(text, text) if fact == "centre_kind" else text


def _atom(atom: Atom) -> str:
    label = FACT_LABELS.get(atom.fact, atom.fact)
    if isinstance(atom.value, tuple):
        values = ", ".join(_value(atom.fact, v) for v in atom.value)
        return f"{label} {_OPS[atom.op]} {values}"
    if isinstance(atom.value, bool) and atom.op == "eq":
        return f"{label}: {_value(atom.fact, atom.value)}"
    return f"{label} {_OPS[atom.op]} {_value(atom.fact, atom.value)}"


def condition_text(condition: Condition, *, nested: bool = False) -> str:
    """The condition in German; an empty one is „immer“."""
    if isinstance(condition, Atom):
        return _atom(condition)
    if isinstance(condition, AllOf):
        if not condition.all:
            return "immer"
        parts = [condition_text(c, nested=True) for c in condition.all]
        text = " und ".join(parts)
    elif isinstance(condition, AnyOf):
        parts = [condition_text(c, nested=True) for c in condition.any]
        text = " oder ".join(parts)
    return f"({text})" if nested and len(parts) > 1 else text
