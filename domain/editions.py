"""The language editions of the agreement document: which languages have a translation to
print beside the binding German text, and which one a case's intake suggests.

The translations themselves are data files read by the render activity
(`activities/editions/<code>.yaml`); this table is what the API, the page and the workflow
validate against without reading a file (tests/workflows/test_editions.py keeps both in step).
Codes are the profile's (domain/languages.py): ISO 639-1 where there is one, else ISO 639-3.
"""

from collections.abc import Iterable
from types import MappingProxyType

# Each edition's language in its own name, for the choice on the page and the document's
# heading; German is the binding text and no edition of its own.
EDITIONS = MappingProxyType(
    {
        "ar": "العربية",
        "prs": "دری",
        "uk": "Українська",
        "ru": "Русский",
        "tr": "Türkçe",
        "en": "English",
    }
)
# Codes that read the same translation: Persian (Farsi) clients read the Dari edition, whose
# wording avoids the few words the two standards spell or choose differently.
EDITION_ALIASES = MappingProxyType({"fa": "prs"})

# The German name of each edition for the counsellor's choice (domain/languages.py would give
# „Dari“ too; spelled out here so the page needs no lookup per option).
EDITION_GERMAN_NAMES = MappingProxyType(
    {
        "ar": "Arabisch",
        "prs": "Dari/Persisch",
        "uk": "Ukrainisch",
        "ru": "Russisch",
        "tr": "Türkisch",
        "en": "Englisch",
    }
)

# The sentence an unreviewed translation's document carries in German under its title
# (activities/agreement_text.py writes it; the case page reads it back from the archived text,
# so the page says of each version what was presented, not what the translation is now).
UNREVIEWED_NOTE = "Die Übersetzung ist noch nicht geprüft."

UNKNOWN_EDITION = (
    "Für diese Sprache gibt es keine Übersetzung der Vereinbarung. Bitte eine der angebotenen "
    "Sprachen wählen oder nur Deutsch."
)


def edition_code(code: str) -> str | None:
    """The edition for a language code (an alias resolved), or None when there is none."""
    canonical = EDITION_ALIASES.get(code, code)
    return canonical if canonical in EDITIONS else None


def edition_title(language: str | None) -> str:
    """How people name an edition: „zweisprachige Ausgabe Deutsch/Arabisch“, „deutsche
    Ausgabe“ without a language (an unknown code is named as it is)."""
    if language is None:
        return "deutsche Ausgabe"
    return f"zweisprachige Ausgabe Deutsch/{EDITION_GERMAN_NAMES.get(language, language)}"


def suggested_edition(languages: Iterable[str]) -> str | None:
    """The first of a client's languages (in the intake's order) that has an edition."""
    return next((found for code in languages if (found := edition_code(code))), None)
