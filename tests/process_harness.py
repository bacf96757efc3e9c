"""Lotse as a user runs it: the README's run command as a child process with its own process
group, free ports of its own and a clean environment (no `LOTSE_*` of the developer's shell),
and an HTTP client that logs in as the demo users. Also what every test that starts a
server or a process needs: a free port, and whether a process is gone.

Used by the system tests (tests/system/) and wherever a test serves on a port; not a test
module itself.
"""

import asyncio
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

DEMO_PASSWORD = "demo"  # what `lotse up` prints and the README says, on purpose not imported


REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (tests never hard-code ports)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def gone(pid: int) -> bool:
    """Whether the process has exited (a zombie that only waits for its parent counts)."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def readme_run_command() -> list[str]:
    """The last part of the README's first command (after the install): `.venv/bin/lotse up`,
    its program resolved in this checkout, or beside the running Python when the venv is
    elsewhere."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_command = readme.split("```bash\n", 1)[1].splitlines()[0]
    program, *args = shlex.split(first_command.split("&&")[-1])
    for candidate in (REPO / program, Path(sys.executable).with_name(Path(program).name)):
        if candidate.is_file():
            return [str(candidate), *args]
    found = shutil.which(Path(program).name)
    if found is None:
        raise RuntimeError(f"{program} not found: pip install -e . first")
    return [found, *args]


def user_environment(**settings: str) -> dict[str, str]:
    """The test process's environment without any `LOTSE_*` variable, plus `settings`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("LOTSE_")}
    env.update(settings)
    return env


class LotseProcess:
    """One command (`command`: the program and its arguments), stdout and stderr in files in
    `cwd` (a pipe nobody reads would fill up and block it)."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path, name: str) -> None:
        self.stdout_path = cwd / f"{name}.out"
        self.stderr_path = cwd / f"{name}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group, like a terminal's job
            )
        self.started_at = time.monotonic()
        self.descendants: list[psutil.Process] = []

    @property
    def pid(self) -> int:
        return self.process.pid

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def output(self) -> str:
        """Both streams, for assertion messages."""
        return f"--- stdout\n{self.stdout()}--- stderr\n{self.stderr()}"

    def record_descendants(self) -> list[psutil.Process]:
        """Every process started below this one (the dev server), remembered for `cleanup`."""
        self.descendants = psutil.Process(self.pid).children(recursive=True)
        return self.descendants

    async def wait(self, timeout: float) -> int:
        """The exit code, or AssertionError when it has not exited within `timeout`."""
        try:
            return await asyncio.to_thread(self.process.wait, timeout)
        except subprocess.TimeoutExpired as err:
            raise AssertionError(f"still running after {timeout} s\n{self.output()}") from err

    async def terminate(self, timeout: float = 30) -> int:
        """SIGTERM (as an init system or `kill` sends it), then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return await self.wait(timeout)

    def cleanup(self) -> None:
        """After a failed test: kill the process group and every recorded descendant."""
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(10)
        for child in self.descendants:
            if not gone(child.pid):
                child.kill()


async def wait_healthy(base_url: str, process: LotseProcess, timeout: float) -> float:
    """Poll `GET /healthz` until 200; the seconds since the process started."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        while True:
            if process.process.poll() is not None:
                raise AssertionError(
                    f"exited with {process.process.returncode} before healthy\n{process.output()}"
                )
            elapsed = time.monotonic() - process.started_at
            if elapsed > timeout:
                raise AssertionError(f"not healthy after {timeout} s\n{process.output()}")
            try:
                response = await http.get("/healthz")
                if response.status_code == 200:
                    return time.monotonic() - process.started_at
            except httpx.TransportError:
                pass  # not listening yet
            await asyncio.sleep(0.25)


def processes_mentioning(text: str) -> list[psutil.Process]:
    """Live processes whose command line contains `text` (e.g. a data dir): catches a server
    that escaped its parent's bookkeeping."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(text in part for part in cmdline) and not gone(process.pid):
            found.append(process)
    return found


class ApiUser:
    """Calls to one API as the demo users, each logged in once through `POST /auth/token`."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.tokens: dict[str, str] = {}

    async def token(self, username: str) -> str:
        if username not in self.tokens:
            response = await self.http.post(
                "/auth/token", data={"username": username, "password": DEMO_PASSWORD}
            )
            assert response.status_code == 200, response.text
            assert response.json()["token_type"] == "bearer"
            self.tokens[username] = response.json()["access_token"]
        return self.tokens[username]

    async def call(self, username: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token(username)}"}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def ok(self, username: str, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a successful call (anything else fails the test, with the body)."""
        response = await self.call(username, method, path, **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


__all__ = [
    "ApiUser",
    "LotseProcess",
    "free_port",
    "gone",
    "processes_mentioning",
    "readme_run_command",
    "user_environment",
    "wait_healthy",
]
