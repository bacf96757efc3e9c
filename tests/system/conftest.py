"""Fixtures of the system tests: the worker processes a test starts, killed at its end whatever
happened (a failed test must not leave workers behind)."""

from collections.abc import Iterator

import pytest

from tests.worker_harness import WorkerProcess


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """The test appends every worker it starts; those still running at the end are killed."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()
