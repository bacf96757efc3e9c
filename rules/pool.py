"""Supervised evaluator processes: durable-rules runs outside the API and worker processes, so a
fault inside the C engine costs one evaluation, never the service.

`EvaluatorPool.match(catalog, batches)` sends the flat events of one or more evaluations to
one of N child processes and returns the matched rule positions. Deriving facts and shaping
the answer stay in the caller (evaluator.py); only the matching, the one step that needs the
C engine, crosses the pipe. The design:

- Processes start on first use (or with `start()`) from a forkserver that has the rules
  package and durable-rules imported already, so a (re)start costs milliseconds, not an
  interpreter. Forkserver (spawn where it is missing), never plain fork: the API and the
  worker are multi-threaded asyncio processes, which must not be forked.
- Each process serves one request at a time; a caller takes an idle process, so N processes
  give N-way parallelism while the engine itself stays single-threaded. A caller waits at
  most `wait` seconds for a free process (EvaluatorTimeout after that). Processes are
  reused; each one is sent a catalog once.
- A process that dies during an evaluation (SIGSEGV, SIGABRT, exit) fails that evaluation
  with `EvaluatorCrashed`; one that does not answer within `timeout` is killed and the
  evaluation fails with `EvaluatorTimeout`. Both are `RulesUnavailable`: the API answers 503
  with Retry-After, the worker a retryable activity failure. The slot gets a fresh process on
  its next use; a process found dead while idle is replaced without failing anyone.
- No orphans: a child exits when its pipe closes, which also happens when the parent is
  killed outright; `close()` (run at exit for the default pool) stops the children first.

`default_pool()` is the process-wide pool that `rules.evaluator_for` uses.

Both ends of the pipe live here, the parent's (`EvaluatorPool`) and the child's (`serve`, the
only place durable-rules runs in Lotse's services), with the protocol between them, one
request at a time:

    first    Ready (child to parent, once, when the child has started)
    request  Match(version, catalog or None, batches, fault)
    answer   Matched(matches, retire) | EngineFailed(message)

A child's start (the fork, and re-running the parent's main module when the parent was started
as `python -m ...`) is waited for separately, up to `start_timeout`: under load a start can
take seconds, and that must not count against an evaluation's `timeout`.

`catalog` is sent the first time a process sees a catalog version (the parent remembers which
versions each process has compiled), so a request carries only the flat events. A child
retires by answering `retire=True` when it should not be reused: after durable-rules raised
(the engine may hold a half-finished session, see compiler.py) or once it has compiled many
catalogs (the engine cannot drop a ruleset). `fault` exists for tests only: it makes a child
really crash or hang, so tests can prove that the callers survive that.
"""

import atexit
import contextlib
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Literal

from rules.errors import EvaluatorCrashed, EvaluatorTimeout, RoutingEngineError, RulesUnavailable
from rules.schema import Catalog

# -- the child: one evaluator process -------------------------------------------------------

Event = Mapping[str, object]
Fault = Literal["segv", "abort", "exit", "hang", "refuse"]

# Rulesets a process registers before it retires (each stays in the engine for good).
MAX_CATALOGS = 32


@dataclass(frozen=True)
class Ready:
    pass


@dataclass(frozen=True)
class Match:
    version: str
    catalog: Catalog | None  # None when this process has compiled `version` already
    batches: Sequence[Sequence[Event]]
    fault: Fault | None = None


@dataclass(frozen=True)
class Matched:
    matches: list[list[int | None]]
    retire: bool


@dataclass(frozen=True)
class EngineFailed:
    message: str


def _crash(fault: Fault) -> None:
    """A real fault of this process (tests only), as the C engine would produce it; "refuse"
    is the engine refusing the batch instead."""
    if fault == "refuse":
        raise RoutingEngineError("durable-rules rejected the batch (injected by a test)")
    if fault == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif fault == "abort":
        os.abort()
    elif fault == "exit":
        os._exit(70)
    time.sleep(3600)  # "hang": the parent's timeout must kill us


def serve(conn: Connection) -> None:
    """The loop of one evaluator process: answer requests until the pipe closes."""
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when we stop
    # (it closes the pipe), so a `lotse up` interrupted by the user stops without tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from rules import compiler  # loads the C engine in this process only

    compiled: dict[str, compiler.CompiledRuleset] = {}
    try:
        conn.send(Ready())
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        assert isinstance(request, Match)
        try:
            if request.fault is not None:
                _crash(request.fault)
            ruleset = compiled.get(request.version)
            if ruleset is None:
                if request.catalog is None:
                    raise RoutingEngineError(f"catalog {request.version[:12]} was never sent")
                ruleset = compiler.compile_catalog(request.catalog)
                compiled[request.version] = ruleset
            matches = [ruleset.match(events) for events in request.batches]
        except RoutingEngineError as error:
            conn.send(EngineFailed(str(error)))
            return  # retire: the engine may hold a half-finished session
        except Exception as error:
            # Anything else is a bug here or in the engine's Python layer. Only the type is
            # passed on: a message could quote the facts of the batch.
            conn.send(EngineFailed(f"evaluation failed ({type(error).__name__})"))
            return
        conn.send(Matched(matches=matches, retire=len(compiled) >= MAX_CATALOGS))


# -- the parent: the pool -------------------------------------------------------------------

DEFAULT_PROCESSES = 2
# Routing takes milliseconds; these only bound a hung or overloaded evaluator. Together well
# below the 10 s attempt of the worker's interactive activities (activities/case.py), so a
# hung engine fails the attempt with a retryable error instead of timing out the attempt.
DEFAULT_TIMEOUT = 5.0  # for one evaluation
DEFAULT_WAIT = 3.0  # for a free process when all are busy
# For a new process to start: a fork, milliseconds when idle, seconds on a loaded machine.
DEFAULT_START_TIMEOUT = 30.0
# Modules the forkserver imports once, so each child starts with them loaded. "__main__" too:
# otherwise every child would import the main script (e.g. the `lotse` entry point) again.
_PRELOAD = ["__main__", "rules.pool", "rules.compiler"]


def _preload() -> list[str]:
    """The forkserver's preload, with the main module by name when Python was started as
    `python -m NAME`: every child re-runs that module (multiprocessing does, to rebuild
    `__main__`), and with its imports preloaded that costs a module body, not an interpreter's
    worth of imports. (A script's `__main__` is preloaded by path through "__main__".)"""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if isinstance(name, str) and name != "__main__" and not name.endswith(".__main__"):
        return [*_PRELOAD, name]
    return list(_PRELOAD)


def _context() -> BaseContext:
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(_preload())
    return context


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class _Evaluator:
    """One child process and the parent's end of its pipe."""

    def __init__(self, context: BaseContext, start_timeout: float) -> None:
        parent_end, child_end = context.Pipe(duplex=True)
        process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=serve, args=(child_end,), name="lotse-rules", daemon=True
        )
        try:
            process.start()
        finally:
            child_end.close()  # the child holds its own copy; ours would hide its death
        assert process.pid is not None
        self.pid: int = process.pid
        self.process = process
        self.conn: Connection = parent_end
        self.versions: set[str] = set()
        self.stopped = False
        # One poll object per pipe: cheaper than Connection.poll, which builds a selector on
        # every call (this is on the path of every evaluation).
        self._poller = select.poll()
        self._poller.register(parent_end.fileno(), select.POLLIN)
        self._await_ready(start_timeout)

    def _await_ready(self, timeout: float) -> None:
        """Wait for the child's Ready; a child that dies or hangs while starting is stopped."""
        try:
            ready = self.readable(timeout) and isinstance(self.conn.recv(), Ready)
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.stop(kill=True)
            raise RulesUnavailable(
                f"evaluator process {self.pid} did not start within {timeout:g} s"
            )

    def readable(self, timeout: float) -> bool:
        """Whether the child answered (or died: EOF is readable) within `timeout` seconds."""
        return bool(self._poller.poll(max(0, int(timeout * 1000))))

    def stop(self, *, kill: bool) -> None:
        """Close the pipe (the child exits on EOF); kill it when asked or when it lingers."""
        if self.stopped:
            return
        self.stopped = True
        self.conn.close()
        if kill and self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=2)
        self.process.close()


class EvaluatorPool:
    """N supervised evaluator processes; safe to share between threads."""

    def __init__(
        self,
        processes: int = DEFAULT_PROCESSES,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        wait: float = DEFAULT_WAIT,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        context: BaseContext | None = None,
    ) -> None:
        """`timeout`: seconds an evaluation may take; `wait`: seconds a caller may wait for a
        free process; `start_timeout`: seconds a new process may take to start."""
        if processes < 1:
            raise ValueError("an evaluator pool needs at least one process")
        self.processes = processes
        self.timeout = timeout
        self.wait = wait
        self.start_timeout = start_timeout
        self._context = context or _context()
        self._cond = threading.Condition()
        # Idle slots, most recently used last; None is a slot whose process is not running.
        self._idle: list[_Evaluator | None] = [None] * processes
        self._busy: set[_Evaluator] = set()
        self._closed = False
        self._fault: Fault | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start every process now (optional: `match` starts them on demand)."""
        with self._cond:
            self._check_open()
            missing = [i for i, slot in enumerate(self._idle) if slot is None]
        for _ in missing:
            evaluator = self._new_evaluator()
            with self._cond:
                if self._closed or None not in self._idle:
                    evaluator.stop(kill=False)
                    continue
                self._idle.remove(None)
                self._idle.insert(0, evaluator)
                self._cond.notify()

    def close(self) -> None:
        """Stop every process; evaluations still running fail with RulesUnavailable."""
        with self._cond:
            self._closed = True
            idle = [e for e in self._idle if e is not None]
            busy = list(self._busy)
            self._idle = []
            self._cond.notify_all()
        for evaluator in idle:
            evaluator.stop(kill=False)
        for evaluator in busy:
            # Its caller is blocked on the pipe: killing the child wakes it with EOF. (The
            # caller may have closed the process object meanwhile: then it is gone already.)
            with contextlib.suppress(ValueError):
                evaluator.process.kill()

    def pids(self) -> list[int]:
        """The ids of the evaluator processes running now (for tests and diagnostics); one
        that died while idle is left out (it is replaced on its next use)."""
        with self._cond:
            idle = [e for e in self._idle if e is not None and not e.readable(0)]
            return sorted(e.pid for e in idle + list(self._busy))

    def arm_fault(self, fault: Fault) -> None:
        """Tests only: the next evaluation's process really crashes (or hangs) while it has
        the request, as a fault in the C engine would make it."""
        with self._cond:
            self._fault = fault

    # -- evaluation ----------------------------------------------------------------------

    def match(self, catalog: Catalog, batches: Sequence[Sequence[Event]]) -> list[list[int | None]]:
        """For each batch (one evaluation's items), the catalog position of the rule that
        matched each event, or None. Raises RulesUnavailable or RoutingEngineError."""
        if not any(batches):
            return [[] for _ in batches]
        evaluator, fault = self._acquire()
        keep: _Evaluator | None = None
        try:
            keep, matches = self._call(evaluator, catalog, batches, fault)
            return matches
        finally:
            # Not kept (crashed, hung, retired, or an unexpected error here): never reused.
            if keep is None:
                evaluator.stop(kill=True)
            self._release(evaluator, keep)

    def _call(
        self,
        evaluator: _Evaluator,
        catalog: Catalog,
        batches: Sequence[Sequence[Event]],
        fault: Fault | None,
    ) -> tuple[_Evaluator | None, list[list[int | None]]]:
        """Send one request; the evaluator to keep (None: it is gone) and the matches."""
        known = catalog.version in evaluator.versions
        request = Match(catalog.version, None if known else catalog, batches, fault)
        try:
            evaluator.conn.send(request)
            answered = evaluator.readable(self.timeout)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            answered = True  # died before reading the request: reported as a crash below
        if not answered:
            evaluator.stop(kill=True)  # the only way to stop a hung engine
            raise EvaluatorTimeout(
                f"evaluator process {evaluator.pid} gave no answer in {self.timeout:g} s "
                "and was stopped"
            )
        try:
            reply = evaluator.conn.recv()
        except (EOFError, OSError):
            evaluator.process.join(timeout=2)
            detail = _describe_exit(evaluator.process.exitcode)
            evaluator.stop(kill=True)
            raise EvaluatorCrashed(
                f"evaluator process {evaluator.pid} died during an evaluation ({detail})"
            ) from None
        if isinstance(reply, EngineFailed):
            evaluator.stop(kill=False)
            raise RoutingEngineError(reply.message)
        assert isinstance(reply, Matched)
        evaluator.versions.add(catalog.version)
        if reply.retire:
            evaluator.stop(kill=False)
            return None, reply.matches
        return evaluator, reply.matches

    def _acquire(self) -> tuple[_Evaluator, Fault | None]:
        deadline = time.monotonic() + self.wait
        with self._cond:
            while not self._idle:
                self._check_open()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise EvaluatorTimeout(
                        f"all {self.processes} evaluator processes stayed busy for {self.wait:g} s"
                    )
                self._cond.wait(remaining)
            self._check_open()
            slot = self._idle.pop()
            fault, self._fault = self._fault, None
            if slot is not None:
                self._busy.add(slot)
        # An idle child has nothing to say: a readable pipe means it died (EOF) while idle
        # (killed from outside, out of memory). Nobody's evaluation was lost, so it is
        # replaced quietly.
        if slot is not None and not slot.readable(0):
            return slot, fault
        if slot is not None:
            with self._cond:
                self._busy.discard(slot)
            slot.stop(kill=True)
        try:
            evaluator = self._new_evaluator()
        except BaseException:
            self._release(None, None)
            raise
        with self._cond:
            self._busy.add(evaluator)
        return evaluator, fault

    def _release(self, used: _Evaluator | None, keep: _Evaluator | None) -> None:
        with self._cond:
            if used is not None:
                self._busy.discard(used)
            if self._closed:
                if keep is not None:
                    keep.stop(kill=False)
                return
            self._idle.append(keep)
            self._cond.notify()

    def _new_evaluator(self) -> _Evaluator:
        try:
            return _Evaluator(self._context, self.start_timeout)
        except OSError as error:
            raise RulesUnavailable(
                f"could not start an evaluator process ({type(error).__name__})"
            ) from error

    def _check_open(self) -> None:
        if self._closed:
            raise RulesUnavailable("the evaluator pool is closed")


_DEFAULT: EvaluatorPool | None = None
_DEFAULT_LOCK = threading.Lock()


def default_pool() -> EvaluatorPool:
    """The process-wide pool (created on first use, stopped at exit)."""
    global _DEFAULT
    pool = _DEFAULT
    if pool is None:
        with _DEFAULT_LOCK:
            pool = _DEFAULT
            if pool is None:
                pool = _DEFAULT = EvaluatorPool(min(DEFAULT_PROCESSES, os.cpu_count() or 1))
                atexit.register(pool.close)
    return pool


def _forget_default_pool() -> None:
    # A forked copy of this process must not share the parent's pipes: it starts its own pool.
    global _DEFAULT
    _DEFAULT = None


os.register_at_fork(after_in_child=_forget_default_pool)


def start_rules_evaluators() -> None:
    """Start the process-wide pool's evaluators ahead of the first evaluation (a service calls
    this when it starts). Failing is not fatal: `match` tries again on demand."""
    try:
        default_pool().start()
    except (RulesUnavailable, OSError) as error:
        logging.getLogger(__name__).warning(
            "Rules evaluators not started yet (%s); starting on first use",
            type(error).__name__,
        )
