"""Every text and date a person can send refuses what would crash or mislead later: control
characters, bidi overrides and dates outside 1900-2200, with a German message naming the field.

Table-driven over every payload model of the domain (what the API and the web forms parse):
each text field with NUL, an escape, DEL, C1 codes, bidi overrides and isolates (and, for
single-line fields, line breaks and tabs); each date with dates before 1900 and after 2200.
The boundaries and the multi-line characters a note may hold are accepted.
"""

import re
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from domain.actions import (
    AgreementDraft,
    CaseOpen,
    Closure,
    CounsellorChoice,
    Reassignment,
    Review,
    Signature,
    TaskDone,
    Transfer,
)
from domain.explain import ExplainRequest
from domain.fields import MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN, PlausibleDate
from domain.needs import Assessment
from domain.profile import IntakeData
from domain.referral import DeclineReason, Outcome, ProgressNote
from tests import samples

# The sample intake with a settlement permit and a child: every date field of an intake present.
INTAKE: dict[str, Any] = samples.INTAKE | {
    "residence": {"status": "settlement", "expires_on": "2030-03-01"},
    "children": [{"birth_date": "2020-02-01", "has_childcare": True}],
}
DRAFT: dict[str, Any] = {
    "goals": [{"text": "Deutsch auf B1", "target_date": "2027-06-30", "id": "g1"}],
    "measures": [
        {
            "text": "Sprachkurs",
            "responsible": "partner",
            "route_id": "r1",
            "partner_id": "sprachkurs",
            "override_reason": "näher am Wohnort",
        }
    ],
}
REVIEW: dict[str, Any] = {
    "goal_progress": [{"goal_id": "g1", "status": "in_progress", "note": "läuft"}],
    "new_needs": [{"kind": "childcare", "note": "Kita-Platz fehlt"}],
    "next_review_on": "2027-01-15",
}
EXPLAIN: dict[str, Any] = {
    "today": "2026-11-25",
    "municipality": "musterstadt",
    "profile": INTAKE,
    "needs": [{"kind": "language", "note": "schnell"}],
}

# (model, a valid payload, dotted path of one field)
SINGLE_LINE_FIELDS: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (CaseOpen, {"client": {"given_name": "Amina", "family_name": "Karimi"}}, "client.given_name"),
    (CaseOpen, {"client": {"given_name": "Amina", "family_name": "Karimi"}}, "client.family_name"),
    (IntakeData, INTAKE, "qualifications.0.title"),
    (AgreementDraft, DRAFT, "goals.0.id"),
    (AgreementDraft, DRAFT, "measures.0.route_id"),
    (AgreementDraft, DRAFT, "measures.0.partner_id"),
    (Review, REVIEW, "goal_progress.0.goal_id"),
    (Reassignment, {"counsellor_id": "berater2"}, "counsellor_id"),
    (Reassignment, {"counsellor_id": "berater2", "centre_id": "mbe-nord"}, "centre_id"),
    (CounsellorChoice, {"counsellor_id": "berater2"}, "counsellor_id"),
    (Transfer, {"centre_id": "jmd-nord", "counsellor_id": "berater3"}, "centre_id"),
    (Transfer, {"centre_id": "jmd-nord", "counsellor_id": "berater3"}, "counsellor_id"),
    (TaskDone, {"task_id": "t7"}, "task_id"),
    (ExplainRequest, EXPLAIN, "municipality"),
]
MULTI_LINE_FIELDS: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (Assessment, {"needs": [{"kind": "language", "note": "schnell"}]}, "needs.0.note"),
    (AgreementDraft, DRAFT, "goals.0.text"),
    (AgreementDraft, DRAFT, "measures.0.text"),
    (AgreementDraft, DRAFT, "measures.0.override_reason"),
    (Review, REVIEW, "goal_progress.0.note"),
    (Review, REVIEW, "new_needs.0.note"),
    (Closure, {"reason": "moved_away", "note": "nach Hamburg"}, "note"),
    (Outcome, {"result": "achieved", "note": "B1 bestanden"}, "note"),
    (DeclineReason, {"reason": "Kurs voll"}, "reason"),
    (ProgressNote, {"note": "Kurs begonnen"}, "note"),
    (ExplainRequest, EXPLAIN, "needs.0.note"),
]
DATE_FIELDS: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (IntakeData, INTAKE, "birth_date"),
    (IntakeData, INTAKE, "residence.expires_on"),
    (IntakeData, INTAKE, "children.0.birth_date"),
    (AgreementDraft, DRAFT, "goals.0.target_date"),
    (Review, REVIEW, "next_review_on"),
    (ExplainRequest, EXPLAIN, "today"),
    (ExplainRequest, EXPLAIN, "profile.birth_date"),
]

# (label, character): refused everywhere.
CONTROL = [
    ("NUL", "\x00"),
    ("ESC", "\x1b"),
    ("DEL", "\x7f"),
    ("C1 CSI", "\x9b"),
    ("C1 NEL inside", "\x85"),
    ("RLO", "\u202e"),
    ("LRE", "\u202a"),
    ("RLI", "\u2067"),
    ("PDI", "\u2069"),
]
LINE_BREAKS = [("LF", "\n"), ("CR", "\r"), ("TAB", "\t"), ("LS", "\u2028")]


def _with(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `payload` with the field at the dotted `path` set to `value`."""
    copy: Any = _copy(payload)
    target = copy
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[last] = value
    result: dict[str, Any] = copy
    return result


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _refusal(model: type[BaseModel], payload: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(payload)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return dict(errors[0])


def _loc(error: dict[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"])


def _ids(fields: list[tuple[type[BaseModel], dict[str, Any], str]]) -> list[str]:
    return [f"{model.__name__}.{path}" for model, _, path in fields]


@pytest.mark.parametrize(("model", "payload", "path"), SINGLE_LINE_FIELDS + MULTI_LINE_FIELDS)
def test_valid_payloads_of_the_table_are_accepted(
    model: type[BaseModel], payload: dict[str, Any], path: str
) -> None:
    model.model_validate(payload)


@pytest.mark.parametrize(("label", "char"), CONTROL, ids=[c[0] for c in CONTROL])
@pytest.mark.parametrize(
    ("model", "payload", "path"),
    SINGLE_LINE_FIELDS + MULTI_LINE_FIELDS,
    ids=_ids(SINGLE_LINE_FIELDS + MULTI_LINE_FIELDS),
)
def test_control_and_bidi_characters_are_refused_naming_field_and_position(
    model: type[BaseModel], payload: dict[str, Any], path: str, label: str, char: str
) -> None:
    error = _refusal(model, _with(payload, path, f"Amina{char}X"))
    assert _loc(error) == path
    code = f"U+{ord(char):04X}"
    assert code in error["msg"] and "Zeichen 6" in error["msg"]
    expected = "Schreibrichtung" if char in "\u202a\u202e\u2067\u2069" else "Steuerzeichen"
    assert expected in error["msg"]
    assert "Amina" not in error["msg"]  # the message never repeats the text


@pytest.mark.parametrize(("label", "char"), LINE_BREAKS, ids=[c[0] for c in LINE_BREAKS])
@pytest.mark.parametrize(
    ("model", "payload", "path"), SINGLE_LINE_FIELDS, ids=_ids(SINGLE_LINE_FIELDS)
)
def test_single_line_fields_refuse_line_breaks_and_tabs(
    model: type[BaseModel], payload: dict[str, Any], path: str, label: str, char: str
) -> None:
    error = _refusal(model, _with(payload, path, f"Amina{char}Karimi"))
    assert _loc(error) == path
    assert "Zeilenumbrüche" in error["msg"]


@pytest.mark.parametrize(
    ("model", "payload", "path"), MULTI_LINE_FIELDS, ids=_ids(MULTI_LINE_FIELDS)
)
def test_multi_line_fields_keep_line_breaks_and_tabs(
    model: type[BaseModel], payload: dict[str, Any], path: str
) -> None:
    text = "erste Zeile\r\nzweite\tZeile\nحديث مع العميل\u2029Absatz"
    parsed = model.model_validate(_with(payload, path, text))
    value: Any = parsed
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else getattr(value, part)
    assert value == text


@pytest.mark.parametrize(
    ("model", "payload", "path"),
    SINGLE_LINE_FIELDS + MULTI_LINE_FIELDS,
    ids=_ids(SINGLE_LINE_FIELDS + MULTI_LINE_FIELDS),
)
def test_huge_text_is_refused_for_its_length(
    model: type[BaseModel], payload: dict[str, Any], path: str
) -> None:
    error = _refusal(model, _with(payload, path, "x" * 20_000 + "\x00"))
    assert _loc(error) == path
    assert error["type"] in {"string_too_long", "too_long"}


def test_names_in_any_script_and_joiners_are_accepted() -> None:
    # Persian needs the zero-width non-joiner, Arabic and Hebrew are right-to-left by
    # themselves: only explicit overrides and isolates are refused.
    for name in ("محمدرضا", "مهر\u200cنوش", "Łucja", "Nguyễn", "דוד", "Zoë-Anaïs"):
        CaseOpen.model_validate({"client": {"given_name": name}})


@pytest.mark.parametrize(("model", "payload", "path"), DATE_FIELDS, ids=_ids(DATE_FIELDS))
@pytest.mark.parametrize("day", ["0001-01-10", "1899-12-31", "2201-01-01", "9999-12-31"])
def test_dates_outside_1900_to_2200_are_refused_naming_the_field(
    model: type[BaseModel], payload: dict[str, Any], path: str, day: str
) -> None:
    error = _refusal(model, _with(payload, path, day))
    assert _loc(error) == path
    assert error["type"] == "date_out_of_range"
    assert "außerhalb des erlaubten Bereichs (01.01.1900 bis 31.12.2200)" in error["msg"]


@pytest.mark.parametrize(("model", "payload", "path"), DATE_FIELDS, ids=_ids(DATE_FIELDS))
def test_dates_at_the_bounds_are_accepted(
    model: type[BaseModel], payload: dict[str, Any], path: str
) -> None:
    # A birth date must not lie in the future; the profile's birth dates must not lie after
    # the explain request's "today".
    if path != "today":
        model.model_validate(_with(payload, path, "1900-01-01"))
    if path not in {"birth_date", "children.0.birth_date", "profile.birth_date"}:
        model.model_validate(_with(payload, path, "2200-12-31"))


def test_the_issue_example_residence_expiry_in_year_one_is_refused() -> None:
    body = INTAKE | {"residence": {"status": "settlement", "expires_on": "0001-01-10"}}
    error = _refusal(IntakeData, body)
    assert _loc(error) == "residence.expires_on"
    assert "10.01.0001" in error["msg"]


def test_document_hash_must_be_hex() -> None:
    Signature.model_validate({"party": "client", "document_hash": "a" * 64})
    for bad in ("g" * 64, "a" * 63 + "\x00", "a" * 65):
        error = _refusal(Signature, {"party": "client", "document_hash": bad})
        assert _loc(error) == "document_hash"


def test_schema_patterns_state_the_same_rule_as_the_check() -> None:
    schema = CaseOpen.model_json_schema()
    name = schema["$defs"]["ClientName"]["properties"]["given_name"]
    assert name["pattern"] == SINGLE_LINE_PATTERN
    note = Closure.model_json_schema()["properties"]["note"]
    assert note["pattern"] == MULTI_LINE_PATTERN
    single, multi = re.compile(SINGLE_LINE_PATTERN), re.compile(MULTI_LINE_PATTERN)
    for label, char in CONTROL:
        assert not single.search(f"a{char}b") and not multi.search(f"a{char}b"), label
    assert multi.search("a\nb\tc") and not single.search("a\tb")


def test_plausible_date_is_one_type_for_every_date_field() -> None:
    adapter: TypeAdapter[date] = TypeAdapter(PlausibleDate)
    assert adapter.validate_python("2200-12-31") == date(2200, 12, 31)
    with pytest.raises(ValidationError):
        adapter.validate_python(date(1, 1, 10))
