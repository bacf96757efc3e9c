"""The partner directory as the case activities see it: a small protocol, so the activities do
not depend on the read model (store.directory.SqlDirectory implements it), and an in-memory
directory for tests and demos."""

from collections.abc import Iterable, Mapping
from typing import Protocol

from domain.partners import Partner


class Directory(Protocol):
    def partners(self, municipality: str) -> list[Partner]:
        """Every partner of the municipality, inactive ones included, with its open-referral
        count (partner resolution needs both)."""
        ...

    def municipality_name(self, municipality: str) -> str:
        """The municipality's name as people write it ("Musterstadt"), for the consent clause
        (its partners of a kind are the ones a re-route may choose); the id if it is unknown."""
        ...

    def centre_name(self, centre_id: str) -> str:
        """The centre's name as the document names it ("MBE Musterstadt-Mitte"); the id if
        it is unknown."""
        ...


class InMemoryDirectory:
    """A fixed list of partners (and names of municipalities); thread-safe because it never
    changes."""

    def __init__(
        self,
        partners: Iterable[Partner] = (),
        municipality_names: Mapping[str, str] | None = None,
        centre_names: Mapping[str, str] | None = None,
    ) -> None:
        self._partners = tuple(partners)
        self._names = dict(municipality_names or {})
        self._centre_names = dict(centre_names or {})

    def partners(self, municipality: str) -> list[Partner]:
        return [p for p in self._partners if p.municipality == municipality]

    def municipality_name(self, municipality: str) -> str:
        return self._names.get(municipality, municipality)

    def centre_name(self, centre_id: str) -> str:
        return self._centre_names.get(centre_id, centre_id)
