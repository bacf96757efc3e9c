"""A municipality's published routing rules as routing asks for them, and the one refusal
routing must never paper over: a municipality the directory does not know.

Kept here, in the core, because three layers meet over it: the store reads the published
version (store/rule_sets.py), the rules merge it onto the federal table (rules/municipal.py),
and the activities and the API answer an unknown municipality (never a silent fallback to the
federal table, which would route a typo's cases by the wrong rules).
"""

from dataclasses import dataclass


class UnknownMunicipality(LookupError):
    """Routing was asked for a municipality that is not in the directory."""

    def __init__(self, municipality: str) -> None:
        super().__init__(f"municipality '{municipality}' is not in the directory")
        self.municipality = municipality


@dataclass(frozen=True)
class PublishedRules:
    """The published version of a municipality's overrides: its number, the SHA-256 of its
    text (`content_hash`) and the text (YAML or JSON, rules/overrides.py reads it)."""

    municipality_id: str
    version: int
    content_hash: str
    text: str
