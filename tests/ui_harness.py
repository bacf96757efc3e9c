"""Lotse's web pages as the UI tests drive them: the system of `tests.api_harness` (real
Temporal, real workflows and activities, a seeded SQLite store), a browser-like HTTP client per
demo user that logs in through the login form and sends each form's CSRF token, and the app
served by uvicorn on 127.0.0.1 for Playwright.

Used by the tests of tests/ui/; not a test module itself.
"""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from store.seed import DEMO_PASSWORD
from tests.api_harness import Lotse
from tests.process_harness import free_port

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def app_of(lotse: Lotse) -> FastAPI:
    app: FastAPI = lotse.http._transport.app  # type: ignore[attr-defined]
    return app


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "page without a CSRF token"
    return found.group(1)


class Browser:
    """An httpx client with a cookie jar, like a browser without script, against the app of a
    running system (or an app of its own: pages that read only the store need no Temporal)."""

    def __init__(self, lotse: Lotse | FastAPI) -> None:
        app = lotse if isinstance(lotse, FastAPI) else app_of(lotse)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://lotse.test"
        )

    async def login(self, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
        page = await self.http.get("/login")
        return await self.http.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        )

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def submit(self, page_path: str, action: str, data: dict[str, Any]) -> httpx.Response:
        """Post `data` to `action` with the CSRF token of the page at `page_path`."""
        page = await self.http.get(page_path)
        assert page.status_code == 200, page.text
        return await self.http.post(action, data={**data, "csrf_token": csrf_of(page.text)})

    async def aclose(self) -> None:
        await self.http.aclose()


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app on http://127.0.0.1:<port> in this event loop, until the block ends."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
