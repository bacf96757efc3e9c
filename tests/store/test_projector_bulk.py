"""The projector's bulk path (`SqlCaseEventSink.append_all`, one transaction for many batches,
as `lotse simulate`'s core engine projects) writes the same rows as the live path (`append`,
one transaction per batch, as the worker projects): the event stream of a small simulation
projected both ways into two fresh stores, table by table. And a bulk call costs a statement
per table for what its batches share, not one per batch or event: the events, the referral
steps and the stale months written once, the summaries and erasures read once."""

import asyncio
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import event

from domain.projection import CaseEventBatch
from simulate import core_engine
from simulate.parameters import load_parameters
from simulate.run import Request, simulate, store_for
from simulate.sites import build_directory, seed_directory
from store.projector import SqlCaseEventSink

MUNICIPALITIES = 2
# Not the projector's: the accounts' password hashes are salted anew in each store.
NOT_PROJECTED = {"alembic_version", "users"}
# What a statement does to which table ("INSERT case_events", "SELECT case_summaries").
STATEMENT = re.compile(r"^\s*(INSERT INTO|SELECT\s.*?\sFROM|UPDATE|DELETE FROM)\s+(\w+)", re.S)


class Recording(SqlCaseEventSink):
    """The real sink, keeping each bulk call's batches."""

    calls: ClassVar[list[list[CaseEventBatch]]] = []

    def append_all(self, batches: Sequence[CaseEventBatch]) -> int:
        Recording.calls.append(list(batches))
        return super().append_all(batches)


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as db:
        names = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name not in NOT_PROJECTED
        ]
        return {name: sorted(db.execute(f'SELECT * FROM "{name}"'), key=repr) for name in names}


def test_bulk_and_live_projection_write_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core_engine, "SqlCaseEventSink", Recording)
    Recording.calls = []
    request = Request(
        seed=5,
        scale=0.005,
        engine="core",
        out=tmp_path / "run",
        params=load_parameters(),
        municipalities=MUNICIPALITIES,
    )
    asyncio.run(simulate(request))
    calls = Recording.calls
    assert sum(map(len, calls)) > len(calls) > 10  # bulk calls of several batches
    statements: Counter[str] = Counter()
    stores = {}
    for way in ("bulk", "live"):
        store = store_for(tmp_path / way)
        seed_directory(store, build_directory(MUNICIPALITIES))
        sink = SqlCaseEventSink(store)
        if way == "bulk":
            event.listen(store, "before_cursor_execute", _counting(statements))
        for batches in calls:
            if way == "bulk":
                sink.append_all(batches)
            else:
                for batch in batches:
                    sink.append(batch)
        store.dispose()
        stores[way] = _tables(tmp_path / way / "simulation.sqlite")
    bulk, live = stores["bulk"], stores["live"]
    assert bulk.keys() == live.keys()
    assert len(bulk["case_events"]) > 200 and bulk["referrals"] and bulk["reviews"]
    differing = [name for name in bulk if bulk[name] != live[name]]
    assert differing == []
    # Every call has new events (each store is fresh): one statement per call for each of these.
    assert statements["INSERT case_events"] == len(calls)
    assert statements["SELECT case_summaries"] == len(calls)
    assert statements["SELECT case_erasures"] == len(calls)
    assert statements["INSERT referral_steps"] <= len(calls)
    assert statements["INSERT evaluation_stale_months"] <= len(calls)
    assert statements["SELECT referrals"] <= len(calls)


def _counting(statements: Counter[str]) -> Callable[..., None]:
    def count(*args: object) -> None:
        found = STATEMENT.match(str(args[2]))
        if found is not None:
            verb = found.group(1).split()[0]
            statements[f"{verb} {found.group(2)}"] += 1

    return count
