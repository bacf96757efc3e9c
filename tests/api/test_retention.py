"""Retention (issue 15, item 4): the nightly Temporal Schedule erases a closed case once its
retention has run out, on a time-skipping server with shortened retentions: a case never
signed after `LOTSE_RETENTION_UNSIGNED`, a signed one after `LOTSE_RETENTION_AFTER_CLOSE`,
by the actor `system`, through the same erasure as the route. The time-skipping server has no
schedules, so the test starts the schedule's own action; the schedule itself is created and
updated on the dev server. And a retention setting that is no ISO period is refused in
German, naming the variable."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select
from temporalio.client import ScheduleActionStartWorkflow, ScheduleCalendarSpec
from temporalio.testing import WorkflowEnvironment

from app.settings import Settings
from store.audit import AuditEvent
from store.erasure import CaseErasure
from store.facts import ClosureFact
from store.reads.retention import expired_cases
from tests.api_harness import (
    Lotse,
    eventually,
    running_lotse,
    settings_for,
    time_skipping_server,
)
from tests.hostile_values import CONTROL_VALUES
from worker.retention import (
    RETENTION_HOUR,
    RETENTION_REASON,
    SYSTEM_ACTOR,
    ensure_retention_schedule,
    retention_schedule,
)
from workflows.retention import RETENTION_SCHEDULE_ID

UNSIGNED = timedelta(days=7)


@pytest.fixture(scope="module")
async def system(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[WorkflowEnvironment, Lotse]]:
    async with (
        time_skipping_server() as env,
        running_lotse(
            env,
            tmp_path_factory.mktemp("lotse"),
            retention_after_close="P30D",
            retention_unsigned="P7D",
        ) as lotse,
    ):
        yield env, lotse


async def _closed(lotse: Lotse, case_id: str, reason: str) -> None:
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/close", json={"reason": reason})

    def projected() -> bool:
        summary = lotse.summary(case_id)
        with Session(lotse.engine) as session:
            fact = session.get(ClosureFact, case_id) is not None
        # A duplicate writes no closure fact (the evaluation ignores it): its summary then.
        return summary is not None and summary.stage == "closed" and (fact or reason == "duplicate")

    await eventually(projected)


async def _nightly_run(
    env: WorkflowEnvironment, lotse: Lotse, night: int, after: timedelta = timedelta(0)
) -> int:
    """What the schedule starts each night: its own action, on the time-skipping server,
    `after` from now (the server skips the time while the result is awaited)."""
    action = retention_schedule(lotse.settings).action
    assert isinstance(action, ScheduleActionStartWorkflow)
    erased: int = await env.client.execute_workflow(
        action.workflow,
        id=f"{action.id}-{night}",
        task_queue=action.task_queue,
        result_type=int,
        start_delay=after or None,
    )
    return erased


def _erasures(lotse: Lotse) -> dict[str, CaseErasure]:
    with Session(lotse.engine) as session:
        return {row.case_id: row for row in session.exec(select(CaseErasure))}


async def test_the_retention_erases_a_closed_case_after_its_retention(
    system: tuple[WorkflowEnvironment, Lotse],
) -> None:
    # Cases never signed (no referral children, whose clocks would wake while time skips):
    # erased after LOTSE_RETENTION_UNSIGNED. The signed branch of the query is not run here.
    env, lotse = system
    unsigned = await lotse.open_case(given="Ungezeichnet")
    await _closed(lotse, unsigned, "withdrawn")
    duplicate = await lotse.open_case(given="Doppelt")
    await _closed(lotse, duplicate, "duplicate")
    assert await _nightly_run(env, lotse, 0) == 0

    assert await _nightly_run(env, lotse, 1, after=UNSIGNED + timedelta(days=1)) == 2
    erasures = _erasures(lotse)
    assert set(erasures) == {unsigned, duplicate}
    assert {(e.erased_by, e.reason) for e in erasures.values()} == {
        (SYSTEM_ACTOR, RETENTION_REASON)
    }
    response = await lotse.call("berater1", "GET", f"/cases/{unsigned}")
    assert response.status_code == 410
    assert "gelöscht" in response.json()["detail"]
    assert lotse.summary(unsigned).client_display_name == ""  # type: ignore[union-attr]
    with Session(lotse.engine) as session:
        audited = session.exec(
            select(AuditEvent.object_id).where(
                AuditEvent.action == "case.erased", AuditEvent.actor == SYSTEM_ACTOR
            )
        ).all()
    assert sorted(audited) == sorted([unsigned, duplicate])

    # Idempotent: the next night finds nothing more, and nothing is erased twice.
    assert await _nightly_run(env, lotse, 2, after=timedelta(days=1)) == 0
    assert _erasures(lotse) == erasures


async def test_the_worker_creates_the_schedule_and_updates_it_keeping_a_pause(
    dev_env: WorkflowEnvironment, tmp_path: object, task_queue: str
) -> None:
    client = dev_env.client
    first = settings_for(tmp_path, task_queue, "unused")  # type: ignore[arg-type]
    await ensure_retention_schedule(client, first)
    handle = client.get_schedule_handle(RETENTION_SCHEDULE_ID)
    await handle.pause(note="Wartung")
    moved = settings_for(tmp_path, f"{task_queue}-moved", "unused")  # type: ignore[arg-type]
    await ensure_retention_schedule(client, moved)
    try:
        schedule = (await handle.describe()).schedule
        assert isinstance(schedule.action, ScheduleActionStartWorkflow)
        assert schedule.action.workflow == "RetentionWorkflow"
        assert schedule.action.task_queue == f"{task_queue}-moved"
        assert schedule.spec.time_zone_name == "Europe/Berlin"
        (calendar,) = schedule.spec.calendars
        assert isinstance(calendar, ScheduleCalendarSpec)
        assert [hour.start for hour in calendar.hour] == [RETENTION_HOUR]
        assert schedule.state.paused
    finally:
        await handle.delete()


@pytest.mark.parametrize(
    "value",
    [
        "3 Jahre",
        "P",
        "P0D",
        "PT12H",
        "P3W",
        "-P3Y",
        "p3y",
        "P\u0663Y",
        "P" + "9" * 10_000 + "Y",
        "P3Y\x1c",
        *(f"P3Y{value}" for _, value, _ in CONTROL_VALUES),
    ],
)
@pytest.mark.parametrize("name", ["retention_after_close", "retention_unsigned"])
def test_a_retention_that_is_no_period_is_refused_in_german(name: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({name: value})
    message = str(refused.value)
    assert f"LOTSE_{name.upper()} muss" in message
    assert "input_value" not in message  # never quoted: hide_input_in_errors


async def test_a_signed_case_is_kept_for_the_retention_after_close_not_the_unsigned_one(
    system: tuple[WorkflowEnvironment, Lotse],
) -> None:
    # The query's signed branch on a real signed and closed case (skipping time past a signed
    # case's referral clocks is left to the nightly test above's unsigned cases): with its
    # agreement in force once, the unsigned retention never reaches it, the one after close
    # does.
    _, lotse = system
    signed = await lotse.active_case("berater1")
    await _closed(lotse, signed, "goals_achieved")
    with Session(lotse.engine) as session:
        fact = session.get(ClosureFact, signed)
        assert fact is not None
        closed_at = fact.closed_at

    def expired(after_close: timedelta, unsigned: timedelta) -> set[str]:
        found = expired_cases(lotse.engine, closed_at + after_close, closed_at + unsigned)
        return {case.case_id for case in found}

    assert signed not in expired(after_close=timedelta(0), unsigned=timedelta(days=10_000))
    assert signed in expired(after_close=timedelta(seconds=1), unsigned=timedelta(0))
