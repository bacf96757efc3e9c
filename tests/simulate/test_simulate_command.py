"""`lotse simulate` as a user runs it: the installed command at `--scale 0.05`, its JSON summary
as the last line, its report opened in real Chromium; the same seed twice gives byte-identical
evaluation JSON; the survey's shares come out within sampling error of the parameters (which
tests the counting path: one answer per client, suppression), and bad options are refused in
German.

The command runs with `--engine core` here: the temporal engine plays the same people and is
held to the same events by tests/simulate/test_engines_agree.py, and its run of the whole
scale is measured by bench/simulate.py.
"""

import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulate.parameters import load_parameters
from simulate.run import Request, simulate
from tests.ui_harness import CHROMIUM, CHROMIUM_ARGS

LOTSE = Path(sys.executable).with_name("lotse")


@dataclass(frozen=True)
class Command:
    out: Path
    stdout: str
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def command(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Command]:
    out = tmp_path_factory.mktemp("simulation")
    done = subprocess.run(
        [
            str(LOTSE),
            "simulate",
            *("--seed", "1", "--scale", "0.05", "--engine", "core"),
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    yield Command(out, done.stdout, json.loads(last))


def test_the_command_prints_its_summary_last(command: Command) -> None:
    summary = command.summary
    assert summary["engine"] == "core" and summary["seed"] == 1 and summary["scale"] == 0.05
    assert summary["agreements_concluded"] > 0.05 * 4000
    assert summary["agreements_opened"] > summary["agreements_concluded"]
    assert summary["simulated_from"] == "2011-04-01" and summary["interrupted"] is False
    for name in ("evaluation.json", "evaluation.csv", "evaluation.html", "simulation.sqlite"):
        assert (command.out / name).stat().st_size > 0


def test_the_evaluation_counts_what_was_played(command: Command) -> None:
    report = json.loads((command.out / "evaluation.json").read_text(encoding="utf-8"))
    assert report["agreements"]["concluded"] == command.summary["agreements_concluded"]
    assert report["period"] == {"from": "2011-04-01", "to": "2012-09-30"}
    assert len(report["agreements"]["per_month"]) == 18
    assert report["min_group"] == 5


def test_the_survey_is_within_sampling_error_of_the_parameters(command: Command) -> None:
    """Each client counts once (her last review): with n clients answering, the share of
    yes lies within three standard errors of the parameter."""
    report = json.loads((command.out / "evaluation.json").read_text(encoding="utf-8"))
    params = load_parameters().survey
    for key, expected in (
        ("agreement_helped", params.agreement_helped),
        ("easier_to_keep_at_it", params.easier_to_keep_at_it),
    ):
        question = report["survey"][key]
        answered = question["yes"] + question["no"]
        assert answered > 50
        error = math.sqrt(expected * (1 - expected) / answered)
        assert abs(question["share_yes"] - expected) < 3 * error, (key, question)
    assert report["survey"]["clients_answered"] < command.summary["reviews"]  # per client


async def test_the_report_opens_in_chromium_with_nothing_from_elsewhere(command: Command) -> None:
    playwright = pytest.importorskip("playwright.async_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed")
    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = await browser.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        await page.goto((command.out / "evaluation.html").as_uri())
        drawn = await page.evaluate(
            "() => Array.from(document.querySelectorAll('figure.chart img'))"
            ".map(img => img.complete && img.naturalWidth > 0)"
        )
        tables = await page.locator("table").count()
        text = await page.locator("body").inner_text()
        await browser.close()
    assert drawn == [True, True, True, True]
    assert tables >= 8
    assert "Simulation" in text and "Freiburg" in text
    assert all(url.startswith(("file:", "data:")) for url in requests), requests


@pytest.fixture(scope="module")
async def twice(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Path, Path]]:
    params = load_parameters()
    outs = (tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second"))
    for out in outs:
        await simulate(
            Request(seed=5, scale=0.005, engine="core", out=out, params=params, municipalities=2)
        )
    yield outs


def test_the_same_seed_gives_byte_identical_evaluation(twice: tuple[Path, Path]) -> None:
    first, second = (out / "evaluation.json" for out in twice)
    assert first.read_bytes() == second.read_bytes()
    assert json.loads(first.read_bytes())["agreements"]["concluded"] > 0


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--scale", "0"], "--scale"),
        (["--scale", "7"], "--scale"),
        (["--scale", "viel"], "--scale"),
        (["--engine", "dampf"], "--engine"),
        (["--seed", "\x07"], "--seed"),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    options: list[str], named: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(LOTSE), "simulate", *options, "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert named in done.stderr
    assert not (tmp_path / "x").exists()


def test_a_bad_parameters_file_is_refused_in_german(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = load_parameters().model_dump_json()
    bad.write_text(text.replace('"agreement_helped":0.592', '"agreement_helped":1.5'))
    done = subprocess.run(
        [str(LOTSE), "simulate", "--parameters", str(bad), "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "survey.agreement_helped" in done.stderr
    assert not (tmp_path / "x").exists()


def test_ctrl_c_stops_the_run_cleanly(tmp_path: Path) -> None:
    """SIGINT after the first simulated month: exit code 130, no traceback, the summary says
    interrupted, and the evaluation of what was played is written."""
    out = tmp_path / "stopped"
    run = subprocess.Popen(
        [str(LOTSE), "simulate", "--engine", "core", "--scale", "0.01", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert run.stderr is not None
    deadline = time.monotonic() + 120
    for line in run.stderr:  # one line per simulated month when not on a terminal
        if "2011" in line or time.monotonic() > deadline:
            break
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["interrupted"] is True
    assert summary["agreements_opened"] > 0
    report = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    assert report["agreements"]["concluded"] is None or report["agreements"]["concluded"] < 41


def test_ctrl_c_in_a_terminal_stops_a_temporal_run_cleanly(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the whole process group: the command and the Temporal test
    server it started. The server goes down at once, and with it the worker, which cancels the
    run's task a second time. Still: exit code 130, no traceback, the summary says
    interrupted, and the evaluation of what was played is written from the store."""
    out = tmp_path / "stopped"
    run = subprocess.Popen(
        [str(LOTSE), "simulate", "--scale", "0.01", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    assert run.stderr is not None
    deadline = time.monotonic() + 180
    for line in run.stderr:  # one line per simulated month when not on a terminal
        if "01.07.2011" in line or time.monotonic() > deadline:  # cases at every stage
            break
    os.killpg(run.pid, signal.SIGINT)
    stdout, stderr = run.communicate(timeout=180)
    assert run.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["engine"] == "temporal"
    assert summary["interrupted"] is True
    assert summary["agreements_opened"] > 0
    report = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    assert report["agreements"]["concluded"] is None or report["agreements"]["concluded"] < 41


async def test_a_cancel_while_the_engine_shuts_down_still_writes_the_evaluation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the terminal's Ctrl-C above can lead to on a long run: the worker, failing once
    the server is gone, cancels the run's task while the engine shuts down. The run then
    counts as interrupted, and the evaluation of what was played is still written."""
    import simulate.run as run_module
    from simulate.core_engine import CoreEngine

    @contextlib.asynccontextmanager
    async def cancelled_on_exit(
        request: Request, store: Any, start: Any, parts: Any
    ) -> AsyncIterator[CoreEngine]:
        yield CoreEngine(store, start)
        raise asyncio.CancelledError

    monkeypatch.setattr(run_module, "_engine", cancelled_on_exit)
    out = tmp_path / "run"
    request = Request(
        seed=3, scale=0.005, engine="core", out=out, params=load_parameters(), municipalities=1
    )
    outcome = await simulate(request)
    assert outcome.interrupted is True
    assert outcome.counts.opened > 0
    report = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    assert report["agreements"]["concluded"] == outcome.counts.concluded
