"""The retention's one activity: `RetentionActivities.erase_expired_cases(now)` erases every
closed case whose retention has run out as of `now` and answers how many it erased.

The work is behind `ExpiredCaseEraser` (worker/retention.py wires it: the store's expired
cases, erased by the same code as `POST /admin/cases/{id}/erase`). Idempotent: an erased
case is no longer expired, so a retry or a second run the same day erases nothing twice.
`now` comes from the workflow (its clock), so a retried activity judges the same cases.
"""

from datetime import datetime
from typing import Protocol

from temporalio import activity


class ExpiredCaseEraser(Protocol):
    async def erase_expired(self, now: datetime) -> int:
        """Erase the cases expired as of `now`; how many were erased."""
        ...


class RetentionActivities:
    def __init__(self, eraser: ExpiredCaseEraser) -> None:
        self._eraser = eraser

    @activity.defn
    async def erase_expired_cases(self, now: datetime) -> int:
        return await self._eraser.erase_expired(now)
