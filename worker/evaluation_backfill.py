"""`lotse db backfill-evaluation`: the evaluation's facts for cases projected before migration
0010 (store/backfill.py replays each case's archived events). The needs of a case come from its
workflow's state (the query `AgreementWorkflow.state`), when Temporal still has the workflow
and a worker answers; otherwise the case keeps the needs it has and is counted."""

import asyncio
import logging

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from app.payload_codec import CachedKeyStore
from app.settings import Settings
from app.temporal import connect_client
from domain.projection import AssessedNeed, assessed_needs
from store.backfill import BackfillResult, backfill_case, case_ids
from worker.keys_cli import store_keys
from workflows.agreement import AgreementWorkflow

log = logging.getLogger(__name__)

QUERY_TIMEOUT_S = 10.0


async def _needs(client: Client | None, case_id: str) -> list[AssessedNeed] | None:
    if client is None:
        return None
    handle = client.get_workflow_handle_for(AgreementWorkflow.run, case_id)
    try:
        async with asyncio.timeout(QUERY_TIMEOUT_S):
            state = await handle.query(AgreementWorkflow.state)
    except (RPCError, TimeoutError) as error:
        # Gone after Temporal's retention, or no worker to answer: the events still give the
        # rest. Only the error's type: its text may name the workflow's data.
        log.info("Case %s: needs not read (%s)", case_id, type(error).__name__)
        return None
    return assessed_needs(state)


async def backfill(
    settings: Settings,
    engine: Engine,
    *,
    with_workflows: bool,
    keys: CachedKeyStore | None = None,
) -> BackfillResult:
    """Every case of the read model, one transaction each. The workflows' payloads are
    decoded with `keys` (default: the store's data keys, as the worker's)."""
    client = (
        await connect_client(settings, keys=keys or store_keys(settings, engine))
        if with_workflows
        else None
    )
    result = BackfillResult()
    for case_id in case_ids(engine):
        needs = await _needs(client, case_id)
        result.events += await asyncio.to_thread(backfill_case, engine, case_id, needs)
        result.cases += 1
        result.without_needs += needs is None
    return result
