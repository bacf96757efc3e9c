"""Histories of cases in tests: every run of a case (following continue-as-new), waiting for
a run to end, checking that no workflow task failed, and saving and loading the histories
that tests/workflows/test_replay.py replays."""

import asyncio
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHandle, WorkflowHistory

HISTORIES = Path(__file__).parent / "histories"
# `LOTSE_REGENERATE_HISTORIES=1 pytest ...` lets the tests that record histories overwrite them.
REGENERATE = os.environ.get("LOTSE_REGENERATE_HISTORIES") == "1"


async def run_histories(client: Client, handle: WorkflowHandle[Any, Any]) -> list[WorkflowHistory]:
    """The history of every run of a case, first to current. Walks back from the current run
    (each run's start names the run it continues): the time-skipping server does not always
    write the continued-as-new event into the old run's history."""
    histories: list[WorkflowHistory] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        histories.insert(0, history)
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return histories
        run_id = started.continued_execution_run_id


async def until_runs(
    client: Client, handle: WorkflowHandle[Any, Any], count: int, timeout: float = 10.0
) -> list[WorkflowHistory]:
    """The run histories once the case has `count` runs (continue-as-new follows the update
    that triggers it a moment later)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while len(runs := await run_histories(client, handle)) < count:
        assert loop.time() < give_up, f"{len(runs)} runs, not {count}"
        await asyncio.sleep(0.05)
    return runs


def save_histories(name: str, histories: Sequence[WorkflowHistory]) -> None:
    """Write histories (every run of a case, maybe its children too) for
    tests/workflows/test_replay.py, decrypted: the session's data keys end with the session,
    and the codec passes a plain payload through, so they replay with any keys."""
    HISTORIES.mkdir(exist_ok=True)
    for history in histories:
        for event in history.events:
            open_payloads(event)
    document = [{"workflow_id": h.workflow_id, "history": h.to_json_dict()} for h in histories]
    (HISTORIES / f"{name}.json").write_text(json.dumps(document, separators=(",", ":")) + "\n")


def payloads_in(message: Message, field: str = "") -> Iterator[tuple[str, Payload]]:
    """Every payload inside `message`, with the name of the field that holds it."""
    if isinstance(message, Payload):
        yield field, message
        return
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            items: Any = value.values()
        elif isinstance(value, Message):
            items = [value]
        else:
            items = value  # a repeated field
        for item in items:
            if isinstance(item, Message):
                yield from payloads_in(item, descriptor.name)


def open_payloads(message: Message) -> None:
    """Every encrypted payload inside `message` replaced by its plaintext, in place."""
    # Imported here: the workflow sandbox imports this module (through tests/case_harness.py's
    # workflows), and cryptography's extension module cannot be loaded in there again.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from app.payload_codec import opened, sealed_key_id
    from tests.key_harness import session_keys

    for _, payload in payloads_in(message):
        key_id = sealed_key_id(payload)
        if key_id is not None:
            cipher = AESGCM(session_keys().data_key(key_id, create=False))
            payload.CopyFrom(opened(payload, cipher, key_id))


def load_histories(name: str) -> list[WorkflowHistory]:
    document = json.loads((HISTORIES / f"{name}.json").read_text())
    return [WorkflowHistory.from_json(item["workflow_id"], item["history"]) for item in document]


def patches(history: WorkflowHistory) -> list[str]:
    """The patch ids whose markers the run recorded."""
    found: list[str] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            details = event.marker_recorded_event_attributes.details
            found += [json.loads(payload.data)["id"] for payload in details["patch-data"].payloads]
    return found


def assert_no_task_failures(runs: Sequence[WorkflowHistory]) -> None:
    """No workflow task failed for a reason of ours (a bare exception in a handler would fail
    them over and over). A signal arriving while a run tries to end makes the server refuse
    that task once (UNHANDLED_COMMAND) and hand out a new one: Temporal's design, not a bug.
    Nor is a task the SDK gave up on after 2 s (`_DeadlockError`) on a starved machine: the
    suite runs more processes than cores, a new run's sandbox imports its modules first, and
    the task is retried. A real deadlock never completes, and each caller also waits for the
    workflow to get on."""
    unhandled = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    failures = [
        event.workflow_task_failed_event_attributes
        for run in runs
        for event in run.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    ours = [
        failure
        for failure in failures
        if failure.cause != unhandled
        and failure.failure.application_failure_info.type != "_DeadlockError"
    ]
    assert ours == []
