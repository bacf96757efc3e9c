import asyncio
from datetime import timedelta
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.api.common.v1 import WorkflowExecution
from tests.test_agreement_workflow import harness, skip_to, walk_to, Stage, DAY, until  # noqa
import tests.case_harness as ch

ALL = []
_orig = ch.Harness.start
async def start(self, *a, **k):
    h = await _orig(self, *a, **k)
    ALL.append(h.id)
    return h
ch.Harness.start = start

async def dump(env):
    for cid in ALL:
        for wid in [cid] + [f"{cid}-ref-{n}" for n in (1,2,3,4)]:
            try:
                r = await env.client.workflow_service.describe_workflow_execution(DescribeWorkflowExecutionRequest(namespace="default", execution=WorkflowExecution(workflow_id=wid)))
                i = r.workflow_execution_info
                print(wid[-12:], i.status, "wft:", r.HasField("pending_workflow_task"), "acts:", [(a.activity_type.name, a.state, a.attempt) for a in r.pending_activities], "kids:", len(r.pending_children), i.task_queue[-6:], flush=True)
            except Exception as e:
                pass

import os
from domain.actions import Closure, Review
from workflows.agreement import AgreementWorkflow
async def test_a(ts_env, harness):
    handle = await harness.start()
    await walk_to(handle, Stage.ACTIVE)
    await until(handle, lambda s: any(m.done for m in s.measures))
    mode = os.environ["MODE"]
    if "close" in mode:
        await handle.execute_update(AgreementWorkflow.close, Closure(reason="withdrawn"))
    if "result" in mode:
        await handle.result()
    if "sleep" in mode:
        await ts_env.sleep(timedelta(days=1))


async def test_b(ts_env, harness):
    handle = await harness.start()
    state = await walk_to(handle, Stage.ACTIVE)
    try:
        await asyncio.wait_for(skip_to(ts_env, state.next_review_due + 13 * DAY), 8)
        print("skipped ok")
    except Exception as e:
        print("FAIL", repr(e))
        await dump(ts_env)
