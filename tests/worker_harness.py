"""A real worker process (`python -m worker worker`, configured through `LOTSE_*` as in
production) that a test can kill, and what the worker-kill tests read back afterwards: the
referral executions of a case in visibility and its referrals in the read model.

Used by tests/system/test_worker_kill.py and tests/system/test_two_workers.py; not a test
module itself.
"""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from store.projections import ReferralSummary
from tests.referral_harness import eventually

REPO = Path(__file__).resolve().parents[1]

# An activity that was running on the killed worker is retried after its start-to-close
# timeout (30 s for the case's background activities), and the case waits for it.
CASE_RECOVERY = 60.0


class WorkerProcess:
    """`python -m worker worker` against the test's dev server and task queue."""

    def __init__(self, target: str, task_queue: str, data_dir: Path) -> None:
        env = {
            **os.environ,
            "LOTSE_TEMPORAL_ADDRESS": target,
            "LOTSE_TASK_QUEUE": task_queue,
            "LOTSE_DATA_DIR": str(data_dir),
            "LOTSE_LOG_LEVEL": "WARNING",
            "LOTSE_WORKER_SHUTDOWN_GRACE": "PT5S",
            # A crashed worker's workflows move on after 2 s instead of 10 s.
            "LOTSE_WORKER_STICKY_TIMEOUT": "PT2S",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker", "worker", "--concurrency", "20"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout: float = 20) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def output(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.read().decode(errors="replace")


async def child_executions(client: Client, case_id: str, expected: list[str]) -> list[str]:
    """The workflow id of every referral execution of a case, a repeated start twice (once
    they are `expected`: visibility lags behind)."""

    async def listed() -> list[str]:
        query = f"WorkflowId STARTS_WITH '{case_id}-ref-'"
        return sorted([execution.id async for execution in client.list_workflows(query)])

    return await eventually(listed, lambda ids: ids == expected, timeout=CASE_RECOVERY)


async def projected_referrals(engine: Engine, case_id: str, expected: list[str]) -> list[str]:
    """The referral ids the read model holds for a case (once they are `expected`: the
    projection follows the case)."""

    def read() -> list[str]:
        with Session(engine) as session:
            query = select(ReferralSummary.id).where(ReferralSummary.case_id == case_id)
            return sorted(session.exec(query))

    return await eventually(
        lambda: asyncio.to_thread(read), lambda rows: rows == expected, timeout=CASE_RECOVERY
    )
