"""The coordination's daily digest: `DigestActivities.daily_digests(day)` counts each
municipality's open items (store/reads/digest.py) for the supervisors who asked for it, and
answers one notice per municipality; the digest workflow (workflows/digest.py) sends them.

Idempotent: it only reads, and a notice's key is the municipality and the day, so a digest
is sent once per day however often this runs. A municipality with nothing open gets none.
"""

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from temporalio import activity

from domain.months import start_of_german_day
from domain.notifications import Addressee, Notice, NoticeKind, event_key


class DigestCounts(Protocol):
    """What the digest reads (store/reads/digest.py behind `SqlDigestCounts`)."""

    def municipalities(self) -> Sequence[str]: ...

    def open_items(self, municipality_id: str, now: datetime) -> int: ...


def digest_key(municipality_id: str, day: date) -> str:
    """`digest-<municipality>:<yyyymmdd>:daily_digest`: one digest a day and municipality."""
    return event_key(
        f"digest-{municipality_id}", int(day.strftime("%Y%m%d")), NoticeKind.DAILY_DIGEST
    )


class DigestActivities:
    def __init__(self, counts: DigestCounts) -> None:
        self._counts = counts

    @activity.defn
    async def daily_digests(self, day: date) -> list[Notice]:
        return await asyncio.to_thread(self._digests, day)

    def _digests(self, day: date) -> list[Notice]:
        # Counted as of the start of the day: a retry later that day counts the same way.
        now = start_of_german_day(day)
        notices = []
        for municipality in self._counts.municipalities():
            count = self._counts.open_items(municipality, now)
            if count == 0:
                continue
            notices.append(
                Notice(
                    event_key=digest_key(municipality, day),
                    kind=NoticeKind.DAILY_DIGEST,
                    to=Addressee.supervisors(municipality),
                    deadline=day,
                    count=count,
                )
            )
        return notices
