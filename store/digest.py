"""The daily digest's counts on the store (`activities.digest.DigestCounts`)."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from store.reads import digest as digest_reads


class SqlDigestCounts:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def municipalities(self) -> Sequence[str]:
        with Session(self._engine) as session:
            return digest_reads.digest_municipalities(session)

    def open_items(self, municipality_id: str, now: datetime) -> int:
        with Session(self._engine) as session:
            return digest_reads.open_items(session, municipality_id, now)
