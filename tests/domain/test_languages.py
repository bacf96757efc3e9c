"""Languages and countries: ISO 639-1 and 639-3 codes and German names in, one stored code out;
German names for what people read; refusals that name the field and show no Python list."""

import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from domain import languages
from domain.profile import validate_intake
from tests.samples import INTAKE

TODAY = date(2026, 11, 25)
ROOT = Path(__file__).resolve().parents[2]


def intake(**changes: Any) -> dict[str, Any]:
    return INTAKE | changes


def qualification(country: str) -> dict[str, Any]:
    first: dict[str, Any] = INTAKE["qualifications"][0]
    return first | {"country": country}


def refusal(data: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        validate_intake(data, TODAY)
    [error] = caught.value.errors()
    return ".".join(str(part) for part in error["loc"]), str(error["msg"])


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ar", "ar"),
        ("ara", "ar"),  # ISO 639-3 of a language with a 639-1 code: stored as before
        ("ARA", "ar"),
        ("ti", "ti"),
        ("tir", "ti"),
        ("prs", "prs"),  # Dari has no 639-1 code
        ("kmr", "kmr"),  # Kurmanji and Sorani are told apart
        ("ckb", "ckb"),
        ("Dari", "prs"),
        ("türkisch", "tr"),
        ("Sorani", "ckb"),
        ("Kurmanji", "kmr"),
    ],
)
def test_a_language_is_stored_as_its_639_1_else_639_3_code(typed: str, stored: str) -> None:
    assert validate_intake(intake(languages=[typed]), TODAY).languages == [stored]


def test_old_payloads_with_639_1_codes_stay_valid_and_unchanged() -> None:
    assert validate_intake(intake(languages=["ar", "uk", "tr"]), TODAY).languages == [
        "ar",
        "uk",
        "tr",
    ]


def test_two_spellings_of_one_language_are_kept_once() -> None:
    assert validate_intake(intake(languages=["ar", "ara", "Arabisch"]), TODAY).languages == ["ar"]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("ar", "Arabisch"),
        ("prs", "Dari"),
        ("kmr", "Kurmandschi (Nordkurdisch)"),
        ("ckb", "Sorani (Zentralkurdisch)"),
        ("ti", "Tigrinya"),
        ("uk", "Ukrainisch"),
        ("en", "Englisch"),
        ("pes", "Iranisches Persisch"),  # no CLDR name: pycountry's German translation
    ],
)
def test_languages_have_german_names(code: str, name: str) -> None:
    assert languages.language_name(code) == name


def test_an_unknown_stored_code_is_shown_as_it_is() -> None:
    assert languages.language_name("qqq") == "qqq"
    assert languages.language_names([]) == "—"
    assert languages.language_names(["ar", "en"]) == "Arabisch, Englisch"


def test_unknown_languages_are_named_in_german_without_a_python_list() -> None:
    field, message = refusal(intake(languages=["ar", "dari2", "englisch2"]))
    assert field == "languages"
    assert message.startswith("Value error, Sprachen: „dari2“ und „englisch2“ sind uns unbekannt")
    assert "z. B. Arabisch, Dari, Ukrainisch" in message
    assert "[" not in message and "'" not in message


@pytest.mark.parametrize("special", ["und", "mul", "zxx", "mis"])
def test_codes_that_name_no_language_are_refused(special: str) -> None:
    assert refusal(intake(languages=[special]))[0] == "languages"


def test_a_huge_language_entry_is_refused_and_shown_cut_short() -> None:
    field, message = refusal(intake(languages=["x" * 100_000]))
    assert field == "languages"
    assert len(message) < 300
    assert "x" * 30 + "…" in message


def test_control_characters_in_a_language_entry_do_not_reach_the_message() -> None:
    field, message = refusal(intake(languages=["ar\x00\x1b[31m"]))
    assert field == "languages"
    assert "\x00" not in message and "\x1b" not in message


def test_many_unknown_languages_are_counted_not_all_listed() -> None:
    _, message = refusal(intake(languages=[f"q{n}" for n in range(10)]))
    assert "„q0“, „q1“, „q2“ und 7 weitere Einträge sind uns unbekannt" in message


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("SY", "SY"), ("sy", "SY"), ("SYR", "SY"), ("Syrien", "SY"), ("syrien", "SY"),
     ("Türkei", "TR"), ("Syrien, Arabische Republik", "SY"), ("Kosovo", "XK")],
)  # fmt: skip
def test_a_country_is_stored_as_its_alpha_2_code(typed: str, stored: str) -> None:
    profile = validate_intake(intake(qualifications=[qualification(typed)]), TODAY)
    assert profile.qualifications[0].country == stored


@pytest.mark.parametrize(("code", "name"), [("SY", "Syrien"), ("AF", "Afghanistan"),
                                            ("UA", "Ukraine"), ("XK", "Kosovo")])  # fmt: skip
def test_countries_have_german_names(code: str, name: str) -> None:
    assert languages.country_name(code) == name


def test_an_unknown_country_is_refused_naming_the_field() -> None:
    field, message = refusal(intake(qualifications=[qualification("Syrie")]))
    assert field == "qualifications.0.country"
    assert "Land: „Syrie“ ist uns unbekannt; bitte aus der Liste wählen" in message


def test_a_huge_country_entry_is_refused_as_too_long() -> None:
    field, _ = refusal(intake(qualifications=[qualification("S" * 100_000)]))
    assert field == "qualifications.0.country"


def test_control_characters_in_a_country_do_not_reach_the_message() -> None:
    field, message = refusal(intake(qualifications=[qualification("S\x07Y")]))
    assert field == "qualifications.0.country"
    assert "\x07" not in message


def test_the_picker_lists_the_common_languages_first_then_alphabetically() -> None:
    codes = [code for code, _ in languages.LANGUAGE_CHOICES]
    assert codes[: len(languages.COMMON_LANGUAGES)] == list(languages.COMMON_LANGUAGES)
    assert len(codes) == len(set(codes))
    rest = [name for code, name in languages.LANGUAGE_CHOICES[len(languages.COMMON_LANGUAGES) :]]
    assert rest == sorted(rest, key=languages.sort_key)
    assert all(languages.language_code(code) == code for code in codes)


def test_the_country_list_is_in_german_alphabetical_order() -> None:
    names = [name for _, name in languages.COUNTRY_CHOICES]
    assert names.index("Ägypten") < names.index("Albanien")
    assert all(languages.country_code(code) == code for code, _ in languages.COUNTRY_CHOICES)


def test_validation_opens_no_file_after_import() -> None:
    # Payloads are decoded in Temporal's workflow sandbox, which forbids opening files: every
    # table must be read at import, none on first use.
    probe = (
        "import builtins, io\n"
        "from datetime import date\n"
        "from domain.profile import validate_intake\n"
        "from tests.samples import INTAKE\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError(f'opened {args[:1]}')\n"
        "builtins.open = io.open = refuse\n"
        "q = INTAKE['qualifications'][0] | {'country': 'Syrien'}\n"
        "p = validate_intake(INTAKE | {'languages': ['prs', 'Arabisch', 'tir'],"
        " 'qualifications': [q]}, date(2026, 11, 25))\n"
        "print(p.languages, p.qualifications[0].country)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.split() == ["['prs',", "'ar',", "'ti']", "SY"]
