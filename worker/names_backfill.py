"""`lotse db backfill-names`: the client's full name, date of birth and search keys for cases
projected before migration 0012, read from each workflow's state (the query
`AgreementWorkflow.state`). A case gets them anyway with its next batch; this is for the ones
that stay idle (closed, or waiting). A case whose workflow is gone (Temporal's retention) or
does not answer keeps the given name it has, and is counted."""

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from app.settings import Settings
from app.temporal import connect_client
from store.case_identity import backfill_identity, cases_without_full_name
from worker.keys_cli import store_keys
from workflows.agreement import AgreementWorkflow

log = logging.getLogger(__name__)

QUERY_TIMEOUT_S = 10.0


@dataclass
class NamesResult:
    cases: int = 0  # rows without a family name
    written: int = 0
    unanswered: int = 0  # workflow gone or not answering


async def backfill_names(
    settings: Settings, engine: Engine, client: Client | None = None
) -> NamesResult:
    """Every case row without a family name, one transaction each; idempotent."""
    client = client or await connect_client(settings, keys=store_keys(settings, engine))
    result = NamesResult()
    for case_id in await asyncio.to_thread(cases_without_full_name, engine):
        result.cases += 1
        handle = client.get_workflow_handle_for(AgreementWorkflow.run, case_id)
        try:
            async with asyncio.timeout(QUERY_TIMEOUT_S):
                state = await handle.query(AgreementWorkflow.state)
        except (RPCError, TimeoutError) as error:
            # Only the error's type: its text may name the workflow's data.
            log.info("Case %s: name not read (%s)", case_id, type(error).__name__)
            result.unanswered += 1
            continue
        if state.client is None or not state.client.family_name:
            continue  # nothing more to know than the row has
        birth_date = state.profile.birth_date if state.profile else None
        result.written += await asyncio.to_thread(
            backfill_identity,
            engine,
            case_id,
            state.client.given_name,
            state.client.family_name,
            birth_date,
        )
    return result
