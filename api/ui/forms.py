"""What a form shows again after a refusal: the values as typed and each error next to its
field, in German (the words: api/field_messages.py; the way back to the page: api/ui/flash.py).

Errors come from three places and are brought into one shape (`field -> message`):
- pydantic, when a payload built from the form is validated (`errors_of_validation`);
- the workflow, through the API's gateway: an `HTTPException` with 422 and
  `{"errors": [{"field", "message"}]}` names a field; a 409 (wrong stage, closed case), 429
  or 503 is a message for the whole form (`errors_of_http`).
Field names are dotted payload paths (`residence.expires_on`, `measures.2.override_reason`);
a form whose inputs are named differently translates them with a `FieldMap`.
"""

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.field_messages import describe_all
from api.ui.form_rows import row_limit, row_numbers

GENERAL = "_form"  # the key of a message about the whole form
IDEMPOTENCY_FIELD = "idempotency_key"
_KEY = re.compile(r"[0-9a-f]{32}")


@dataclass
class FormState:
    """One form of a page: empty (defaults shown) or as submitted, with its errors."""

    values: Mapping[str, list[str]] | None = None
    errors: dict[str, str] = field(default_factory=dict)
    # A fresh key per rendering: a form sent twice (double click, reload) acts once.
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Refused because the case or referral moved on meanwhile (409: another tab, a colleague):
    # the page says so and offers to reload (macros.html `summary`).
    conflict: bool = False
    # The id each field's input got on the page (a page with several forms of one kind gives
    # its inputs ids of their own): where the summary's links point.
    ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def submitted(
        cls, form: FormData, errors: dict[str, str], conflict: bool = False
    ) -> "FormState":
        values: dict[str, list[str]] = {}
        for name, value in form.multi_items():
            if isinstance(value, str) and name not in ("csrf_token", IDEMPOTENCY_FIELD):
                values.setdefault(name, []).append(value)
        return cls(values=values, errors=errors, conflict=conflict)

    @property
    def is_submitted(self) -> bool:
        return self.values is not None

    def value(self, name: str, default: object = "") -> str:
        """What the input shows: the submitted text, or `default` on a fresh form."""
        if self.values is None:
            return "" if default is None else str(default)
        return self.values.get(name, [""])[0]

    def checked(self, name: str, default: bool = False) -> bool:
        if self.values is None:
            return default
        return name in self.values

    def chosen(self, name: str, option: object, default: object = None) -> bool:
        """Whether `option` is selected in a select, radio group or checkbox group."""
        if self.values is None:
            if isinstance(default, list | tuple | set | frozenset):
                return str(option) in {str(item) for item in default}
            return default is not None and str(option) == str(default)
        return str(option) in self.values.get(name, [])

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    def summary(self) -> list[tuple[str | None, str]]:
        """Every error, for the list above the form: (input id or None, message). Errors of
        fields the form does not show (a message about the whole draft) appear only here."""
        return [
            (None if name == GENERAL else self.ids.get(name, field_id(name)), text)
            for name, text in self.errors.items()
        ]

    def remember(self, name: str, input_id: str) -> str:
        """Note the id the page gave the input of `name` (macros.html); "" to render."""
        self.ids[name] = input_id
        return ""

    def count(self, prefix: str, default: int, extra: int = 1) -> int:
        """How many rows of a repeated group to show: the rows submitted (plus one when the
        form asked for another row), or `default` on a fresh form; at least `extra`, never
        more than the group's payload list may hold (`form_rows.row_limit`), whatever row
        number a post names."""
        limit = row_limit(prefix)
        if self.values is None:
            return min(max(default, extra), limit)
        rows = row_numbers(self.values, prefix)
        shown = max(rows) + 1 if rows else 0
        if self.values.get("_add") == [prefix]:
            shown += 1
        return min(max(shown, extra), limit)


def field_id(name: str) -> str:
    """The id of the input named `name` (labels and the error summary point at it)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional(form: FormData, name: str) -> str | None:
    """A text input's value, or None when left empty (optional dates, optional ids)."""
    return text(form, name) or None


def flag(form: FormData, name: str) -> bool:
    return name in form


def idempotency_key(form: FormData) -> str | None:
    value = text(form, IDEMPOTENCY_FIELD)
    return value if _KEY.fullmatch(value) else None


def adding_row(form: FormData) -> bool:
    """The form asked for one more row of a repeated group, not to be sent."""
    return bool(text(form, "_add"))


@dataclass
class FieldMap:
    """Payload path prefixes -> form field prefixes (`measures.2` -> `routes.r5`)."""

    prefixes: dict[str, str] = field(default_factory=dict)

    def form_field(self, payload_field: str) -> str:
        parts = payload_field.split(".")
        for length in range(len(parts), 0, -1):
            head = ".".join(parts[:length])
            if head in self.prefixes:
                return ".".join([self.prefixes[head], *parts[length:]])
        return payload_field


def _collect(pairs: Iterable[tuple[str, str]], fields: FieldMap | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    for raw_field, message in pairs:
        name = fields.form_field(raw_field) if fields else raw_field
        # The first message per field: one sentence next to an input is enough.
        errors.setdefault(name or GENERAL, message)
    return errors


def errors_of_validation(error: ValidationError, fields: FieldMap | None = None) -> dict[str, str]:
    """Each refused field's message (api/field_messages.py: it names the field, in the words
    of the payload the form filled, `error.title`), keyed by the form's input."""
    problems = describe_all(error.errors(), error.title)
    return _collect(((problem.field, problem.message) for problem in problems), fields)


def errors_of_http(error: HTTPException, fields: FieldMap | None = None) -> dict[str, str]:
    detail: Any = error.detail
    if isinstance(detail, dict) and isinstance(detail.get("errors"), list):
        pairs = [
            (str(item.get("field", GENERAL)), str(item.get("message", "")))
            for item in detail["errors"]
            if isinstance(item, dict)
        ]
        return _collect(pairs, fields)
    if isinstance(detail, dict):
        detail = detail.get("detail")
    return {GENERAL: str(detail) if detail else "Die Änderung wurde abgelehnt."}


def refused_state(
    form: FormData, error: HTTPException, fields: FieldMap | None = None
) -> FormState:
    """The form as sent with the refusal's errors; a 409 (the case or referral moved on since
    the page was loaded) marks it as a conflict, which the page explains."""
    conflict = error.status_code == 409
    return FormState.submitted(form, errors_of_http(error, fields), conflict=conflict)


def refusal_passes_through(error: HTTPException) -> bool:
    """Refusals that are not about the form (no such case, not logged in): the page answers
    them itself instead of showing the form again."""
    return error.status_code in (401, 403, 404)
