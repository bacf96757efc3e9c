"""From the case page's forms to the API's payloads (IntakeData, Assessment, AgreementDraft,
Review, Closure, Signature, Reassignment, Transfer), and the map back from payload paths to
form fields.

A form has rows (qualifications, children, needs, goals, measures) of which the empty ones are
left out: payload index 1 may be form row 3, hence the `FieldMap` that puts an error of
`qualifications.1.country` next to the input `qualifications.3.country`. An empty text becomes
a missing field, so pydantic says "Pflichtfeld fehlt." rather than "not a date".
"""

import re
from typing import Any

from starlette.datastructures import FormData

from api.ui.case_view import CaseView
from api.ui.form_rows import row_numbers
from api.ui.forms import FieldMap, flag, optional, text
from domain.case import Responsible

Payload = dict[str, Any]
_CODE = re.compile(r"[A-Za-z]{2,3}")


def _put(target: Payload, key: str, value: Any) -> None:
    if value not in (None, ""):
        target[key] = value


def _rows(form: FormData, prefix: str) -> list[int]:
    """The row numbers of a repeated group present in the form, in order."""
    return sorted(row_numbers(form, prefix))


def _mapped(fields: FieldMap, payload_prefix: str, rows: list[int], form_prefix: str) -> None:
    for index, row in enumerate(rows):
        fields.prefixes[f"{payload_prefix}.{index}"] = f"{form_prefix}.{row}"


def _languages(form: FormData) -> list[str]:
    """The picker's checked codes, then what was typed beside it (codes or German names,
    separated by commas; a list of bare codes may also be separated by spaces, as the field
    once asked for)."""
    entries: list[str] = []
    for value in [*form.getlist("languages"), text(form, "languages_other")]:
        if not isinstance(value, str):
            continue
        for part in re.split(r"[,;]", value):
            words = part.split()
            if len(words) > 1 and all(_CODE.fullmatch(word) for word in words):
                entries.extend(words)
            elif part.strip():
                entries.append(part.strip())
    return entries


def intake(form: FormData) -> tuple[Payload, FieldMap]:
    fields = FieldMap()
    payload: Payload = {
        "languages": _languages(form),
        "literacy_need": flag(form, "literacy_need"),
        "integration_course_completed": flag(form, "integration_course_completed"),
        "receives_citizens_benefit": flag(form, "receives_citizens_benefit"),
        "goals": [g for g in form.getlist("goals") if isinstance(g, str)],
    }
    _put(payload, "birth_date", optional(form, "birth_date"))
    _put(payload, "german_level", optional(form, "german_level"))
    _put(payload, "employment", optional(form, "employment"))
    residence: Payload = {}
    _put(residence, "status", optional(form, "residence.status"))
    _put(residence, "expires_on", optional(form, "residence.expires_on"))
    payload["residence"] = residence

    qualifications, used = [], []
    for row in _rows(form, "qualifications"):
        name = f"qualifications.{row}"
        if not (text(form, f"{name}.title") or text(form, f"{name}.country")):
            continue
        item: Payload = {
            "regulated": flag(form, f"{name}.regulated"),
            "documents_complete": flag(form, f"{name}.documents_complete"),
        }
        for key in ("title", "country", "kind"):
            _put(item, key, optional(form, f"{name}.{key}"))
        qualifications.append(item)
        used.append(row)
    payload["qualifications"] = qualifications
    _mapped(fields, "qualifications", used, "qualifications")

    children, used = [], []
    for row in _rows(form, "children"):
        name = f"children.{row}"
        if not text(form, f"{name}.birth_date"):
            continue
        children.append(
            {
                "birth_date": text(form, f"{name}.birth_date"),
                "has_childcare": flag(form, f"{name}.has_childcare"),
            }
        )
        used.append(row)
    payload["children"] = children
    _mapped(fields, "children", used, "children")
    return payload, fields


def _needs(form: FormData, prefix: str) -> tuple[list[Payload], list[int]]:
    needs, used = [], []
    for row in _rows(form, prefix):
        name = f"{prefix}.{row}"
        if not (text(form, f"{name}.kind") or text(form, f"{name}.note")):
            continue
        need: Payload = {"note": text(form, f"{name}.note")}
        _put(need, "kind", optional(form, f"{name}.kind"))
        _put(need, "priority", optional(form, f"{name}.priority"))
        needs.append(need)
        used.append(row)
    return needs, used


def assessment(form: FormData) -> tuple[Payload, FieldMap]:
    fields = FieldMap()
    needs, used = _needs(form, "needs")
    _mapped(fields, "needs", used, "needs")
    return {"needs": needs}, fields


def draft(form: FormData, view: CaseView) -> tuple[Payload, FieldMap]:
    """Goals from the goal rows; measures from the proposals taken over (in proposal order)
    and then the free rows (client or centre)."""
    fields = FieldMap()
    goals, used = [], []
    for row in _rows(form, "goals"):
        name = f"goals.{row}"
        if not text(form, f"{name}.text"):
            continue
        goal: Payload = {"text": text(form, f"{name}.text")}
        _put(goal, "target_date", optional(form, f"{name}.target_date"))
        _put(goal, "id", optional(form, f"{name}.id"))
        goals.append(goal)
        used.append(row)
    _mapped(fields, "goals", used, "goals")

    measures: list[Payload] = []
    for route in view.state.routes:
        name = f"routes.{route.id}"
        if not flag(form, f"{name}.take"):
            continue
        fields.prefixes[f"measures.{len(measures)}"] = name
        measure: Payload = {"text": text(form, f"{name}.text"), "route_id": route.id}
        if view.partner_route(route):
            measure["responsible"] = Responsible.PARTNER.value
            partner_id = optional(form, f"{name}.partner_id")
            if partner_id is not None and partner_id != route.partner_id:
                measure["partner_id"] = partner_id
                measure["override_reason"] = text(form, f"{name}.override_reason")
        else:
            measure["responsible"] = Responsible.COUNSELLOR.value
        measures.append(measure)
    for row in _rows(form, "extra"):
        name = f"extra.{row}"
        if not text(form, f"{name}.text"):
            continue
        fields.prefixes[f"measures.{len(measures)}"] = name
        extra: Payload = {"text": text(form, f"{name}.text")}
        _put(extra, "responsible", optional(form, f"{name}.responsible"))
        measures.append(extra)
    return {"goals": goals, "measures": measures}, fields


_ANSWERS = {"ja": True, "nein": False}


def review(form: FormData) -> tuple[Payload, FieldMap]:
    fields = FieldMap()
    progress = []
    for row in _rows(form, "goal_progress"):
        name = f"goal_progress.{row}"
        entry: Payload = {
            "goal_id": text(form, f"{name}.goal_id"),
            "note": text(form, f"{name}.note"),
        }
        _put(entry, "status", optional(form, f"{name}.status"))
        progress.append(entry)
    _mapped(fields, "goal_progress", _rows(form, "goal_progress"), "goal_progress")
    needs, used = _needs(form, "new_needs")
    _mapped(fields, "new_needs", used, "new_needs")
    payload: Payload = {
        "goal_progress": progress,
        "survey": {
            "agreement_helped": _ANSWERS.get(text(form, "survey.agreement_helped")),
            "easier_to_keep_at_it": _ANSWERS.get(text(form, "survey.easier_to_keep_at_it")),
        },
        "new_needs": needs,
    }
    _put(payload, "next_review_on", optional(form, "next_review_on"))
    return payload, fields


def closure(form: FormData) -> tuple[Payload, FieldMap]:
    payload: Payload = {"note": text(form, "note")}
    _put(payload, "reason", optional(form, "reason"))
    return payload, FieldMap()


def signature(form: FormData) -> tuple[Payload, FieldMap]:
    payload: Payload = {}
    _put(payload, "party", optional(form, "party"))
    _put(payload, "document_hash", optional(form, "document_hash"))
    return payload, FieldMap()


def edition(form: FormData, view: object) -> tuple[Payload, FieldMap]:
    """The signature request's edition: the language chosen, or none for German only."""
    payload: Payload = {}
    _put(payload, "language", optional(form, "language"))
    return payload, FieldMap()


def reassignment(form: FormData) -> tuple[Payload, FieldMap]:
    payload: Payload = {}
    _put(payload, "counsellor_id", optional(form, "counsellor_id"))
    return payload, FieldMap()


def transfer(form: FormData) -> tuple[Payload, FieldMap]:
    """Only the centre: its kind comes from the directory (`casework.complete_transfer`), and
    without a named counsellor the case waits at the new centre for one (a task)."""
    payload: Payload = {}
    _put(payload, "centre_id", optional(form, "centre_id"))
    return payload, FieldMap()
