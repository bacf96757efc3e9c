"""No personal data in the access log: `lotse api` (the container's command; `lotse up` serves
through the same `api.main.serve`) as a child process, a counsellor searching the case list for
a client's name, and the log it writes to stdout has each request's path but no query string.
"""

import asyncio
import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from store.seed import DEMO_PASSWORD, seed_demo
from store.testing import sqlite_store
from tests.process_harness import LotseProcess, free_port, readme_run_command, user_environment
from tests.ui_harness import csrf_of

NAME = "Haddad"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[LotseProcess, str]]:
    data_dir = tmp_path / "data"
    with sqlite_store(data_dir) as engine:
        seed_demo(engine, environment="development")
    port = free_port()
    lotse = readme_run_command()[0]
    env = user_environment(
        LOTSE_DATA_DIR=str(data_dir),
        # The pages used here read the store only; Temporal is never asked.
        LOTSE_TEMPORAL_ADDRESS="127.0.0.1:1",
        LOTSE_LOG_LEVEL="INFO",
    )
    process = LotseProcess([lotse, "api", "--port", str(port)], env, tmp_path, "api")
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.cleanup()


async def _until_live(http: httpx.AsyncClient, process: LotseProcess) -> None:
    async with asyncio.timeout(30):
        while True:
            assert process.process.poll() is None, process.output()
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/livez")).status_code == 200:
                    return
            await asyncio.sleep(0.1)


async def test_a_search_for_a_name_leaves_only_the_path_in_the_access_log(
    api: tuple[LotseProcess, str],
) -> None:
    process, base_url = api
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        await _until_live(http, process)
        # Not logged in: the redirect to the login carries the search along (`weiter=`).
        anonymous = await http.get("/faelle", params={"q": NAME})
        assert anonymous.status_code == 303 and NAME in anonymous.headers["location"]
        page = await http.get(anonymous.headers["location"])
        form = {"username": "berater1", "password": DEMO_PASSWORD, "csrf_token": csrf_of(page.text)}
        assert (await http.post("/login", data=form)).status_code == 303
        found = await http.get("/faelle", params={"q": NAME, "stadium": "active", "wer": "alle"})
        assert found.status_code == 200 and f'value="{NAME}"' in found.text
    # uvicorn raises SIGTERM again once it has shut down, as a server stopped by it should.
    assert await process.terminate() in (0, -15), process.output()

    log = process.stdout()
    requests = re.findall(r'"(GET|POST) (\S+) HTTP/1\.1" (\d{3})', log)
    assert ("GET", "/faelle", "303") in requests, log
    assert ("GET", "/login", "200") in requests, log
    assert ("GET", "/faelle", "200") in requests, log
    assert all("?" not in path for _, path, _ in requests), log
    assert NAME not in log and NAME not in process.stderr()
