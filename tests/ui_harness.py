"""Lotse's web pages as the UI tests drive them: the system of `tests.api_harness` (real
Temporal, real workflows and activities, a seeded SQLite store), a browser-like HTTP client per
demo user that logs in through the login form and sends each form's CSRF token, and the app
served by uvicorn on 127.0.0.1 for Playwright.

The browser tests' common pieces live here too: where Debian's Chromium is and how it is
started, and `Watched`, a Playwright page whose requests and console messages are collected
(every request to this origin, no CSP violation, every input labelled).

Used by the tests of tests/ui/; not a test module itself.
"""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from api.ui.flash import COOKIE as REFUSED_FORM
from store.seed import DEMO_PASSWORD
from tests.api_harness import Lotse
from tests.process_harness import free_port

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')

CHROMIUM = Path("/usr/bin/chromium")
# The machine's closed network refuses Chromium's background connections; without these
# flags it would keep trying.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"

# Every input, select and textarea a person fills needs a label with text (or an aria name).
UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
  .filter(el => {
    const labelled = Array.from(el.labels || []).some(l => l.textContent.trim().length > 0);
    return !labelled && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby');
  })
  .map(el => el.name || el.id || el.outerHTML)"""


@asynccontextmanager
async def launched_chromium() -> AsyncIterator[Any]:
    """Debian's Chromium under Playwright with `CHROMIUM_ARGS`, closed afterwards: the browser
    of every browser test's module-scoped `browser` fixture. Playwright is imported here, not
    at the top, so modules without browser tests import this harness without it."""
    from playwright import async_api

    async with async_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


def app_of(lotse: Lotse) -> FastAPI:
    app: FastAPI = lotse.http._transport.app  # type: ignore[attr-defined]
    return app


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "page without a CSRF token"
    return found.group(1)


async def refused_shown(
    http: httpx.AsyncClient, answer: httpx.Response, **kwargs: Any
) -> httpx.Response:
    """A refused form answers 303 with the refused form's cookie (api/ui/flash.py): the page
    it leads to, as a browser shows it (its status says the refusal; the 303 is in `history`).
    Any other answer as it came. `kwargs` go with the GET (headers of the client's address)."""
    if answer.status_code != 303 or REFUSED_FORM not in answer.headers.get("set-cookie", ""):
        return answer
    shown = await http.get(answer.headers["location"], **kwargs)
    shown.history = [answer]
    return shown


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
        return await self.refused_shown(
            await self.http.post(
                "/login",
                data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
            )
        )

    async def refused_shown(self, answer: httpx.Response) -> httpx.Response:
        return await refused_shown(self.http, answer)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def submit(self, page_path: str, action: str, data: dict[str, Any]) -> httpx.Response:
        """Post `data` to `action` with the CSRF token of the page at `page_path`."""
        page = await self.http.get(page_path)
        assert page.status_code == 200, page.text
        answer = await self.http.post(action, data={**data, "csrf_token": csrf_of(page.text)})
        return await self.refused_shown(answer)

    async def aclose(self) -> None:
        await self.http.aclose()


@asynccontextmanager
async def served(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """The app on http://127.0.0.1:<port> in this event loop, until the block ends (`port`:
    one known before the app was made, say for its redirect URI; a free one otherwise)."""
    port = port or free_port()
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


class Watched:
    """A logged-in page whose requests and console messages are collected."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.requests: list[str] = []
        self.violations: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        # A refused form answers 422, which the console reports too: only CSP refusals and
        # script errors count.
        page.on(
            "console",
            lambda message: (
                self.violations.append(message.text)
                if "Content Security Policy" in message.text or "Refused to" in message.text
                else None
            ),
        )
        page.on("pageerror", lambda error: self.violations.append(str(error)))

    async def check(self) -> None:
        """The page as it is now: labelled inputs, own origin only, no CSP violation."""
        unlabelled = await self.page.evaluate(UNLABELLED)
        assert unlabelled == [], f"{self.page.url}: inputs without a label: {unlabelled}"
        foreign = [url for url in self.requests if not url.startswith(self.base_url)]
        assert foreign == [], f"requests to other origins: {foreign}"
        assert self.violations == [], f"CSP violations or script errors: {self.violations}"

    async def fits_360(self) -> None:
        await self.page.set_viewport_size({"width": 360, "height": 740})
        width = await self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{self.page.url} is {width}px wide at 360px"
        await self.page.set_viewport_size({"width": 1100, "height": 800})

    async def shot(self, name: str, *, full_page: bool = True) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = str(SCREENSHOTS / f"{name}.png")
        await self.page.screenshot(path=path, full_page=full_page)
