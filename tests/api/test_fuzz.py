"""Fuzzing the HTTP API with schemathesis: no request, however odd, gets a 5xx.

The whole system runs as the API tests run it (tests/api_harness.py: a real Temporal, the
worker with the real workflows and activities, a seeded store: SQLite, and PostgreSQL when
LOTSE_TEST_POSTGRES_URL is set), served by uvicorn on 127.0.0.1. Schemathesis reads the
app's OpenAPI document and generates requests to every operation as a counsellor, a partner,
a supervisor, an admin, an evaluator and a data protection officer (their tokens from
POST /auth/token), most as the role the
operation is for and a few as each other role, schema-valid ones and ones that break the
schema, with a fixed seed, so a run is repeatable. Some of the requests to a case or referral
path name a real case or referral of the caller, so generated bodies reach the workflows too
(POST /cases starts real ones).

Every answer is checked: not a 5xx, and for a documented status its body matches the
document's schema and content type. At least 1,000 requests on SQLite and 500 more on
PostgreSQL (the API is the same; there the store's own limits are fuzzed too). Afterwards the
read model has taken every event of every case the fuzzer touched: a value the API let
through but the store refuses (a NUL on PostgreSQL) would hold a case's projection back.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from temporalio.testing import WorkflowEnvironment

from domain.case import CaseState
from store.reads.erasure import erasure_of
from store.testing import BACKENDS
from tests.api_harness import Lotse, eventually
from tests.backend_harness import running_lotse_on, store_of
from tests.ui_harness import app_of, served

SEED = 20_261_130
MINIMUM_REQUESTS = 1_000  # on SQLite; PostgreSQL (the second backend) gets half of each budget
# Requests per operation: many as the role it is for, a few as each other role (their 403s).
# Seven roles and the directory's, accounts' and rules' routes: fewer per operation than with
# four roles, still about 2,200 requests on SQLite and 1,100 on PostgreSQL (1 December 2026).
OWNER_EXAMPLES = 16
OTHER_EXAMPLES = 2
SHARED_EXAMPLES = 6  # per role, for operations every role may call
# Each login costs an argon2 verification: a few are enough to fuzz the form.
LOGIN_EXAMPLES = 8
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
ROLES = {
    "counsellor": "berater1",
    "partner": "sprachkurs",
    "supervisor": "koordination",
    "admin": "admin",
    "evaluator": "auswertung",
    "data protection": "datenschutz",
}
# Which role an operation is for, by its path; None: no login needed.
OWNERS: list[tuple[str, str | None]] = [
    ("/cases", "counsellor"),
    ("/referrals", "partner"),
    ("/supervision", "supervisor"),
    ("/reports", "supervisor"),
    ("/admin/cases", "data protection"),  # erasure
    ("/admin/audit", "data protection"),
    ("/admin", "admin"),
    ("/auth/token", None),
    ("/livez", None),
    ("/healthz", None),
    ("/metrics", None),
]


@dataclass
class Target:
    """Where the fuzzer sends requests, as whom, and the real ids it may put into paths."""

    base_url: str
    tokens: dict[str, str]
    case_ids: list[str]
    referral_ids: list[str]
    share: float = 1.0  # of each operation's budget of examples
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


@pytest.fixture(params=BACKENDS)
async def lotse(
    request: pytest.FixtureRequest, dev_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[Lotse]:
    # The dev server: generated reviews continue cases as new (the time-skipping server does
    # not answer queries to the new run reliably).
    with store_of(request, tmp_path) as engine:
        async with running_lotse_on(dev_env, tmp_path, engine) as system:
            yield system


async def _referral_of(lotse: Lotse, partner: str, case_id: str) -> str:
    async def listed() -> str | None:
        page = await lotse.ok(partner, "GET", "/referrals")
        ids = [r["id"] for r in page["items"] if r["id"].startswith(case_id + "-ref-")]
        return ids[0] if ids else None

    return await eventually(listed)


def _strategy(operation: Any, target: Target) -> st.SearchStrategy[Case[Any]]:
    """Schema-valid and schema-breaking requests; half of those to a case or referral path
    name a real one."""
    modes = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    with contextlib.suppress(Exception):  # an operation with nothing to break
        modes.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    path = operation.path
    for name, ids in (("case_id", target.case_ids), ("referral_id", target.referral_ids)):
        if "{" + name + "}" in path:
            modes += [operation.as_strategy(path_parameters={name: real}) for real in ids]
    return st.one_of(modes)


def _fuzz_operation(operation: Any, role: str | None, target: Target, examples: int) -> list[str]:
    """Run one operation as one role; the failures found (empty: none)."""
    headers = {"Authorization": f"Bearer {target.tokens[role]}"} if role else {}
    failures: list[str] = []

    @hypothesis.seed(SEED)
    @settings(
        max_examples=max(1, round(examples * target.share)),
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=_strategy(operation, target))
    def run(case: Case[Any]) -> None:
        response = case.call(base_url=target.base_url, headers=headers, timeout=30)
        target.requests += 1
        target.statuses[response.status_code] = target.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except Exception as failure:  # one report per failing request, the run goes on
            failures.append(f"{operation.label} as {role}: {failure}")

    run()
    return failures


def _plan(path: str) -> list[tuple[str | None, int]]:
    """(role, examples) to fuzz the operation at `path` with."""
    for prefix, owner in OWNERS:
        if path.startswith(prefix):
            if owner is None:
                return [(None, LOGIN_EXAMPLES)]
            return [(role, OWNER_EXAMPLES if role == owner else OTHER_EXAMPLES) for role in ROLES]
    return [(role, SHARED_EXAMPLES) for role in ROLES]  # /me, /rules, /rules/explain


def _fuzz(schema_document: dict[str, Any], target: Target) -> list[str]:
    schema = schemathesis.openapi.from_dict(schema_document)
    failures: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the app's document is a valid OpenAPI one
        operation = result.ok()
        for role, examples in _plan(operation.path):
            failures += _fuzz_operation(operation, role, target, examples)
    return failures


async def test_no_generated_request_gets_a_server_error(lotse: Lotse) -> None:
    case_ids = [await lotse.active_case(), await lotse.open_case()]
    referral_ids = [await _referral_of(lotse, ROLES["partner"], case_ids[0])]
    tokens = {role: await lotse.token(user) for role, user in ROLES.items()}
    app = app_of(lotse)
    async with served(app) as base_url:
        share = 1.0 if lotse.engine.dialect.name == "sqlite" else 0.5
        target = Target(base_url, tokens, case_ids, referral_ids, share)
        # Schemathesis calls synchronously: from a thread, while this loop serves the app,
        # the worker and the Temporal client.
        failures = await asyncio.to_thread(_fuzz, app.openapi(), target)
    summary = f"{target.requests} requests, statuses {dict(sorted(target.statuses.items()))}"
    print(summary)
    assert not failures, "\n\n".join(failures[:20]) + f"\n\n({len(failures)} in all; {summary})"
    assert target.requests >= MINIMUM_REQUESTS * target.share, summary
    await eventually(lambda: _projection_behind(lotse), timeout=60)
    # The system still works after all that: the open case is the coordination's still, unless
    # the fuzzer closed it and an admin's generated erasure took it (then: 410, data erased).
    answer = await lotse.get("koordination", f"/supervision/cases/{case_ids[1]}")
    assert answer.status_code in (200, 410), answer.text
    fresh = await lotse.open_case()
    assert await lotse.ok("koordination", "GET", f"/supervision/cases/{fresh}")


async def _projection_behind(lotse: Lotse) -> bool:
    """True once the read model holds every event of every case of this run that was not
    erased."""
    query = f"TaskQueue = '{lotse.settings.task_queue}' AND WorkflowType = 'AgreementWorkflow'"
    cases = [execution.id async for execution in lotse.client.list_workflows(query)]
    assert cases, "the fuzzer's system ran no case"
    for case_id in cases:
        if erasure_of(lotse.engine, case_id) is not None:
            continue  # erased by a generated request: its key is gone, so is its state
        state = await lotse.client.get_workflow_handle(case_id).query(
            "state", result_type=CaseState
        )
        row = lotse.summary(case_id)
        if row is None or row.last_applied_seq < state.last_sequence:
            return False
    return True
