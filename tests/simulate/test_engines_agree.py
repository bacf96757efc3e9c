"""The differential test of `lotse simulate`: one seed and scale through both engines, the
real workflows on Temporal's time-skipping server and the core's stage functions in a loop,
must give the same case event streams and the same evaluation, byte for byte.

Three municipalities, a scale of 0.015 (more than 60 agreements concluded, with declines,
expiries, re-routes, reviews on time, late and missed, closures and referrals to centres).

What "the same stream" allows, and why:
- Instants to the minute. The temporal engine's carry the milliseconds of real time the server
  spends on each step (the driver keeps every action clear of its case's deadlines modulo an
  hour, simulate/timing.py, so no count of hours or days depends on them).
- Within one minute of one case, any order, and the numbers of referrals and tasks that
  follow from it. Two referrals dispatched together have the same deadlines; when both expire,
  their children report at one instant and Temporal leaves open which report the case takes
  first. A referral is therefore named by its measure and partner here, not its number.
"""

import json
import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulate.parameters import load_parameters
from simulate.run import Outcome, Request, simulate
from worker.simulate_cli import temporal_parts

SEED = 11
SCALE = 0.015
MUNICIPALITIES = 3
INSTANT = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d):\d\d(?:\.\d+)?")
REFERRAL = re.compile(r"case-[0-9a-f-]{36}-ref-\d+")
TASK = re.compile(r'"task_id": "t\d+"')


@dataclass(frozen=True)
class Played:
    core: Outcome
    temporal: Outcome
    core_out: Path
    temporal_out: Path


@pytest.fixture(scope="module")
async def played(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Played]:
    params = load_parameters()
    outs = {name: tmp_path_factory.mktemp(name) for name in ("core", "temporal")}
    runs = {}
    for name, out in outs.items():
        request = Request(
            seed=SEED,
            scale=SCALE,
            engine="core" if name == "core" else "temporal",
            out=out,
            params=params,
            municipalities=MUNICIPALITIES,
        )
        runs[name] = await simulate(request, parts=temporal_parts() if name == "temporal" else None)
    yield Played(runs["core"], runs["temporal"], outs["core"], outs["temporal"])


def _streams(out: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Each case's events, in the comparison's terms (see the module docstring)."""
    with sqlite3.connect(out / "simulation.sqlite") as db:
        rows = db.execute(
            "SELECT case_id, seq, kind, at, data FROM case_events ORDER BY case_id, seq"
        ).fetchall()
    names: dict[str, str] = {}
    for _case_id, _seq, kind, _at, data in rows:
        if kind == "referral_dispatched":
            payload = json.loads(data)
            names[payload["referral_id"]] = f"{payload['measure_id']}@{payload['partner_id']}"
    streams: dict[str, list[tuple[str, str, str]]] = {}
    for case_id, _seq, kind, at, data in rows:
        text = INSTANT.sub(r"\1", data)
        text = REFERRAL.sub(lambda found: names.get(found.group(0), "?"), text)
        text = TASK.sub('"task_id": "t"', text)
        streams.setdefault(case_id, []).append((str(at)[:16], kind, text))
    return {case_id: sorted(events) for case_id, events in streams.items()}


def test_the_run_is_the_model_project_in_small(played: Played) -> None:
    counts = played.core.counts
    assert counts.concluded > int(4000 * SCALE)
    assert counts.opened > counts.concluded  # some ended before signing, some were declined
    assert counts.declined > 0 and counts.completed > 0 and counts.reviews > 0
    assert counts.inbound > 0 and counts.closed > 0
    assert played.temporal.leaks_released > 0  # the test server's leak was met and released


def test_both_engines_play_the_same_people(played: Played) -> None:
    assert played.core.counts == played.temporal.counts


def test_both_engines_write_the_same_event_streams(played: Played) -> None:
    core, temporal = _streams(played.core_out), _streams(played.temporal_out)
    assert sorted(core) == sorted(temporal)
    assert sum(map(len, core.values())) > 20 * len(core)
    differing = [case_id for case_id in core if core[case_id] != temporal[case_id]]
    assert differing == []


def test_both_engines_give_the_same_evaluation(played: Played) -> None:
    core = (played.core_out / "evaluation.json").read_bytes()
    assert core == (played.temporal_out / "evaluation.json").read_bytes()
    report = json.loads(core)
    assert report["agreements"]["concluded"] == played.core.counts.concluded
