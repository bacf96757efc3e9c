"""The one table of field labels and messages (api/field_messages.py) that the JSON API and
the pages share: every field of every payload a form or the API sends has a German label, an
empty submission of each payload gets one message per field that names it, and hostile
values are refused naming their field, never echoing a code, a path or a repr."""

import typing
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from api.directory_admin import (
    CentreChange,
    CentreIn,
    MunicipalityChange,
    MunicipalityIn,
    PartnerChange,
    PartnerIn,
)
from api.errors import validation_errors
from api.field_messages import FIELDS, MODEL_FIELDS, describe, label
from api.oidc_links import OidcLinkIn
from domain.actions import (
    AgreementDraft,
    CaseOpen,
    Closure,
    CounsellorChoice,
    Reassignment,
    ReferralReroute,
    ReferralSetAside,
    ReferralWithdrawal,
    RerouteChoice,
    Review,
    SetAsideChoice,
    Signature,
    SignatureEdition,
    TaskDone,
    Transfer,
    WithdrawalReason,
)
from domain.inbound import InboundDecline, InboundReferralRequest
from domain.needs import Assessment
from domain.profile import IntakeData
from domain.referral import DeclineReason, Outcome, ProgressNote
from tests.hostile_values import HUGE

PAYLOADS: list[type[BaseModel]] = [
    IntakeData,
    Assessment,
    AgreementDraft,
    Review,
    Closure,
    Signature,
    Reassignment,
    Transfer,
    CaseOpen,
    InboundReferralRequest,
    InboundDecline,
    DeclineReason,
    ProgressNote,
    Outcome,
    ReferralWithdrawal,
    ReferralReroute,
    ReferralSetAside,
    SetAsideChoice,
    WithdrawalReason,
    RerouteChoice,
    CounsellorChoice,
    TaskDone,
    MunicipalityIn,
    MunicipalityChange,
    CentreIn,
    CentreChange,
    PartnerIn,
    PartnerChange,
    OidcLinkIn,
]
OLD_WORDS = ("Pflichtfeld fehlt", "Zu kurz: mindestens 1", "Feld „", "['", "Value error")


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in typing.get_args(annotation))


def _paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field path of `model`, a list's rows written as `N`."""
    paths = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        row = ".N." if _is_list(info.annotation) else "."
        for inner in _models_in(info.annotation):
            paths += _paths(inner, path + row)
    return paths


@pytest.mark.parametrize("model", PAYLOADS, ids=lambda m: m.__name__)
def test_every_field_of_every_payload_has_a_german_label(model: type[BaseModel]) -> None:
    missing = [
        path
        for path in _paths(model)
        if path not in FIELDS and path not in MODEL_FIELDS.get(model.__name__, {})
    ]
    assert missing == [], f"{model.__name__}: no label for {missing}"


def test_a_row_is_named_as_people_count() -> None:
    assert label("measures.2.override_reason") == "Maßnahme 3: Begründung"
    assert label("residence.expires_on") == "Aufenthaltstitel gültig bis"
    assert label("client.given_name") == "Vorname"
    assert label("qualifications.0.country") == "Abschluss 1: Land"
    assert label("languages.1") == "Sprache 2"
    # A path without an entry is still named (an API client learns which field).
    assert label("nirgends") == "Feld „nirgends“"
    assert label("reason", "DeclineReason") == "Grund der Ablehnung"


@pytest.mark.parametrize("model", PAYLOADS, ids=lambda m: m.__name__)
def test_an_empty_payload_gets_one_named_message_per_field(model: type[BaseModel]) -> None:
    try:
        model.model_validate({})
    except ValidationError as error:
        problems = validation_errors(error.errors(), model.__name__)
    else:
        return  # nothing is required (every field has a default)
    fields = [problem["field"] for problem in problems]
    messages = [problem["message"] for problem in problems]
    assert len(set(fields)) == len(fields)
    # One sentence per field, and no two fields share one: each says which.
    assert len(set(messages)) == len(messages), messages
    for message in messages:
        assert message.startswith("Bitte ") or ": " in message, message
        for word in OLD_WORDS:
            assert word not in message, message


@pytest.mark.parametrize(
    ("payload", "path", "words"),
    [
        ({"client": {"given_name": ""}}, "client.given_name", "Bitte geben Sie den Vornamen ein."),
        ({"client": {"given_name": HUGE}}, "client.given_name", "Vorname: Zu lang"),
        ({"client": {"given_name": "Amal\x00"}}, "client.given_name", "Vorname: "),
        ({"client": {"given_name": "Amal\u202e"}}, "client.given_name", "Vorname: "),
        ({"client": {"given_name": 42}}, "client.given_name", "Vorname: Erwartet wird ein Text."),
        ({"client": "Amal"}, "client", "Person: Erwartet wird ein Objekt."),
    ],
)
def test_hostile_values_are_refused_naming_their_field(
    payload: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        CaseOpen.model_validate(payload)
    problems = {p["field"]: p["message"] for p in validation_errors(refused.value.errors())}
    assert words in problems[path], problems
    # Nothing of the value comes back: it may be personal or hostile.
    assert HUGE[:50] not in problems[path] and "\x00" not in problems[path]


def test_a_model_validator_naming_its_field_puts_the_message_there() -> None:
    problem = describe(
        {"type": "value_error", "loc": ("residence",), "msg": "Value error, expires_on: vorbei"}
    )
    assert problem.field == "residence.expires_on"
    assert problem.message == "Aufenthaltstitel gültig bis: vorbei"


def test_an_api_choice_refused_lists_the_codes_without_reprs() -> None:
    with pytest.raises(ValidationError) as refused:
        ReferralSetAside.model_validate({"referral_id": "x", "how": "vergessen", "reason": "r"})
    (problem,) = validation_errors(refused.value.errors())
    assert problem["field"] == "how"
    assert problem["message"].startswith("Wie weiter: Unbekannter Wert")
    assert "'rest' oder 'coordination'" in problem["message"] and "<" not in problem["message"]


def test_a_body_that_is_no_json_is_the_payload_s_problem_not_a_field_0() -> None:
    with pytest.raises(ValidationError) as refused:
        SignatureEdition.model_validate_json(b"\x00\xff")
    (problem,) = validation_errors(
        [error | {"loc": ("body", 0)} for error in refused.value.errors()]
    )
    assert problem == {"field": "(Eingabe)", "message": "Eingabe: Kein gültiges JSON."}


def test_a_language_code_with_a_control_character_is_refused_as_such() -> None:
    with pytest.raises(ValidationError) as refused:
        SignatureEdition.model_validate({"language": "a\x00"})
    (problem,) = validation_errors(refused.value.errors())
    assert problem["field"] == "language" and "Steuerzeichen (U+0000" in problem["message"]
