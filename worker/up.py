"""`lotse up`: everything on one machine. The dev server (state under the data dir, so it
survives a restart), the store migrated and, on first start, seeded with the demo data, the
worker and the HTTP API; Ctrl-C or SIGTERM stops API and worker first, then the server.

On first start the demo cases (worker/demo.py) are played in the background once worker and
API run, so the server is ready as soon as without them; a start interrupted before they are
all played finishes them next time.
"""

import asyncio
import os
import signal
import socket
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from app.settings import Settings
from worker.devserver import DevServer, DevServerError
from worker.worker import ActivitiesFactory, run_worker

if TYPE_CHECKING:
    from worker.demo import DemoPlayed


def prepare_store(settings: Settings) -> bool:
    """Migrate the store to the newest schema and seed the demo data into an empty one; True
    when it seeded. Never called in production (`up` refuses to run there)."""
    # Imported here: `lotse worker` and `lotse dev-server` do not need SQLAlchemy loaded.
    from store.db import make_engine, upgrade
    from store.seed import seed_demo

    engine = make_engine(settings.database_url, settings.data_dir)
    try:
        upgrade(engine)
        return seed_demo(engine, environment=settings.env)
    finally:
        engine.dispose()


def check_can_start(settings: Settings) -> None:
    """Fail early, in one line, on what would otherwise break halfway through the start."""
    data_dir = settings.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DevServerError(
            f"Datenverzeichnis {data_dir} lässt sich nicht anlegen ({err.strerror}): "
            "--data-dir auf ein beschreibbares Verzeichnis setzen."
        ) from err
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise DevServerError(
            f"Datenverzeichnis {data_dir} ist nicht beschreibbar: "
            "--data-dir auf ein beschreibbares Verzeichnis setzen."
        )
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: with SO_REUSEADDR, connections of a previous run still in
        # TIME_WAIT on the port do not look like a running Lotse (uvicorn would bind anyway);
        # a socket listening on it still makes the bind fail.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.api_host, settings.api_port))
        except OSError as err:
            raise DevServerError(
                f"Port {settings.api_port} auf {settings.api_host} ist belegt: läuft Lotse "
                "schon? Sonst mit --port einen freien Port wählen."
            ) from err


async def up(
    settings: Settings,
    activities_factory: ActivitiesFactory | None,
    on_ready: Callable[[DevServer, bool], None],
    on_demo_cases: Callable[["DemoPlayed"], None] | None = None,
) -> None:
    """Run dev server, worker and API until SIGTERM/SIGINT; `on_ready(server, seeded)`
    announces the URLs once all run, `on_demo_cases` the demo cases once they are played."""
    from api.main import serve
    from worker import demo

    check_can_start(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # From the start, so a Ctrl-C while the server is still starting also ends cleanly.
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with DevServer(settings) as server:
        seeded = await asyncio.to_thread(prepare_store, settings)
        if seeded and settings.demo_cases:
            # Before anything else: a start stopped from here on finishes the cases next time.
            demo.mark_pending(settings.data_dir)
        if stop.is_set():
            return
        local = settings.model_copy(update={"temporal_address": server.target})
        parts = [
            asyncio.create_task(run_worker(local, activities_factory, stop=stop)),
            asyncio.create_task(serve(local, stop=stop)),
        ]
        on_ready(server, seeded)
        # Not one of the parts: demo cases that cannot be played are logged, never a reason
        # to stop Lotse; and a stop ends them at once (the next start goes on with them).
        demo_cases = asyncio.create_task(
            _unless_stopped(demo.play_pending(local, on_demo_cases), stop)
        )
        # One part failing (a port taken after all, a crash) stops the others too.
        done, _ = await asyncio.wait(parts, return_when=asyncio.FIRST_EXCEPTION)
        stop.set()
        await asyncio.gather(demo_cases, *parts, return_exceptions=True)
        for part in done:
            if part.exception() is not None:
                raise part.exception()  # type: ignore[misc]


async def _unless_stopped(work: Coroutine[Any, Any, object], stop: asyncio.Event) -> None:
    """Run `work` until it ends or `stop` is set, whichever comes first."""
    working = asyncio.create_task(work)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)
    for task in (working, stopping):
        task.cancel()
    await asyncio.gather(working, stopping, return_exceptions=True)
