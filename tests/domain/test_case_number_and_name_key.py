"""The case number's form and the name search keys (domain/case_number.py, domain/name_key.py):
pure functions, no store."""

import pytest

from domain.case_number import (
    derive_prefix,
    format_case_number,
    parse_case_number,
    serial_suffix,
)
from domain.name_key import MAX_KEYS, SearchTerm, name_keys, search_terms


@pytest.mark.parametrize(
    "variants",
    [
        ("Haddad", "Hadad", "HADDAD", "haddad "),
        ("Mohammed", "Muhammad", "Mohamed", "Mohammad", "Muhamed"),
        ("Youssef", "Yusuf", "Jussuf", "Yousef", "Youssouf"),
        ("Osman", "Usman"),
        ("Ahmed", "Ahmad", "Achmed"),
        ("Shevchenko", "Schewtschenko"),
        ("Şükrü", "Sukru"),
        ("Mohammed", "Muhammad", "Mohamad", "Мухаммад", "محمد"),
        ("Yusuf", "Youssef", "Юсуф"),
        ("Haddad", "Hadad", "حداد"),
        ("Özdemir", "Oezdemir", "Ozdemir"),
        ("Müller", "Mueller"),
        ("Strauß", "Strauss"),
        ("Yılmaz", "Yilmaz"),
        ("Коваленко", "Kovalenko"),
    ],
)
def test_transliteration_variants_share_a_key(variants: tuple[str, ...]) -> None:
    keys = {tuple(name_keys(variant)) for variant in variants}
    assert len(keys) == 1 and keys != {()}


def test_different_names_keep_different_keys() -> None:
    assert name_keys("Haddad") != name_keys("Hamid")
    assert name_keys("Yusuf") != name_keys("Yunus")


def test_every_token_of_given_and_family_name_is_keyed_once() -> None:
    assert name_keys("Amal", "Al-Haddad") == ["aml", "al", "hd"]
    assert name_keys("Amal Amal", "Haddad Hadad") == ["aml", "hd"]
    assert len(name_keys(" ".join(f"N{'a' * n}b" for n in range(40)))) <= MAX_KEYS


@pytest.mark.parametrize(
    "text", ["", "%", "_", "\\", "%_\\'\"; --", "123", "\x00\x1b", "🙂", "١٢٣", "\u0301"]
)
def test_text_without_letters_has_no_key(text: str) -> None:
    assert name_keys(text) == []


def test_a_case_number_is_prefix_year_and_a_padded_serial() -> None:
    assert format_case_number("mus", 2026, 147) == "MUS-2026-0147"
    assert format_case_number("MUS", 2026, 12345) == "MUS-2026-12345"


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("MUS-2026-0147", "MUS-2026-0147"),
        (" mus-2026-147 ", "MUS-2026-0147"),
        ("MUS-2026-00147", "MUS-2026-0147"),
        ("Haddad", None),
        ("MUS-26-0147", None),
        ("MUS-2026-%", None),
        ("MU_-2026-0147", None),
    ],
)
def test_a_typed_case_number_is_read_in_its_stored_form(typed: str, number: str | None) -> None:
    assert parse_case_number(typed) == number


def test_a_prefix_is_the_ids_first_letters_and_unique() -> None:
    assert derive_prefix("musterstadt", set()) == "MUS"
    assert derive_prefix("münster", {"MUN"}) == "MUS"  # M, then two later letters
    assert derive_prefix("gemeinde-02", {"GEM"}) == "GEE"
    assert derive_prefix("x", set()) == "XXX"
    taken = {derive_prefix("ab", set())}
    assert derive_prefix("ab", taken) not in taken
    every = {
        a + b + c
        for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    }
    assert derive_prefix("ab", every - {"QQQ"}) == "QQQ"


def test_a_name_in_cyrillic_or_arabic_script_has_keys_of_its_own() -> None:
    assert name_keys("Олена", "Коваленко") == ["aln", "kwlnk"]
    assert name_keys("أمل", "حداد") == ["ml", "hd"]
    assert name_keys("Олена") != name_keys("أمل")


def test_a_search_word_of_three_letters_or_more_also_finds_the_names_it_begins() -> None:
    assert search_terms("Hadd Am") == [SearchTerm("hd", True), SearchTerm("am", False)]
    assert search_terms("Moham")[0].prefix and "mhmd".startswith(search_terms("Moham")[0].key)
    assert name_keys("Karimi")[0].startswith(search_terms("Kar")[0].key)
    assert search_terms("%_ 123") == []


@pytest.mark.parametrize(
    ("typed", "suffix"),
    [
        ("147", "-0147"),
        (" 0147 ", "-0147"),
        ("12345", "-12345"),
        ("2026-147", "-2026-0147"),
        ("0", None),
        ("MUS-2026-0147", None),
        ("14a", None),
        ("", None),
        ("1" * 8, None),
    ],
)
def test_a_serial_part_is_read_as_the_end_of_a_stored_number(
    typed: str, suffix: str | None
) -> None:
    assert serial_suffix(typed) == suffix
