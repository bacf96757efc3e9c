"""The loop of one evaluator process: the only place durable-rules runs in Lotse's services.

pool.py starts this in a child process and talks to it over one pipe, one request at a time:

    request  Match(version, catalog or None, batches, fault)
    answer   Matched(matches, retire) | EngineFailed(message)

`catalog` is sent the first time this process sees a catalog version (the parent remembers
which versions each process has compiled), so a request carries only the flat events. The
process exits when the pipe closes (its parent stopped or died: no orphans) and retires by
answering `retire=True` when it should not be reused: after durable-rules raised (the engine
may hold a half-finished session, see compiler.py) or once it has compiled many catalogs (the
engine cannot drop a ruleset). `fault` exists for tests only: it makes this process really
crash or hang, so tests can prove that the callers survive that.
"""

import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Literal

from rules.errors import RoutingEngineError
from rules.schema import Catalog

Event = Mapping[str, object]
Fault = Literal["segv", "abort", "exit", "hang", "refuse"]

# Rulesets a process registers before it retires (each stays in the engine for good).
MAX_CATALOGS = 32


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
    """Answer requests until the pipe closes. Runs in the child process."""
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when we stop
    # (it closes the pipe), so a `lotse up` interrupted by the user stops without tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from rules import compiler  # loads the C engine in this process only

    compiled: dict[str, compiler.CompiledRuleset] = {}
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
