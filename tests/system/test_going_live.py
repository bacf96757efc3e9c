"""Going live in a municipality, as deploy/README.md's section of that name writes it, step by
step, on PostgreSQL: from an empty database to a counsellor opening a case.

Every step is the command or request the section names: `lotse db upgrade`, `lotse users
create` for the first administrator, `lotse directory import` with the example files,
`lotse worker` and `lotse api` as processes configured only by `LOTSE_*` settings in production
mode (the session's dev server stands in for the municipality's Temporal), the federal rules
for a municipality without its own, a password reset for the imported counsellor, her first
login with the forced change, and her first case."""

import asyncio
import base64
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from store.testing import postgres_schema
from tests.api_harness import register_search_attributes
from tests.process_harness import LotseProcess, free_port, user_environment, wait_healthy
from tests.samples import ASSESSMENT, INTAKE

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "deploy" / "examples" / "directory"
LOTSE = [sys.executable, "-m", "worker"]
ADMIN_PASSWORD = "erste-Verwalterin-2026"
NEW_PASSWORD = "mein-eigenes-Passwort-1"


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """One `lotse` command to its end; its output, or AssertionError with both streams."""
    done = subprocess.run(
        [*LOTSE, *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"lotse {' '.join(args)}: {done.returncode}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture
async def production(
    postgres_url: str, dev_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[dict[str, str]]:
    """The settings of deploy/README.md's step "the settings", on an empty PostgreSQL schema."""
    await register_search_attributes(dev_env.client)
    with postgres_schema(postgres_url) as database_url:
        yield user_environment(
            LOTSE_ENV="production",
            LOTSE_DATABASE_URL=database_url,
            LOTSE_JWT_SECRET=secrets.token_urlsafe(48),
            LOTSE_MASTER_KEY=base64.b64encode(os.urandom(32)).decode(),
            LOTSE_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
            LOTSE_TASK_QUEUE=f"going-live-{uuid.uuid4()}",
            LOTSE_API_PORT=str(free_port()),
            LOTSE_DATA_DIR=str(tmp_path / "data"),
            LOTSE_LOG_LEVEL="WARNING",
        )


async def test_a_municipality_goes_live_from_an_empty_database_to_the_first_case(
    production: dict[str, str], tmp_path: Path
) -> None:
    env = production
    # The schema.
    assert "Schema auf Stand" in _run(env, "db", "upgrade")
    # The first administrator; her password from standard input, never an argument.
    created = _run(
        env,
        "users",
        "create",
        "--role",
        "admin",
        "--username",
        "verwaltung",
        "--display-name",
        "Verwaltung Neustadt",
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert "verwaltung" in created and ADMIN_PASSWORD not in created
    # The directory: the example files, in any order, one import.
    files = sorted(str(path) for path in EXAMPLES.glob("*.csv"))
    assert len(files) == 4
    imported = _run(env, "directory", "import", *files)
    assert "a.yilmaz" not in imported  # counts, not names
    # Importing the same files again changes nothing.
    _run(env, "directory", "import", *files)

    worker = LotseProcess([*LOTSE, "worker"], env, tmp_path, "worker")
    api = LotseProcess([*LOTSE, "api"], env, tmp_path, "api")
    try:
        base_url = f"http://127.0.0.1:{env['LOTSE_API_PORT']}"
        await wait_healthy(base_url, api, timeout=90)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            await _first_days(http)
    finally:
        for process in (api, worker):
            if process.process.poll() is None:
                await process.terminate()
            process.cleanup()


async def _token(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post("/auth/token", data={"username": username, "password": password})


def _bearer(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def _step(
    http: httpx.AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]
) -> dict[str, Any]:
    answer = await http.post(path, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    state: dict[str, Any] = answer.json()
    return state


async def _first_days(http: httpx.AsyncClient) -> None:
    admin = _bearer(await _token(http, "verwaltung", ADMIN_PASSWORD))
    # The imported directory is there, by its names.
    centres = (await http.get("/admin/centres", headers=admin)).json()
    assert {c["id"]: c["name"] for c in centres}["mbe-neustadt"] == "MBE Neustadt (Caritas)"
    # Rules: Neustadt has none of its own yet, so the federal table routes its cases.
    rules = await http.get("/rules", params={"municipality": "neustadt"}, headers=admin)
    assert rules.status_code == 200 and rules.json()["rules"], rules.text
    # An unknown municipality is refused, never routed by the federal table.
    unknown = await http.get("/rules", params={"municipality": "nirgendwo"}, headers=admin)
    assert unknown.status_code == 422, unknown.text

    # The first counsellor: imported without a password, until the administrator resets it.
    assert (await _token(http, "a.yilmaz", "")).status_code in (401, 422)
    reset = await http.post("/admin/users/a.yilmaz/password-reset", headers=admin)
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporary_password"]
    first = await _token(http, "a.yilmaz", temporary)
    assert first.json()["password_change_required"] is True
    forced = _bearer(first)
    refused = await http.get("/cases", headers=forced)
    assert refused.status_code == 403 and "/me/password" in refused.json()["detail"]
    changed = await http.post(
        "/me/password",
        json={"current_password": temporary, "new_password": NEW_PASSWORD},
        headers=forced,
    )
    counsellor = _bearer(changed)

    # Her first case.
    opened = await http.post(
        "/cases",
        json={"client": {"given_name": "Amal", "family_name": "Haddad"}},
        headers=counsellor | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    for _ in range(100):
        case = await http.get(f"/cases/{case_id}", headers=counsellor)
        if case.status_code == 200:
            break
        await asyncio.sleep(0.2)
    assert case.status_code == 200, case.text
    assert case.json()["stage"] == "intake" and case.json()["centre_id"] == "mbe-neustadt"
    # Her needs go to Neustadt's imported partners, by the federal table.
    await _step(http, counsellor, f"/cases/{case_id}/intake", INTAKE)
    await _step(http, counsellor, f"/cases/{case_id}/assessment", ASSESSMENT)
    routed = (await http.get(f"/cases/{case_id}", headers=counsellor)).json()
    partners = {route["partner_id"] for route in routed["routes"]} - {None}
    assert partners and partners <= {"vhs-neustadt", "jobcenter-neustadt", "abh-neustadt"}
    # And the new password is hers from now on.
    assert (await _token(http, "a.yilmaz", NEW_PASSWORD)).status_code == 200
    assert (await _token(http, "a.yilmaz", temporary)).status_code == 401
