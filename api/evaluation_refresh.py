"""The evaluation's stale monthly cells counted in the background, so that a report seldom
waits for them.

Every write that changes what a month counts marks that month stale, and a report counts the
stale months it needs before it reads them (store/evaluation_cells_build.py): about 0.1 s per
municipality and month at the bench's million cases. After a busy day that is seconds. So the
API counts the stale months of past months every `LOTSE_EVALUATION_REFRESH_SECONDS` (default
300; 0: never), in a worker thread, and a report finds at most a few minutes' marks. The
current month is left to the reports: it is marked all day, and a report of a period that
ends today counts its days from the facts anyway.

Several API processes may run this at once: a month's mark is taken with DELETE ... RETURNING,
so each month is counted by one of them. A failure is logged by its type only (the message
may quote data) and tried again next time; it never stops the API.
"""

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import Engine

from domain.months import start_of_german_month
from store.evaluation_cells_build import refresh

log = logging.getLogger(__name__)

_SINCE = datetime(1900, 1, 1, tzinfo=UTC)


def count_past_months(engine: Engine) -> int:
    """Count every stale month before the current one; returns how many were counted."""
    now = datetime.now(UTC)
    return refresh(engine, None, _SINCE, start_of_german_month(now), now)


async def keep_counting(engine: Engine, every: float, stop: asyncio.Event) -> None:
    """`count_past_months` every `every` seconds until `stop` is set."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
            return
        except TimeoutError:
            pass
        try:
            await asyncio.to_thread(count_past_months, engine)
        except Exception as error:  # the API goes on; the next round tries again
            log.warning("evaluation: counting stale months failed (%s)", type(error).__name__)
