"""Intake and assessment payloads reject bad data with a message that names the field."""

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from domain.dates import age_on
from domain.needs import Assessment, Need
from domain.profile import IntakeData, validate_intake
from tests.samples import INTAKE

TODAY = date(2026, 11, 25)


def intake(**changes: Any) -> dict[str, Any]:
    """The sample intake with a small child and its codes typed in mixed case (validation
    normalises them), and `changes`."""
    typed = {
        "languages": ["ar", "EN"],
        "qualifications": [INTAKE["qualifications"][0] | {"country": "sy"}],
        "children": [{"birth_date": "2023-02-01", "has_childcare": False}],
    }
    return INTAKE | typed | changes


def error_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(part) for part in error["loc"]) for error in exc.errors()}


def test_valid_intake_is_normalised() -> None:
    profile = validate_intake(intake(), TODAY)
    assert profile.languages == ["ar", "en"]
    assert profile.qualifications[0].country == "SY"
    assert profile.german_level.rank == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"german_level": "B3"}, "german_level"),
        ({"german_level": "b1"}, "german_level"),
        ({"employment": "retired"}, "employment"),
        ({"residence": {"status": "visa"}}, "residence.status"),
        ({"goals": ["wealth"]}, "goals.0"),
        ({"languages": ["xx"]}, "languages"),
        ({"birth_date": "2030-01-01"}, "birth_date"),
        (
            {"children": [{"birth_date": "2027-01-01", "has_childcare": False}]},
            "children.0.birth_date",
        ),
        (
            {
                "qualifications": [
                    {
                        "title": "X",
                        "country": "QQ",
                        "kind": "academic",
                        "regulated": False,
                        "documents_complete": True,
                    }
                ]
            },
            "qualifications.0.country",
        ),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
def test_bad_intake_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_intake(intake(**changes), TODAY)
    assert field in error_fields(caught.value)


def test_expired_permit_is_rejected_with_field_in_message() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_intake(intake(residence={"status": "permit", "expires_on": "2026-01-01"}), TODAY)
    assert "expires_on" in str(caught.value)
    assert "abgelaufen" in str(caught.value)


def test_expired_date_is_fine_for_status_unclear() -> None:
    profile = validate_intake(
        intake(residence={"status": "unclear", "expires_on": "2026-01-01"}), TODAY
    )
    assert profile.residence.expires_on == date(2026, 1, 1)


def test_checks_against_today_need_the_day_passed_in() -> None:
    # Without a day the model cannot know "the future"; validate_intake always supplies it.
    profile = IntakeData.model_validate(intake(birth_date="2030-01-01"))
    assert profile.birth_date == date(2030, 1, 1)


@pytest.mark.parametrize("priority", [0, 4, -1])
def test_need_priority_outside_1_to_3_rejected(priority: int) -> None:
    with pytest.raises(ValidationError) as caught:
        Need.model_validate({"kind": "language", "priority": priority})
    assert "priority" in error_fields(caught.value)


def test_need_kind_unknown_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        Need.model_validate({"kind": "housing"})
    assert "kind" in error_fields(caught.value)


def test_empty_needs_list_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        Assessment.model_validate({"needs": []})
    assert "needs" in error_fields(caught.value)


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(2000, 11, 25), date(2026, 11, 25), 26),
        (date(2000, 11, 26), date(2026, 11, 25), 25),
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
    ],
)
def test_age_on_counts_completed_years(birth: date, day: date, age: int) -> None:
    assert age_on(birth, day) == age
