"""/docs loads nothing from elsewhere (api/api_docs.py): the page names only paths of its own
origin, every one of them is served (Swagger UI's files from the fastapi-offline package), the
page and its assets carry the CSP of every web page, which names no other origin, and FastAPI's
CDN pages are gone. In Chromium: Swagger UI starts, a counsellor authorizes and calls
`GET /me`, and the browser asks no other origin and reports no CSP violation."""

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.main import create_app
from api.ui.web import CONTENT_SECURITY_POLICY
from store.seed import DEMO_PASSWORD, seed_demo
from store.testing import sqlite_store
from tests.api_harness import settings_for
from tests.ui_harness import served

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    # /docs and /auth/token never reach Temporal: an address nobody listens on is fine.
    with sqlite_store(tmp_path) as engine:
        seed_demo(engine, environment="development")
        yield create_app(settings_for(tmp_path, "docs", "127.0.0.1:1"), engine=engine)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lotse.test") as client:
        yield client


def test_the_csp_names_no_other_origin() -> None:
    for directive in CONTENT_SECURITY_POLICY.split(";"):
        _, *sources = directive.split()
        assert sources and set(sources) <= {"'self'", "'none'"}, directive


async def test_the_docs_page_and_its_assets_come_from_this_origin(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline
    references = re.findall(r'(?:src|href|data-openapi-url)="([^"]*)"', page.text)
    assert len(references) == 6, references
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        served_asset = await http.get(reference)
        assert served_asset.status_code == 200, reference
        if reference != "/openapi.json":  # data, not a document a browser would run
            assert served_asset.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    bundle = await http.get("/docs-assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text and "javascript" in bundle.headers["content-type"]
    # FastAPI's own pages, which load from a CDN, are not there.
    assert (await http.get("/redoc")).status_code == 404
    assert (await http.get("/docs/oauth2-redirect")).status_code == 404


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed")
async def test_swagger_ui_works_in_a_browser_without_other_origins(app: FastAPI) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    async with served(app) as base_url, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page(base_url=base_url)
            page.set_default_timeout(15_000)
            requests: list[str] = []
            complaints: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: _complaint(message, complaints))
            page.on("pageerror", lambda error: complaints.append(str(error)))

            await page.goto("/docs")
            await page.get_by_role("button", name="Authorize").click()
            await page.locator("#oauth_username").fill("berater1")
            await page.locator("#oauth_password").fill(DEMO_PASSWORD)
            await page.locator(".auth-btn-wrapper button.authorize").click()
            await page.locator(".auth-btn-wrapper button.btn-done").click()
            me = page.locator(".opblock-get").filter(has=page.locator('[data-path="/me"]'))
            await me.locator(".opblock-summary").click()
            await me.get_by_role("button", name="Try it out").click()
            await me.get_by_role("button", name="Execute").click()
            status = me.locator(".live-responses-table tbody .response-col_status").first
            await playwright_api.expect(status).to_have_text("200")
        finally:
            await browser.close()
    assert f"{base_url}/auth/token" in requests and f"{base_url}/me" in requests
    assert [url for url in requests if not url.startswith(base_url)] == []
    assert complaints == []


def _complaint(message: Any, complaints: list[str]) -> None:
    if message.type == "error" or "Content Security Policy" in message.text:
        complaints.append(message.text)
