"""The dev server of `lotse dev-server` / `lotse up` and `lotse up` itself, as processes: the
search attributes are registered, state survives a restart, a taken port is reported, Ctrl-C
stops everything and not even a killed `lotse up` leaves a server behind."""

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import psutil
import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus

from app.settings import Settings
from tests.key_harness import session_converter
from tests.process_harness import free_port, gone
from worker.devserver import SEARCH_ATTRIBUTES, DevServer, DevServerError

REPO = Path(__file__).resolve().parents[2]


def settings_for(data_dir: Path, ui: bool = False) -> Settings:
    return Settings(
        data_dir=data_dir,
        dev_server_port=free_port(),
        dev_server_ui_port=free_port() if ui else 0,
    )


async def test_dev_server_registers_search_attributes_and_keeps_state_across_restart(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, ui=True)
    server = DevServer(settings)
    async with server:
        assert server.ui_url == f"http://127.0.0.1:{settings.dev_server_ui_port}"
        client = await Client.connect(server.target, data_converter=session_converter())
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        for attribute in SEARCH_ATTRIBUTES:
            name, kind = attribute.split("=")
            expected = IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
            assert response.custom_attributes[name] == expected
        # No worker: the workflow just waits, in the SQLite file.
        await client.start_workflow("NobodyRunsThis", id="survives-restart", task_queue="none")
        pid = server.pid
        assert pid is not None
    assert gone(pid)
    assert (tmp_path / "temporal.sqlite").is_file()

    async with DevServer(settings) as server:
        client = await Client.connect(server.target)
        description = await client.get_workflow_handle("survives-restart").describe()
        assert description.status is WorkflowExecutionStatus.RUNNING


async def test_dev_server_reports_a_taken_port(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", settings.dev_server_port))
        squatter.listen()
        with pytest.raises(DevServerError, match=f"Port {settings.dev_server_port} .* belegt"):
            await DevServer(settings).start()


class Up:
    """`python -m worker up` with its own data dir and ports."""

    def __init__(self, process: asyncio.subprocess.Process, settings: Settings) -> None:
        self.process = process
        self.settings = settings
        self.lines: list[str] = []

    @classmethod
    async def start(cls, settings: Settings) -> "Up":
        env = {
            **os.environ,
            "LOTSE_DATA_DIR": str(settings.data_dir),
            "LOTSE_DEV_SERVER_PORT": str(settings.dev_server_port),
            "LOTSE_DEV_SERVER_UI_PORT": str(settings.dev_server_ui_port),
            "LOTSE_LOG_LEVEL": "WARNING",
        }
        env.pop("LOTSE_DATABASE_URL", None)
        env.pop("LOTSE_ENV", None)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "worker",
            "up",
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(process, settings)

    async def wait_for(self, text: str, timeout: float = 60) -> None:
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while not any(text in line for line in self.lines):
                line = await self.process.stdout.readline()
                if not line:
                    raise AssertionError(f"`lotse up` ended:\n{''.join(self.lines)}")
                self.lines.append(line.decode(errors="replace"))

    def children(self) -> list[int]:
        return [child.pid for child in psutil.Process(self.process.pid).children(recursive=True)]


async def test_lotse_up_runs_everything_and_ctrl_c_stops_it_all(tmp_path: Path) -> None:
    up_settings = settings_for(tmp_path)
    up = await Up.start(up_settings)
    try:
        await up.wait_for("Lotse läuft")
        assert any("Demodaten angelegt" in line for line in up.lines)
        assert any(f"127.0.0.1:{up_settings.dev_server_port}" in line for line in up.lines)
        server_pids = up.children()
        assert server_pids, "no dev server process"
        client = await Client.connect(f"127.0.0.1:{up_settings.dev_server_port}")
        await client.start_workflow("NobodyRunsThis", id="kept", task_queue="none")

        up.process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(up.process.wait(), 30) == 0, "".join(up.lines)
        assert all(gone(pid) for pid in server_pids)
    finally:
        if up.process.returncode is None:
            up.process.kill()

    # A second start finds the store seeded and the workflow still there.
    again = await Up.start(up_settings)
    try:
        await again.wait_for("Lotse läuft")
        assert not any("Demodaten angelegt" in line for line in again.lines)
        client = await Client.connect(f"127.0.0.1:{up_settings.dev_server_port}")
        description = await client.get_workflow_handle("kept").describe()
        assert description.status is WorkflowExecutionStatus.RUNNING

        server_pids = again.children()
        # Even SIGKILL, which Lotse cannot handle, takes the dev server down with it.
        again.process.kill()
        await again.process.wait()
        for pid in server_pids:
            await _wait_until_gone(pid)
    finally:
        if again.process.returncode is None:
            again.process.kill()


async def _wait_until_gone(pid: int, timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not gone(pid):
            await asyncio.sleep(0.1)
