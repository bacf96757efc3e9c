"""Failed logins are throttled (api/login_throttle.py), on `POST /auth/token` and on the web
form alike: past the limit every attempt is 429 with the wait, the right password included;
other accounts and a successful login before the limit are not affected."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.login_throttle import PER_ACCOUNT_AND_ADDRESS, LoginThrottle
from api.main import create_app
from store.seed import DEMO_PASSWORD, seed_demo
from store.testing import sqlite_store
from tests.api_harness import settings_for
from tests.ui_harness import csrf_of

LIMIT = PER_ACCOUNT_AND_ADDRESS.amount


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # Logins never reach Temporal: an address nobody listens on is fine.
    settings = settings_for(tmp_path, "throttle", "127.0.0.1:1")
    with sqlite_store(tmp_path) as engine:
        seed_demo(engine, environment="development")
        app = create_app(settings, engine=engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lotse.test") as client:
            yield client


async def token(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post("/auth/token", data={"username": username, "password": password})


async def test_the_api_refuses_logins_after_too_many_failures(http: httpx.AsyncClient) -> None:
    for _ in range(LIMIT):
        assert (await token(http, "berater1", "falsch")).status_code == 401
    refused = await token(http, "berater1", DEMO_PASSWORD)  # even the right password
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert "Zu viele fehlgeschlagene Anmeldungen" in refused.json()["detail"]
    # The username is matched as at login: another spelling is the same account.
    assert (await token(http, " Berater1 ", DEMO_PASSWORD)).status_code == 429
    # Another account from the same address is not locked out.
    assert (await token(http, "berater2", DEMO_PASSWORD)).status_code == 200


async def test_a_successful_login_clears_the_count(http: httpx.AsyncClient) -> None:
    for _ in range(LIMIT - 1):
        assert (await token(http, "berater1", "falsch")).status_code == 401
    assert (await token(http, "berater1", DEMO_PASSWORD)).status_code == 200
    for _ in range(LIMIT - 1):
        assert (await token(http, "berater1", "falsch")).status_code == 401
    assert (await token(http, "berater1", DEMO_PASSWORD)).status_code == 200


async def test_the_web_form_is_throttled_too(http: httpx.AsyncClient) -> None:
    async def form(password: str) -> httpx.Response:
        page = await http.get("/login")
        data = {"username": "berater1", "password": password, "csrf_token": csrf_of(page.text)}
        return await http.post("/login", data=data)

    for _ in range(LIMIT):
        assert (await form("falsch")).status_code == 401
    refused = await form(DEMO_PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "Zu viele fehlgeschlagene Anmeldungen" in refused.text
    # The form and the API count together: the token endpoint is closed as well.
    assert (await token(http, "berater1", DEMO_PASSWORD)).status_code == 429


def test_one_address_trying_many_accounts_is_stopped() -> None:
    throttle = LoginThrottle()
    for n in range(100):
        assert throttle.retry_after(f"konto{n}", "203.0.113.7") is None
        throttle.failed(f"konto{n}", "203.0.113.7")
    assert throttle.retry_after("noch-ein-konto", "203.0.113.7") is not None
    assert throttle.retry_after("noch-ein-konto", "198.51.100.1") is None
