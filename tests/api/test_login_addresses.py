"""The address a failed login counts for, with the API served as `lotse api` serves it
(`api.main.serve`: uvicorn with the proxy settings of LOTSE_TRUSTED_PROXIES) on 127.0.0.1.

From a peer in LOTSE_TRUSTED_PROXIES (here: this machine, as an Ingress would be) the client in
X-Forwarded-For is the one counted: one client's failures close the account to that client
only, and two addresses of one IPv6 /64 are one client. From a peer not in it the header is
ignored: everyone arriving through it counts as that peer.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.login_throttle import PER_ACCOUNT_AND_ADDRESS
from api.main import serve
from app.settings import Settings
from store.seed import DEMO_PASSWORD, seed_demo
from store.testing import sqlite_store
from tests.api_harness import settings_for
from tests.process_harness import free_port
from tests.ui_harness import csrf_of, refused_shown

LIMIT = PER_ACCOUNT_AND_ADDRESS.amount


@contextlib.asynccontextmanager
async def served(data_dir: Path, trusted_proxies: str) -> AsyncIterator[httpx.AsyncClient]:
    """`serve` with `trusted_proxies` as LOTSE_TRUSTED_PROXIES would give it, until the block
    ends; a client for it."""
    with sqlite_store(data_dir) as engine:
        seed_demo(engine, environment="development")
    base = settings_for(data_dir, "addresses", "127.0.0.1:1")
    settings = Settings.model_validate(
        {
            **base.model_dump(),
            "api_port": free_port(),
            "trusted_proxies": trusted_proxies,
        }
    )
    stop = asyncio.Event()
    server = asyncio.create_task(serve(settings, stop=stop))
    base_url = f"http://127.0.0.1:{settings.api_port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            async with asyncio.timeout(20):
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/livez")).status_code == 200:
                            break
                    await asyncio.sleep(0.05)
            yield http
    finally:
        stop.set()
        await server


async def login(
    http: httpx.AsyncClient, forwarded_for: str, password: str = DEMO_PASSWORD
) -> httpx.Response:
    return await http.post(
        "/auth/token",
        data={"username": "berater1", "password": password},
        headers={"X-Forwarded-For": forwarded_for},
    )


async def fail_limit_times(http: httpx.AsyncClient, forwarded_for: str) -> None:
    """LIMIT failed logins from `forwarded_for` through the web form, which counts with the
    token endpoint; an empty password fails without an argon2 check, so this costs little."""
    headers = {"X-Forwarded-For": forwarded_for}
    page = await http.get("/login", headers=headers)
    form = {"username": "berater1", "password": "", "csrf_token": csrf_of(page.text)}
    for _ in range(LIMIT):
        answer = await http.post("/login", data=form, headers=headers)
        # Post/Redirect/Get: the login page shows the refusal (401).
        assert (await refused_shown(http, answer, headers=headers)).status_code == 401


@pytest.fixture(scope="module")
async def behind_a_trusted_proxy(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    async with served(tmp_path_factory.mktemp("trusted"), "127.0.0.0/8, ::1/128") as http:
        yield http


async def test_behind_a_trusted_proxy_each_client_counts_for_itself(
    behind_a_trusted_proxy: httpx.AsyncClient,
) -> None:
    http = behind_a_trusted_proxy
    await fail_limit_times(http, "203.0.113.9")
    assert (await login(http, "203.0.113.9")).status_code == 429
    # Another client behind the same proxy logs in as usual.
    assert (await login(http, "198.51.100.4")).status_code == 200
    # The proxy's own view: a client that put an address of its own in front is still itself.
    assert (await login(http, "192.0.2.1, 203.0.113.9")).status_code == 429


async def test_two_ipv6_addresses_of_one_64_are_one_client(
    behind_a_trusted_proxy: httpx.AsyncClient,
) -> None:
    http = behind_a_trusted_proxy
    await fail_limit_times(http, "2001:db8:7:1::a")
    assert (await login(http, "2001:db8:7:1:ffff::b")).status_code == 429
    assert (await login(http, "2001:db8:7:2::a")).status_code == 200


async def test_from_an_untrusted_peer_x_forwarded_for_is_ignored(tmp_path: Path) -> None:
    async with served(tmp_path, "192.0.2.0/24") as http:
        await fail_limit_times(http, "203.0.113.9")
        # Another forwarded address does not help: all of them are this peer, 127.0.0.1.
        refused = await login(http, "198.51.100.4")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert (await login(http, "")).status_code == 429
