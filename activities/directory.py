"""The partner directory as the case activities see it: a small protocol, so the activities do
not depend on the read model (store.directory.SqlDirectory implements it), and an in-memory
directory for tests and demos."""

from collections.abc import Iterable
from typing import Protocol

from domain.partners import Partner


class Directory(Protocol):
    def partners(self, municipality: str) -> list[Partner]:
        """Every partner of the municipality, inactive ones included, with its open-referral
        count (partner resolution needs both)."""
        ...


class InMemoryDirectory:
    """A fixed list of partners; thread-safe because it never changes."""

    def __init__(self, partners: Iterable[Partner] = ()) -> None:
        self._partners = tuple(partners)

    def partners(self, municipality: str) -> list[Partner]:
        return [p for p in self._partners if p.municipality == municipality]
