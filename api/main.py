"""The API application: `create_app` wires settings, store, Temporal and the routers into one
FastAPI app; `serve` runs it with uvicorn (`lotse api`, `lotse up`).

The app holds no state of its own beyond connections: every answer comes from the store or
from Temporal, so any number of API processes can serve behind one port.

Wiring, for callers:
- `lotse api`: `serve(Settings())`: migrates the store (idempotent) and serves until SIGTERM.
- `lotse up`: the same `serve(settings)` beside the dev server and the worker (its own task in
  the same event loop), after `prepare_store`.
- tests and benchmarks: `create_app(settings, engine=..., client=..., keys=...)` with a
  migrated engine, a connected Temporal client and the key store the worker shares, driven
  through httpx's ASGITransport.

The data keys (app/payload_codec.py) come from the store, wrapped by the master key
(`keys_of`): the gateway's client encrypts with them, and the codec server (routes/codec.py)
decodes with them.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, HTTPException
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from api import access_log, api_docs, errors, ui
from api.deps import Services
from api.evaluation_refresh import keep_counting
from api.gateway import Gateway
from api.login_throttle import LoginThrottle
from api.metrics import ApiMetrics, MetricsMiddleware
from api.routes import (
    admin,
    admin_directory,
    admin_oidc,
    admin_users,
    auth,
    cases,
    codec,
    data_protection,
    health,
    inbound_referrals,
    notifications,
    referrals,
    reports,
    rule_sets,
    rules,
    supervision,
)
from api.security import issuer_from_settings
from api.ui import oidc_pages
from app.master_key import master_key
from app.payload_codec import CachedKeyStore
from app.settings import Settings
from rules.municipal import MunicipalEvaluators
from rules.pool import start_rules_evaluators
from store.db import make_engine, make_session_factory, upgrade
from store.keys import SqlKeyStore
from store.rule_sets import SqlRuleSets

TITLE = "Lotse"
DESCRIPTION = "Integrationsvereinbarungen als langlebige Prozesse: Fälle, Vermittlungen, Aufsicht."


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    client: Client | None = None,
    keys: CachedKeyStore | None = None,
) -> FastAPI:
    """The API for `settings`. Without `engine`, the store at `settings.database_url` (or the
    data dir's SQLite file) is used, and disposed of on shutdown; without `client`, Temporal is
    connected on first use, so the API comes up (and says 503) while Temporal is down. Without
    `keys`, the data keys of the store (`keys_of`)."""
    owns_engine = engine is None
    store = engine if engine is not None else make_engine(settings.database_url, settings.data_dir)
    metrics = ApiMetrics(store)
    keys = keys if keys is not None else keys_of(settings, store)
    services = Services(
        settings=settings,
        engine=store,
        sessions=make_session_factory(store),
        gateway=Gateway(settings, keys, client),
        keys=keys,
        tokens=issuer_from_settings(settings),
        metrics=metrics,
        logins=LoginThrottle(settings.login_concurrency),
        rules=MunicipalEvaluators(SqlRuleSets(store)),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The rules' evaluator processes start now, not with the first dry run (~0.5 s).
        await asyncio.to_thread(start_rules_evaluators)
        stop = asyncio.Event()
        counting = (
            asyncio.create_task(keep_counting(store, settings.evaluation_refresh_seconds, stop))
            if settings.evaluation_refresh_seconds
            else None
        )
        yield
        stop.set()
        if counting is not None:
            await counting
        if owns_engine:
            store.dispose()

    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's pages would load Swagger UI and ReDoc from a CDN: api/api_docs.py instead.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    errors.install(app)
    for area in (
        auth,
        cases,
        referrals,
        inbound_referrals,
        supervision,
        reports,
        rules,
        rule_sets,
        admin,
        admin_oidc,
        admin_directory,
        admin_users,
        data_protection,
        notifications,
        health,
    ):
        app.include_router(area.router)
    app.include_router(codec.router)
    # The web pages on / (session login, CSRF, HTML): api/ui/.
    ui.install(app)
    # Sign-in with the municipality's identity provider, when configured (api/oidc.py).
    oidc_pages.install(app)
    api_docs.install(app)
    # Outermost first: metrics see every answer, the size limit refuses before any parsing.
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    codec.allow_temporal_ui(app, settings)
    return app


def keys_of(settings: Settings, engine: Engine) -> CachedKeyStore:
    """The data keys in `engine`'s store, unwrapped with the master key of `settings`."""
    return CachedKeyStore(SqlKeyStore(engine, master_key(settings)))


class BodySizeLimit:
    """413 for a request body above `max_bytes`: by its Content-Length before anything is
    read, and by counting for a body sent without one (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _refuse(send, 400, "Ungültiger Content-Length-Header.")
                    return
                if declared > self.max_bytes:
                    await _refuse(send, 413, self._too_large())
                    return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI lets an HTTPException from reading the body through to the
                    # exception handlers (errors.py), which answer it as JSON.
                    raise HTTPException(413, detail=self._too_large())
            return message

        await self.app(scope, counting_receive, send)

    def _too_large(self) -> str:
        return f"Die Anfrage ist zu groß: höchstens {self.max_bytes // 1024} KiB."


async def _refuse(send: Send, status_code: int, detail: str) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The unread body makes the connection unusable for a next request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Migrate the store and serve the API on `settings.api_host:api_port` until SIGTERM/SIGINT
    (or until `stop` is set, when running beside other tasks as in `lotse up`)."""
    engine = make_engine(settings.database_url, settings.data_dir)
    await asyncio.to_thread(upgrade, engine)
    app = create_app(settings, engine=engine)
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        # Paths without their query strings: a search for a client's name stays out of logs.
        log_config=access_log.log_config(),
        # The client's address (the login throttle counts by it) comes from X-Forwarded-For
        # only when the peer is one of the proxies named in LOTSE_TRUSTED_PROXIES.
        proxy_headers=True,
        forwarded_allow_ips=[str(network) for network in settings.trusted_proxies],
    )
    server = uvicorn.Server(config) if stop is None else _QuietServer(config)
    try:
        if stop is None:
            await server.serve()
        else:
            running = asyncio.create_task(server.serve())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            server.should_exit = True
            stopping.cancel()
            await running
    finally:
        engine.dispose()


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its caller: inside `lotse up` one
    handler stops dev server, worker and API together, and uvicorn's own handlers would
    replace it (and re-raise the signal after shutdown)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield
