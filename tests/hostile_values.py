"""The hostile values the input tests send (control characters, bidi controls, line breaks,
huge texts, dates out of range), how to put one into a payload, and the check that none of them
reached the store. Shared by tests/api/test_hostile_input.py (a case's steps) and
tests/api/test_inbound_hostile_input.py (referrals to a centre); not a test module itself.
"""

import re
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import SQLModel

from domain.fields import MULTI_LINE_PATTERN

HUGE = "x" * 5000
# (label, value, words the German message must hold)
CONTROL_VALUES: list[tuple[str, str, str]] = [
    ("NUL", "Amina\x00", "Steuerzeichen (U+0000"),
    ("C1", "Amina\x9bK", "Steuerzeichen (U+009B"),
    ("ESC", "Amina\x1b[31m", "Steuerzeichen (U+001B"),
    ("bidi override", "Amina\u202egpj.exe", "Schreibrichtung (U+202E"),
    ("bidi isolate", "Amina\u2066K", "Schreibrichtung (U+2066"),
    ("huge", HUGE, "Zu lang"),
]
SINGLE_LINE_ONLY: list[tuple[str, str, str]] = [
    ("line feed", "Amina\nKarimi", "Zeilenumbrüche"),
]
BAD_DATES: list[tuple[str, str, str]] = [
    ("year one", "0001-01-10", "10.01.0001 liegt außerhalb des erlaubten Bereichs"),
    ("before 1900", "1899-12-31", "außerhalb des erlaubten Bereichs"),
    ("after 2200", "2201-01-01", "außerhalb des erlaubten Bereichs"),
]
FORBIDDEN_IN_STORE = re.compile(MULTI_LINE_PATTERN)


def with_value(payload: Any, path: str, value: Any) -> Any:
    """A copy of `payload` with the field at the dotted `path` set to `value`."""
    if not path:
        return value
    head, _, rest = path.partition(".")
    if isinstance(payload, list):
        index = int(head)
        return [
            with_value(item, rest, value) if i == index else item for i, item in enumerate(payload)
        ]
    return {**payload, head: with_value(payload.get(head, {}), rest, value)}


def variants(kind: str) -> list[tuple[str, str, str]]:
    """The bad values for a field of `kind`: "line" (single-line), "text" or "date"."""
    if kind == "date":
        return BAD_DATES
    return CONTROL_VALUES + (SINGLE_LINE_ONLY if kind == "line" else [])


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    return []


def store_texts_are_clean(engine: Engine) -> bool:
    """No text in any table of the store holds a refused character or a refused huge value."""
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for text in _strings(list(row)):
                    assert FORBIDDEN_IN_STORE.fullmatch(text), f"{table.name}: {text[:40]!r}"
                    assert HUGE[:2001] not in text, table.name
    return True
