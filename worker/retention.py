"""The retention, as the worker runs it: the Temporal Schedule `lotse-retention` starts
`RetentionWorkflow` (workflows/retention.py) every night, whose activity erases each closed
case whose retention has run out (`LOTSE_RETENTION_AFTER_CLOSE` after the closure of a case
that was signed, `LOTSE_RETENTION_UNSIGNED` of one never signed).

Each case is erased by the same code as `POST /admin/cases/{id}/erase` (api/erasure.py
`erase_closed`): key destroyed, workflows terminated, the client's data removed, the register
row and the audit entry `case.erased`, here by the actor `system` with the reason
„Aufbewahrungsfrist abgelaufen“.

`ensure_retention_schedule` runs at every worker start: it creates the schedule, or brings an
existing one to the current settings (task queue, time), keeping its state (an operator who
paused it keeps it paused). A Schedule rather than a sleeping workflow like the digest: the
operator sees, pauses and triggers it in Temporal's UI and CLI, and it survives a namespace's
workflow retention (it is no workflow).
"""

import asyncio
import dataclasses
import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from api.erasure import erase_closed
from api.gateway import Gateway
from app.payload_codec import KeyStore
from app.settings import Settings
from store.reads.retention import expired_cases
from workflows.retention import RETENTION_SCHEDULE_ID, RETENTION_WORKFLOW_ID, RetentionWorkflow

log = logging.getLogger(__name__)

RETENTION_REASON = "Aufbewahrungsfrist abgelaufen"
# The actor of an automatic erasure in the register and the audit log. Nothing reserves the
# username `system`; the register's reason tells an automatic erasure apart.
SYSTEM_ACTOR = "system"
# Three at night, German time: after the day's work, before the digest at seven.
RETENTION_HOUR = 3


class StoreRetention:
    """`ExpiredCaseEraser` (activities/retention.py) on the store, the key store and Temporal."""

    def __init__(
        self, settings: Settings, engine: Engine, keys: KeyStore, gateway: Gateway
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._keys = keys
        self._gateway = gateway

    async def erase_expired(self, now: datetime) -> int:
        expired = await asyncio.to_thread(
            expired_cases,
            self._engine,
            self._settings.retention_after_close.before(now),
            self._settings.retention_unsigned.before(now),
        )
        for case in expired:
            await erase_closed(
                self._engine,
                self._keys,
                self._gateway,
                case.case_id,
                case.municipality_id,
                SYSTEM_ACTOR,
                RETENTION_REASON,
            )
        # A count only: case ids are no personal data, but a log needs none of them.
        log.info("Retention: %d closed cases erased", len(expired))
        return len(expired)


def retention_schedule(settings: Settings) -> Schedule:
    """The schedule: one `RetentionWorkflow` a night at 03:00 Europe/Berlin; a run still
    going when the next is due makes that one skip; a night missed (Temporal down) is caught
    up within a day."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RetentionWorkflow.run, id=RETENTION_WORKFLOW_ID, task_queue=settings.task_queue
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(RETENTION_HOUR)], comment="retention, every night"
                )
            ],
            time_zone_name="Europe/Berlin",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )


async def ensure_retention_schedule(client: Client, settings: Settings) -> None:
    """Create the schedule, or update the existing one to `retention_schedule(settings)`
    keeping its state; every worker does this at start (idempotent)."""
    schedule = retention_schedule(settings)
    try:
        await client.create_schedule(RETENTION_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:

        def current(update: ScheduleUpdateInput) -> ScheduleUpdate:
            state = update.description.schedule.state
            return ScheduleUpdate(schedule=dataclasses.replace(schedule, state=state))

        await client.get_schedule_handle(RETENTION_SCHEDULE_ID).update(current)
        return
    log.info("Retention scheduled (%s)", RETENTION_SCHEDULE_ID)
