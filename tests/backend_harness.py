"""The system of `tests.api_harness.running_lotse` on a store of either backend: the API tests
that must show something on PostgreSQL too (hostile input, fuzzing) run it on a migrated
SQLite or PostgreSQL store of their own. Not a test module itself."""

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from activities.case import CaseActivities
from api.gateway import connect
from api.main import create_app
from app.temporal import encrypted
from rules.municipal import MunicipalEvaluators
from store.directory import SqlDirectory
from store.projector import SqlCaseEventSink
from store.rule_sets import SqlRuleSets
from store.seed import seed_demo
from store.testing import migrated_store
from tests.api_harness import Lotse, register_search_attributes, settings_for
from tests.key_harness import session_keys
from worker.worker import build_worker


@contextmanager
def store_of(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Engine]:
    """A migrated store of the backend `request.param` ("sqlite" or "postgresql"; the latter
    skipped when LOTSE_TEST_POSTGRES_URL is unset)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    with migrated_store(request.param, data_dir, url) as engine:
        yield engine


@asynccontextmanager
async def running_lotse_on(
    env: WorkflowEnvironment, data_dir: Path, engine: Engine
) -> AsyncIterator[Lotse]:
    """Demo data in `engine`, a worker with the real workflows and activities on it, and the
    app reached through httpx's ASGITransport as the demo users."""
    address = env.client.service_client.config.target_host
    settings = settings_for(data_dir, f"api-{uuid.uuid4()}", address)
    await register_search_attributes(env.client)
    seed_demo(engine, environment="development")
    # Each municipality routes by its published rule set (rules/municipal.py).
    rule_sets = MunicipalEvaluators(SqlRuleSets(engine))
    activities = CaseActivities(SqlDirectory(engine), SqlCaseEventSink(engine), rule_sets)
    keys = session_keys()
    worker = build_worker(encrypted(env.client, keys), settings, activities)
    app = create_app(settings, engine=engine, client=await connect(settings, keys), keys=keys)
    transport = httpx.ASGITransport(app=app)
    async with (
        worker,
        httpx.AsyncClient(transport=transport, base_url="http://lotse.test") as http,
    ):
        yield Lotse(http=http, engine=engine, settings=settings, client=env.client, keys=keys)
