"""Run a test's function in a fresh child process, so that a fault of the durable-rules C engine
(SIGSEGV, SIGABRT) fails that test instead of ending pytest. Not a test module itself.

`in_child(fn, *args)` returns what `fn(*args)` returned in the child (both must pickle; `fn`
must be a module-level function), re-raises its exception as an AssertionError carrying the
child's traceback, and raises `ChildDied` with the exit code or signal when the child died.
"""

import contextlib
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Iterator, Mapping
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

# A fresh interpreter: nothing of pytest's process (threads, loaded engine state) carries over.
_CONTEXT = multiprocessing.get_context("spawn")


class ChildDied(AssertionError):
    def __init__(self, exitcode: int | None) -> None:
        self.exitcode = exitcode
        if exitcode is not None and exitcode < 0:
            how = f"signal {signal.Signals(-exitcode).name}"
        else:
            how = f"exit code {exitcode}"
        super().__init__(f"the child process died ({how})")


@contextlib.contextmanager
def _environment(extra: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result: tuple[bool, Any] = (True, fn(*args))
    except BaseException:
        result = (False, traceback.format_exc())
    conn.send(result)
    conn.close()


def in_child(
    fn: Callable[..., T], *args: Any, timeout: float = 120, env: Mapping[str, str] | None = None
) -> T:
    """`env`: variables the child starts with besides the parent's (a spawned child takes the
    environment of the moment it starts, so they are set around the start only)."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(target=_run, args=(sender, fn, args), daemon=True)
    with _environment(env or {}):
        process.start()
    sender.close()  # the child's copy is the only writer: its death shows as EOF
    try:
        if not receiver.poll(timeout):
            process.kill()
            raise AssertionError(f"the child process gave no answer in {timeout:g} s")
        try:
            ok, value = receiver.recv()
        except EOFError:
            process.join(timeout=10)
            raise ChildDied(process.exitcode) from None
    finally:
        receiver.close()
        process.join(timeout=10)
    if not ok:
        raise AssertionError(f"in the child process:\n{value}")
    return value  # type: ignore[no-any-return]
