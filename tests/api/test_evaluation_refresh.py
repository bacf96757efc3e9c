"""The API's background counting of the evaluation's stale months (api/evaluation_refresh.py),
on a store with the bench's generated cases: it counts the past months, leaves the current one
to the reports, goes on after a failure, and stops when the API does; its setting refuses
values out of range."""

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from api import evaluation_refresh
from app.settings import Settings
from bench.evaluation import Directory, load
from domain.months import start_of_german_month
from store.evaluation_cells import EvaluationCount, EvaluationStaleMonth
from store.evaluation_cells_build import mark_everything_stale
from store.testing import migrated_store


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_store("sqlite", tmp_path, None) as found:
        load({"sqlite": found}, Directory.build(), 300, seed=3, now=datetime.now(UTC))
        with Session(found) as session, session.begin():
            assert mark_everything_stale(session) > 0
        yield found


def _stale(engine: Engine, before_this_month: bool) -> int:
    this_month = start_of_german_month(datetime.now(UTC))
    month = col(EvaluationStaleMonth.month)
    with Session(engine) as session:
        return session.exec(
            select(func.count())
            .select_from(EvaluationStaleMonth)
            .where(month < this_month if before_this_month else month >= this_month)
        ).one()


# A round counts 300 cases' months in a thread; on a loaded machine that takes seconds, so the
# waits are generous (they end as soon as the condition holds).
ROUND = 120.0


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + ROUND
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def test_the_past_months_are_counted_in_the_background(engine: Engine) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(evaluation_refresh.keep_counting(engine, 0.05, stop))
    await _until(lambda: _stale(engine, before_this_month=True) == 0)
    stop.set()
    await asyncio.wait_for(task, timeout=ROUND)
    assert _stale(engine, before_this_month=True) == 0
    assert _stale(engine, before_this_month=False) >= 1  # this month: left to the reports
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(EvaluationCount)).one() > 0


async def test_a_failed_round_is_tried_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds: list[str] = []
    count = evaluation_refresh.count_past_months

    def failing_once(found: Engine) -> int:
        rounds.append("round")
        if len(rounds) == 1:
            raise OSError("database is locked")
        return count(found)

    monkeypatch.setattr(evaluation_refresh, "count_past_months", failing_once)
    stop = asyncio.Event()
    task = asyncio.create_task(evaluation_refresh.keep_counting(engine, 0.05, stop))
    await _until(lambda: len(rounds) >= 2 and _stale(engine, before_this_month=True) == 0)
    assert not task.done()  # the failure did not end it
    stop.set()
    await asyncio.wait_for(task, timeout=ROUND)
    assert len(rounds) >= 2 and _stale(engine, before_this_month=True) == 0


@pytest.mark.parametrize("value", ["-1", "86401", "oft", "5\x1b", "9" * 40])
def test_the_setting_refuses_what_is_out_of_range(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTSE_EVALUATION_REFRESH_SECONDS", value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "evaluation_refresh_seconds" in str(refused.value)
