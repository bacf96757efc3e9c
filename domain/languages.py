"""Languages and countries of a profile: the codes Lotse stores and their German names.

The one owner of both tables. A language is stored as its ISO 639-1 code where it has one
(`ar`, `uk`, `ti`) and as its ISO 639-3 code otherwise (Dari `prs`, Kurmanji `kmr`, Sorani
`ckb`): what older code stored stays valid and unchanged, and a language without a two-letter
code can still be recorded. A country is stored as its ISO 3166-1 alpha-2 code (`SY`). Both
accept what a person or an older client sends (`ara`, `tir`, `SYR`, „Syrien“, „Dari“) and say
it in the canonical form.

The German names come from CLDR through Babel (`Locale("de")`), which names the languages and
countries people use; where CLDR has no name for a code, from pycountry's German translation of
the ISO names, else the English ISO name. Three names are ours, because counsellors know those
languages by them and CLDR has none or only the linguists' one (`_OWN_NAMES`).

Everything is read when the module is imported: `domain/profile.py` validates payloads inside
Temporal's workflow sandbox, where opening a data file is forbidden, and so is anything lazy in
Babel or pycountry. No function here reads a file or the clock.
"""

import gettext
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

import pycountry
from babel import Locale

_CLDR_GERMAN = Locale("de")
_THREE_OR_TWO_LETTERS = re.compile(r"[a-z]{2,3}")
_SHOWN_CHARS = 30  # of an unknown entry echoed in a message
_SHOWN_ENTRIES = 3


def _iso_german(domain: str) -> gettext.NullTranslations:
    # pycountry ships the ISO names' German translations; without them (a stripped install)
    # the English names are shown rather than none.
    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=["de"], fallback=True)


def _folded(text: str) -> str:
    """How a typed name is compared: case, accents and spaces do not matter („türkisch“)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.split())


def sort_key(name: str) -> str:
    """German alphabetical order for names („Ägypten“ beside „Afghanistan“, not after „Z“)."""
    return _folded(name)


# --- languages -------------------------------------------------------------------------------

# Known by these names in migration counselling; CLDR has no Dari or Kurmanji, and calls Sorani
# only „Zentralkurdisch“.
_OWN_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "prs": "Dari",
        "kmr": "Kurmandschi (Nordkurdisch)",
        "ckb": "Sorani (Zentralkurdisch)",
    }
)

# Listed first in the picker: the languages most often recorded in migration counselling.
COMMON_LANGUAGES: tuple[str, ...] = (
    "ar", "prs", "fa", "ps", "uk", "ru", "tr", "kmr", "ckb", "ti", "so", "en", "fr", "sq",
    "sr", "ro", "bg", "pl", "ur", "am",
)  # fmt: skip


def _language_records() -> Iterator[tuple[str, tuple[str, ...], str]]:
    """(canonical code, every code that means it, English ISO name) of each language; the
    special codes (`und`, `mul`, `zxx`, `mis`) name no language a person speaks."""
    for language in pycountry.languages:
        if getattr(language, "type", None) == "S":
            continue
        alpha_3 = str(language.alpha_3)
        alpha_2 = getattr(language, "alpha_2", None)
        canonical = str(alpha_2) if alpha_2 else alpha_3
        yield canonical, (canonical, alpha_3), str(language.name)


def _language_tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    iso_german = _iso_german("iso639-3")
    cldr = _CLDR_GERMAN.languages
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    cldr_named: dict[str, str] = {}
    for canonical, spellings, english in _language_records():
        for spelling in spellings:
            codes[spelling] = canonical
        cldr_name = cldr.get(canonical)
        if canonical in _OWN_NAMES:
            names[canonical] = _OWN_NAMES[canonical]
        elif cldr_name:
            names[canonical] = str(cldr_name)
        else:
            names[canonical] = iso_german.gettext(english)
        if cldr_name or canonical in _OWN_NAMES:
            cldr_named[canonical] = names[canonical]
    return codes, names, cldr_named


def _name_index(
    names: Mapping[str, str], preferred: Iterable[str], more: Iterable[tuple[str, str]] = ()
) -> dict[str, str]:
    """Folded name -> code. A name two codes share goes to the preferred (listed) one."""
    index: dict[str, str] = {}
    for code in preferred:
        index.setdefault(_folded(names[code]), code)
    for name, code in more:
        index.setdefault(_folded(name), code)
    for code, name in names.items():
        index.setdefault(_folded(name), code)
    return index


_LANGUAGE_CODES, _LANGUAGE_NAMES, _LISTED_LANGUAGES = _language_tables()
# Names are accepted for the listed languages (the picker's), codes for every language: folding
# all 7,900 ISO names would cost a fifth of a second at every import for names nobody types.
_LANGUAGE_BY_NAME = _name_index(
    _LISTED_LANGUAGES,
    COMMON_LANGUAGES,
    # What CLDR calls the languages we name ourselves, and their short names.
    [("Zentralkurdisch", "ckb"), ("Nordkurdisch", "kmr"), ("Kurmandschi", "kmr"),
     ("Kurmanji", "kmr"), ("Sorani", "ckb")],
)  # fmt: skip

# The picker's list: every language CLDR names in German (and ours), the common ones first.
LANGUAGE_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (code, _LANGUAGE_NAMES[code]) for code in COMMON_LANGUAGES
) + tuple(
    sorted(
        ((code, name) for code, name in _LISTED_LANGUAGES.items() if code not in COMMON_LANGUAGES),
        key=lambda item: sort_key(item[1]),
    )
)


def language_code(entry: str) -> str | None:
    """The stored code of a language given as ISO 639-1 or 639-3 code or by its German name
    (`ara` -> `ar`, `PRS` -> `prs`, „Türkisch“ -> `tr`); None when it names no language."""
    folded = _folded(entry)
    if _THREE_OR_TWO_LETTERS.fullmatch(folded) and folded in _LANGUAGE_CODES:
        return _LANGUAGE_CODES[folded]
    return _LANGUAGE_BY_NAME.get(folded)


def language_name(code: str) -> str:
    """The German name of a stored language code („Arabisch“); an unknown code as it is."""
    return _LANGUAGE_NAMES.get(code, code)


def language_names(codes: Iterable[str]) -> str:
    """„Arabisch, Englisch“, or „—“ when there are none."""
    return ", ".join(language_name(code) for code in codes) or "—"


# --- countries -------------------------------------------------------------------------------


# Kosovo has no ISO 3166-1 code of its own; the user-assigned XK / XKX is what the EU, the
# BAMF and CLDR use, and many clients' qualifications are from there.
_USER_ASSIGNED_COUNTRIES: Mapping[str, str] = MappingProxyType({"XK": "XKX"})


def _country_tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    iso_german = _iso_german("iso3166-1")
    cldr = _CLDR_GERMAN.territories
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    official: dict[str, str] = {}  # ISO's German official names, also accepted when typed
    for country in pycountry.countries:
        alpha_2 = str(country.alpha_2)
        codes[alpha_2.lower()] = alpha_2
        codes[str(country.alpha_3).lower()] = alpha_2
        common = getattr(country, "common_name", None) or country.name
        names[alpha_2] = str(cldr.get(alpha_2) or iso_german.gettext(str(common)))
        official[iso_german.gettext(str(country.name))] = alpha_2
    for alpha_2, alpha_3 in _USER_ASSIGNED_COUNTRIES.items():
        codes[alpha_2.lower()] = alpha_2
        codes[alpha_3.lower()] = alpha_2
        names[alpha_2] = str(cldr[alpha_2])
    return codes, names, official


_COUNTRY_CODES, _COUNTRY_NAMES, _OFFICIAL_COUNTRY_NAMES = _country_tables()
_COUNTRY_BY_NAME = _name_index(_COUNTRY_NAMES, (), _OFFICIAL_COUNTRY_NAMES.items())

COUNTRY_CHOICES: tuple[tuple[str, str], ...] = tuple(
    sorted(_COUNTRY_NAMES.items(), key=lambda item: sort_key(item[1]))
)


def country_code(entry: str) -> str | None:
    """The stored ISO 3166-1 alpha-2 code of a country given as alpha-2 or alpha-3 code or by
    its German name (`sy`, `SYR`, „Syrien“ -> `SY`); None when it names no country."""
    folded = _folded(entry)
    if _THREE_OR_TWO_LETTERS.fullmatch(folded) and folded in _COUNTRY_CODES:
        return _COUNTRY_CODES[folded]
    return _COUNTRY_BY_NAME.get(folded)


def country_name(code: str) -> str:
    """The German name of a stored country code („Syrien“); an unknown code as it is."""
    return _COUNTRY_NAMES.get(code, code)


# --- messages --------------------------------------------------------------------------------


def shown(entry: str) -> str:
    """What a refused entry looks like in a message: printable characters only, cut short, so
    neither a control character nor a megabyte reaches the page."""
    printable = "".join(char if char.isprintable() else "�" for char in entry.strip())
    if len(printable) > _SHOWN_CHARS:
        return printable[:_SHOWN_CHARS] + "…"
    return printable


def quoted_list(entries: list[str]) -> str:
    """„a“, „b“ und „c“ (the first three, then how many more)."""
    quoted = [f"„{shown(entry)}“" for entry in entries[:_SHOWN_ENTRIES]]
    rest = len(entries) - len(quoted)
    if rest:
        quoted.append(f"{rest} {'weiterer Eintrag' if rest == 1 else 'weitere Einträge'}")
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " und " + quoted[-1]


def unknown_languages_message(entries: list[str]) -> str:
    verb = "ist" if len(entries) == 1 else "sind"
    examples = ", ".join(language_name(code) for code in ("ar", "prs", "uk"))
    return (
        f"Sprachen: {quoted_list(entries)} {verb} uns unbekannt; bitte aus der Liste wählen "
        f"(z. B. {examples}) oder den Sprachcode nach ISO 639 angeben."
    )


def unknown_country_message(entry: str) -> str:
    examples = ", ".join(country_name(code) for code in ("SY", "AF", "UA"))
    return (
        f"Land: {quoted_list([entry])} ist uns unbekannt; bitte aus der Liste wählen "
        f"(z. B. {examples})."
    )
