"""The repeated groups of the case page's forms (qualifications, children, needs, goals,
measures) and how many rows each may have.

A row's number comes from the browser, in the field's name (`needs.3.note`), and the page
shows as many rows as the highest number asks for. Unchecked, one post with
`needs.49999999.note` would render fifty million rows: hours of the event loop and gigabytes.
So every group is bounded by the list it fills in its payload model (`Assessment.needs` ...),
read from that model's `max_length`, never repeated here as a number. A form naming a row
beyond it is refused before anything is sent (`beyond_limits`), and a page never shows more
rows than the limit (`FormState.count`).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from annotated_types import MaxLen
from pydantic import BaseModel

from domain.actions import AgreementDraft, Review
from domain.needs import Assessment
from domain.profile import IntakeData

# More digits than any limit has: such a number is "too large" without being converted (int()
# of a 5,000-digit string raises in Python 3.11).
_DIGITS = 6
_NAME_SHOWN = 60


@dataclass(frozen=True)
class RowGroup:
    """Form fields `<prefix>.<row>.<...>`, which fill the list `model.<field>`."""

    prefix: str
    model: type[BaseModel]
    field: str
    label: str  # what the rows are, in German (plural)

    @property
    def limit(self) -> int:
        return max_rows(self.model, self.field)


GROUPS = {
    group.prefix: group
    for group in (
        RowGroup("qualifications", IntakeData, "qualifications", "Abschlüsse"),
        RowGroup("children", IntakeData, "children", "Kinder"),
        RowGroup("needs", Assessment, "needs", "Bedarfe"),
        RowGroup("new_needs", Review, "new_needs", "Bedarfe"),
        RowGroup("goal_progress", Review, "goal_progress", "Ziele"),
        RowGroup("goals", AgreementDraft, "goals", "Ziele"),
        # Free measures share the list with the proposals taken over: at most its length.
        RowGroup("extra", AgreementDraft, "measures", "Maßnahmen"),
    )
}


@cache
def max_rows(model: type[BaseModel], field: str) -> int:
    """The `max_length` a list field of `model` declares."""
    for constraint in model.model_fields[field].metadata:
        if isinstance(constraint, MaxLen):
            return int(constraint.max_length)
    raise LookupError(f"{model.__name__}.{field} declares no max_length")


def row_limit(prefix: str) -> int:
    """How many rows the group `prefix` may have (KeyError for an unknown group: a template
    that repeats rows without a bound is a bug the page tests find)."""
    return GROUPS[prefix].limit


@cache
def _pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(re.escape(prefix) + r"\.([0-9]+)\.")


def row_number(digits: str) -> int:
    """The row a field's number names; a number too long to be any row counts as 10**6."""
    return int(digits) if len(digits) <= _DIGITS else 10**_DIGITS


def row_numbers(names: Iterable[str], prefix: str) -> set[int]:
    """The row numbers of group `prefix` among the field names `names`."""
    pattern = _pattern(prefix)
    return {row_number(m.group(1)) for name in names if (m := pattern.match(name))}


def beyond_limits(names: Iterable[str]) -> str | None:
    """A German message naming the first field whose row lies beyond its group's limit; None
    when every row fits. (One message for the whole form: the field is not on the page.)"""
    for name in names:
        for group in GROUPS.values():
            found = _pattern(group.prefix).match(name)
            if found and row_number(found.group(1)) >= group.limit:
                shown = name if len(name) <= _NAME_SHOWN else name[:_NAME_SHOWN] + "…"
                return (
                    f"Feld „{shown}“: Das Formular hat höchstens {group.limit} "
                    f"{group.label}; diese Zeile gibt es nicht."
                )
    return None
