"""Shared fixtures: Temporal servers from the pip-shipped binaries (no downloads), and the
PostgreSQL URL for read-model tests.

`ts_env` is the time-skipping test server (clocks); `dev_env` is the dev server (visibility,
continue-as-new with child timers, end-to-end). Both are started once per session and reused;
every test uses its own task queue and workflow ids so tests do not see each other's work.

Every client encrypts as Lotse does (app/payload_codec.py), with the session's data keys
(tests/key_harness.py).

`lotse` is the whole system (API, worker, SQLite store with demo data) on a time-skipping
server of the module's own (`own_env`: skipping time there moves no other module's timers); a
module that needs another kind of system defines its own `lotse`.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from argon2 import PasswordHasher, profiles
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from store import users
from tests.api_harness import Lotse, running_lotse, time_skipping_server
from tests.key_harness import session_converter
from worker.binaries import find_binary
from worker.devserver import search_attribute_args


def _binary(name: str) -> str:
    path = find_binary(name)
    if path is None:
        pytest.fail(f"{name} not on PATH: install the dev extra (pip install -e '.[dev]')")
    return path


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2's cheapest parameters in the test process. A hash at the production parameters
    costs about half a second of CPU, and the suite logs in thousands of times; nothing the
    tests check (which password opens which account, throttling, rehashing) depends on the
    cost. tests/store/test_users.py checks the production parameters themselves. Processes the
    tests start (`lotse up`, the CLI) hash as in production."""
    patch = pytest.MonkeyPatch()
    patch.setattr(users, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
    users._dummy_hash.cache_clear()
    yield
    patch.undo()
    users._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"),
        data_converter=session_converter(),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=session_converter(),
        dev_server_extra_args=search_attribute_args(),
        ui=False,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"


@pytest.fixture
def ts_client(ts_env: WorkflowEnvironment) -> Client:
    return ts_env.client


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("LOTSE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("LOTSE_TEST_POSTGRES_URL unset: PostgreSQL tests skipped (.ci/run sets it)")
    return url


@pytest.fixture(scope="module")
async def own_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


@pytest.fixture(scope="module")
async def lotse(
    own_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lotse]:
    async with running_lotse(own_env, tmp_path_factory.mktemp("lotse")) as system:
        yield system


# The slowest modules, slowest first (`--durations` of a full run). xdist hands whole modules
# to its workers in collection order (`--dist loadfile`), so a slow module collected last
# runs alone at the end while the other workers idle: these go first instead.
SLOW_MODULES = (
    "tests/system/test_up_e2e.py",
    "tests/simulate/test_engines_agree.py",
    "tests/api/test_fuzz.py",
    "tests/workflows/test_bounded_state.py",
    "tests/store/test_evaluation_cells.py",
    "tests/rules/test_property.py",
    "tests/simulate/test_simulate_command.py",
    "tests/rules/test_engine_crash.py",
    "tests/system/test_going_live.py",
    "tests/system/test_worker_kill.py",
    "tests/system/test_two_workers.py",
    "tests/simulate/test_outputs.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {module: n for n, module in enumerate(SLOW_MODULES)}

    def first_the_slow(item: pytest.Item) -> int:
        return rank.get(item.nodeid.split("::", 1)[0], len(rank))

    items.sort(key=first_the_slow)  # stable: the other modules keep their order
