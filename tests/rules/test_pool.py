"""The evaluator processes (rules/pool.py) contain the C engine: a real crash or hang of the
process evaluating costs that one evaluation (a typed, retryable error), this process goes on,
and the next evaluation runs on a fresh process. Also: N processes evaluate in parallel, a
process killed while idle is replaced without failing anyone, and no evaluator process
outlives its parent, whether the parent exits or is killed."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date

import psutil
import pytest

from domain.enums import CentreKind, NeedKind
from domain.needs import Need, RoutingResult
from domain.profile import IntakeData
from rules import (
    Evaluator,
    EvaluatorCrashed,
    EvaluatorPool,
    EvaluatorTimeout,
    ReferenceEvaluator,
    RoutingEngineError,
    RulesUnavailable,
    load_catalog,
)
from tests.samples import INTAKE

TODAY = date(2026, 11, 30)
# The sample client younger, with a baby and a permit that expires soon: each need routes.
PROFILE = IntakeData.model_validate(
    INTAKE
    | {
        "birth_date": "2001-03-14",
        "residence": {"status": "permit", "expires_on": "2027-01-31"},
        "children": [{"birth_date": "2023-05-02", "has_childcare": False}],
    },
    context={"today": TODAY},
)
NEEDS = [Need(kind=k) for k in (NeedKind.LANGUAGE, NeedKind.CHILDCARE, NeedKind.RESIDENCE)]
EXPECTED = ReferenceEvaluator(load_catalog()).route(
    PROFILE, NEEDS, today=TODAY, centre_kind=CentreKind.MBE
)


@pytest.fixture
def pool() -> Iterator[EvaluatorPool]:
    pool = EvaluatorPool(2, timeout=2)
    pool.start()
    yield pool
    pool.close()


def route(pool: EvaluatorPool) -> RoutingResult:
    return Evaluator(load_catalog(), pool).route(
        PROFILE, NEEDS, today=TODAY, centre_kind=CentreKind.MBE
    )


def gone(pid: int) -> bool:
    """Whether the process has ended (a zombie counts: it runs no code any more)."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


@pytest.mark.parametrize(
    ("fault", "cause"),
    [("segv", "signal SIGSEGV"), ("abort", "signal SIGABRT"), ("exit", "exit code 70")],
)
def test_a_crash_costs_one_evaluation_and_the_next_runs_on_a_fresh_process(
    pool: EvaluatorPool, fault: str, cause: str
) -> None:
    assert route(pool) == EXPECTED
    before = set(pool.pids())
    assert len(before) == 2
    pool.arm_fault(fault)  # type: ignore[arg-type]
    with pytest.raises(EvaluatorCrashed, match=cause) as crashed:
        route(pool)
    assert isinstance(crashed.value, RulesUnavailable)  # what the callers catch
    [dead] = [pid for pid in before if str(pid) in str(crashed.value)]
    assert gone(dead)
    # This process is still here (we are running), and the next evaluation works.
    assert route(pool) == EXPECTED
    after = set(pool.pids())
    assert dead not in after and len(after) == 2 and len(after - before) == 1


def test_a_hung_evaluator_is_killed_after_the_timeout(pool: EvaluatorPool) -> None:
    route(pool)
    pool.arm_fault("hang")
    started = time.monotonic()
    with pytest.raises(EvaluatorTimeout, match="no answer in 2 s") as hung:
        route(pool)
    assert 1.9 <= time.monotonic() - started < 6
    [pid] = [int(word) for word in str(hung.value).split() if word.isdigit()][:1]
    assert wait_until(lambda: gone(pid))
    assert route(pool) == EXPECTED
    assert pid not in pool.pids()


def test_two_processes_evaluate_side_by_side(pool: EvaluatorPool) -> None:
    """While one process hangs, the other keeps answering: 2-way parallelism, and a stuck
    evaluation holds up nobody else."""
    route(pool)
    pool.arm_fault("hang")
    failures: list[BaseException] = []

    def hung_caller() -> None:
        try:
            route(pool)
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=hung_caller)
    thread.start()
    time.sleep(0.2)  # the hung caller holds one process now
    started = time.monotonic()
    for _ in range(20):
        assert route(pool) == EXPECTED
    assert time.monotonic() - started < 1.5
    thread.join()
    assert len(failures) == 1 and isinstance(failures[0], EvaluatorTimeout)


def test_when_every_process_is_busy_a_caller_waits_at_most_its_wait() -> None:
    pool = EvaluatorPool(1, timeout=2, wait=0.5)
    try:
        route(pool)
        pool.arm_fault("hang")
        failures: list[BaseException] = []

        def hung_caller() -> None:
            try:
                route(pool)
            except BaseException as error:
                failures.append(error)

        thread = threading.Thread(target=hung_caller)
        thread.start()
        time.sleep(0.2)
        started = time.monotonic()
        with pytest.raises(EvaluatorTimeout, match=r"busy for 0\.5 s"):
            route(pool)
        assert 0.45 <= time.monotonic() - started < 1.5
        thread.join()
        assert len(failures) == 1 and isinstance(failures[0], EvaluatorTimeout)
        assert route(pool) == EXPECTED
    finally:
        pool.close()


def test_a_process_killed_while_idle_is_replaced_without_an_error(pool: EvaluatorPool) -> None:
    route(pool)
    killed = pool.pids()
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: all(gone(pid) for pid in killed))
    assert pool.pids() == []
    for _ in range(3):
        assert route(pool) == EXPECTED
    assert len(pool.pids()) == 1 and not set(pool.pids()) & set(killed)


def test_an_engine_refusal_fails_the_evaluation_and_retires_the_process(
    pool: EvaluatorPool,
) -> None:
    route(pool)
    before = set(pool.pids())
    pool.arm_fault("refuse")
    with pytest.raises(RoutingEngineError, match="rejected the batch"):
        route(pool)
    assert len(set(pool.pids()) & before) == 1  # the refusing process has retired
    assert route(pool) == EXPECTED


def test_close_stops_every_process_and_refuses_further_work(pool: EvaluatorPool) -> None:
    route(pool)
    pids = pool.pids()
    pool.close()
    assert wait_until(lambda: all(gone(pid) for pid in pids))
    with pytest.raises(RulesUnavailable, match="closed"):
        route(pool)


def test_closing_the_pool_ends_a_running_evaluation_with_rules_unavailable() -> None:
    pool = EvaluatorPool(1, timeout=30)
    route(pool)
    pool.arm_fault("hang")
    failures: list[BaseException] = []

    def hung_caller() -> None:
        try:
            route(pool)
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=hung_caller)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    pool.close()
    thread.join(timeout=10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert len(failures) == 1 and isinstance(failures[0], RulesUnavailable)
    assert pool.pids() == []


PARENT = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    import rules
    from domain.enums import CentreKind
    from domain.needs import Need

    def main():
        pool = rules.default_pool()
        pool.start()
        print(" ".join(str(pid) for pid in pool.pids()), flush=True)
        if sys.argv[1] == "wait":
            time.sleep(120)

    if __name__ == "__main__":
        main()
    """
)


def _children_of(parent: subprocess.Popen[str]) -> list[int]:
    assert parent.stdout is not None
    line = parent.stdout.readline()
    pids = [int(pid) for pid in line.split()]
    assert len(pids) == 2, line
    return pids


@pytest.mark.parametrize("how", ["exits", "is killed"])
def test_no_evaluator_process_outlives_its_parent(tmp_path: object, how: str) -> None:
    script = f"{tmp_path}/parent.py"
    with open(script, "w", encoding="utf-8") as file:
        file.write(PARENT)
    parent = subprocess.Popen(
        [sys.executable, script, "wait" if how == "is killed" else "exit"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        children = _children_of(parent)
        if how == "is killed":
            parent.kill()  # no atexit, no cleanup: the children see their pipe close
        parent.wait(timeout=30)
        assert wait_until(lambda: all(gone(pid) for pid in children), timeout=15)
    finally:
        parent.kill()


SLOW_CLI = textwrap.dedent(
    """
    import sys, time
    from datetime import date

    # Like an import-heavy CLI on a loaded machine: every run of this module body is slow, and
    # multiprocessing runs it again in each evaluator process started from `python -m`.
    time.sleep(1.5)

    def main():
        from domain.enums import CentreKind, NeedKind
        from domain.needs import Need
        from domain.profile import IntakeData
        from rules import Evaluator, EvaluatorPool, RulesUnavailable, load_catalog
        from tests.samples import INTAKE

        today = date(2026, 11, 30)
        profile = IntakeData.model_validate(INTAKE, context={"today": today})
        start_timeout = float(sys.argv[1])
        pool = EvaluatorPool(1, timeout=1.0, start_timeout=start_timeout)
        try:
            result = Evaluator(load_catalog(), pool).route(
                profile, [Need(kind=NeedKind.LANGUAGE)], today=today, centre_kind=CentreKind.MBE
            )
            print("routed", len(result.routes))
        except RulesUnavailable as error:
            print("unavailable", error)
        finally:
            pool.close()

    if __name__ == "__main__":
        main()
    """
)


@pytest.mark.parametrize(("start_timeout", "expected"), [(30.0, "routed"), (0.3, "unavailable")])
def test_a_slow_process_start_does_not_count_against_the_evaluation_timeout(
    tmp_path: object, start_timeout: float, expected: str
) -> None:
    # `python -m` of a slow main module: each evaluator process takes longer to start than an
    # evaluation may take (1 s). The start is waited for on its own, so the evaluation runs;
    # only a start beyond `start_timeout` fails, as RulesUnavailable (a 503, never a crash).
    with open(f"{tmp_path}/slow_cli.py", "w", encoding="utf-8") as file:
        file.write(SLOW_CLI)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, "-m", "slow_cli", str(start_timeout)],
        cwd=str(tmp_path),
        env={**os.environ, "PYTHONPATH": root},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(expected), result.stdout + result.stderr
    if expected == "unavailable":
        assert "did not start within" in result.stdout
