"""Failed logins are throttled (api/login_throttle.py), on `POST /auth/token` and on the web
form alike: past the limit every attempt is 429 with the wait, the right password included;
other accounts and a successful login before the limit are not affected. A burst of parallel
guesses is counted as it arrives, and password checks beyond the bound on concurrent ones are
answered 503 at once. (Addresses behind a proxy: test_login_addresses.py.)"""

import asyncio
import html
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from api.login_throttle import BUSY, PER_ACCOUNT_AND_ADDRESS, LoginThrottle
from api.main import create_app
from store import users
from store.seed import DEMO_PASSWORD, seed_demo
from store.testing import BACKENDS, migrated_store, sqlite_store
from store.users import verify_password
from tests.api_harness import settings_for
from tests.ui_harness import csrf_of, refused_shown

LIMIT = PER_ACCOUNT_AND_ADDRESS.amount
CHECK_SECONDS = 0.5


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(tmp_path) as client:
        yield client


@asynccontextmanager
async def _client(tmp_path: Path, concurrency: int = 4) -> AsyncIterator[httpx.AsyncClient]:
    # Logins never reach Temporal: an address nobody listens on is fine.
    settings = settings_for(tmp_path, "throttle", "127.0.0.1:1").model_copy(
        update={"login_concurrency": concurrency}
    )
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
        # Post/Redirect/Get: a refused login is shown by the login page it leads to.
        return await refused_shown(http, await http.post("/login", data=data))

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


async def _timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await request
    return response, time.perf_counter() - started


async def test_a_burst_of_wrong_passwords_is_counted_before_any_is_checked(
    tmp_path: Path,
) -> None:
    # Room for every check at once: what stops the burst is the count, not the bound.
    async with _client(tmp_path, concurrency=32) as http:
        burst = [token(http, "berater1", f"falsch-{n}") for n in range(LIMIT + 5)]
        answers = await asyncio.gather(*burst)
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [401] * LIMIT + [429] * 5
        for refused in (a for a in answers if a.status_code == 429):
            assert int(refused.headers["retry-after"]) > 0
            assert "Zu viele fehlgeschlagene Anmeldungen" in refused.json()["detail"]
        # The account is closed to this address now, the right password included.
        assert (await token(http, "berater1", DEMO_PASSWORD)).status_code == 429
        assert (await token(http, "berater2", DEMO_PASSWORD)).status_code == 200


async def test_logins_beyond_the_bound_are_answered_503_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[bool] = []

    def counted(password_hash: str, password: str) -> bool:
        # A check as slow as production's argon2 (the test process hashes cheaply), so that
        # "answered at once" is measured against a check that takes a known time.
        time.sleep(CHECK_SECONDS)
        checks.append(verify_password(password_hash, password))
        return checks[-1]

    monkeypatch.setattr(users, "verify_password", counted)
    async with _client(tmp_path, concurrency=2) as http:
        rush = [_timed(token(http, "berater1", DEMO_PASSWORD)) for _ in range(8)]
        answers = await asyncio.gather(*rush)
        admitted = [took for answer, took in answers if answer.status_code == 200]
        busy = [(answer, took) for answer, took in answers if answer.status_code == 503]
        assert len(admitted) + len(busy) == 8 and len(admitted) >= 2 and busy, answers
        # Refused without a check: one argon2 check for each admitted login, none for the rest.
        assert checks == [True] * len(admitted)
        for answer, took in busy:
            assert answer.headers["retry-after"] == "2"
            assert answer.json()["detail"] == BUSY
            # Not queued behind the checks either: answered before any check could finish.
            assert took < CHECK_SECONDS, (took, admitted)
        assert min(admitted) >= CHECK_SECONDS
        # A refusal for being busy is no failure: the account is not closed by it.
        for _ in range(3):
            assert (await token(http, "berater1", DEMO_PASSWORD)).status_code == 200


async def test_the_web_form_is_answered_503_when_too_many_log_in_at_once(
    tmp_path: Path,
) -> None:
    async with _client(tmp_path, concurrency=1) as http:
        page = await http.get("/login")
        data = {"username": "berater1", "password": DEMO_PASSWORD, "csrf_token": csrf_of(page.text)}
        answers = await asyncio.gather(*(http.post("/login", data=data) for _ in range(4)))
        statuses = [answer.status_code for answer in answers]
        assert 303 in statuses and 503 in statuses, statuses
        busy = next(answer for answer in answers if answer.status_code == 503)
        assert busy.headers["retry-after"] == "2"
        assert "sehr viele Personen gleichzeitig" in busy.text
        assert 'value="berater1"' in busy.text and f'value="{DEMO_PASSWORD}"' not in busy.text
        # Nothing stays taken: the next login goes through.
        page = await http.get("/login")
        data["csrf_token"] = csrf_of(page.text)
        assert (await http.post("/login", data=data)).status_code == 303


def test_two_ipv6_addresses_of_one_64_share_a_count() -> None:
    throttle = LoginThrottle()
    for n in range(LIMIT):
        throttle.failed("berater1", f"2001:db8:1:2::{n + 1:x}")
    assert throttle.retry_after("berater1", "2001:db8:1:2:ffff:ffff:ffff:ffff") is not None
    assert throttle.retry_after("berater1", "2001:db8:1:3::1") is None
    # An IPv4 address written as IPv6 (dual-stack sockets) is the same IPv4 client.
    for _ in range(LIMIT):
        throttle.failed("berater2", "203.0.113.7")
    assert throttle.retry_after("berater2", "::ffff:203.0.113.7") is not None


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_web_form_refuses_a_username_no_account_can_have(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # On PostgreSQL the account lookup itself would fail on a NUL: a 500 before.
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    settings = settings_for(tmp_path, "throttle", "127.0.0.1:1")
    with migrated_store(backend, tmp_path, url) as engine:  # type: ignore[arg-type]
        seed_demo(engine, environment="development")
        transport = httpx.ASGITransport(app=create_app(settings, engine=engine))
        async with httpx.AsyncClient(transport=transport, base_url="http://lotse.test") as http:
            page = await http.get("/login")
            form = {"password": DEMO_PASSWORD, "csrf_token": csrf_of(page.text)}
            for _ in range(LIMIT):  # as often as failures would close the account
                for username, words in (
                    ("berater1\x00", "Steuerzeichen (U+0000"),
                    ("berater1\u202e", "Schreibrichtung"),
                    ("b" * 300, "Zu lang"),
                ):
                    refused = await refused_shown(
                        http, await http.post("/login", data={**form, "username": username})
                    )
                    assert refused.status_code == 422, refused.text
                    shown = html.unescape(refused.text)
                    assert 'id="f-username-error"' in shown and words in shown
                    assert username not in shown
            # Nothing was counted: the account opens at once.
            accepted = await http.post("/login", data={**form, "username": "berater1"})
            assert accepted.status_code == 303
