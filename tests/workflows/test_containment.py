"""No exception but an `ApplicationError` leaves the handlers or run loop of AgreementWorkflow
or the handlers of ReferralWorkflow (workflows/guard.py): when a stage function raises, the
update fails as `Unprocessable`, the case is unchanged, no workflow task fails, and the case
answers the next valid update.

Which payload makes a stage function raise depends on its bugs, and the validation now keeps
out the ones we knew (dates out of range raised `OverflowError`). So each test arms the stage
function with a poison value: the armed function raises `OverflowError` when its poison is in
what it is given, and otherwise does what it always does. The poison is part of the payload
(or of the draft the next action renders), so the failure is deterministic, as replay needs.
The domain modules pass through the workflow sandbox, which imports the workflow module anew
for each run: a case started after arming sees the armed function.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

import domain.referral
import domain.referral_stages
import domain.stages
import domain.stages_clock
import domain.stages_draft
import domain.stages_referral
import domain.stages_review
from activities.case import CaseActivities
from activities.case_events import InMemoryCaseEventSink
from activities.directory import InMemoryDirectory
from domain.actions import (
    AgreementDraft,
    Closure,
    DraftGoal,
    Reassignment,
    Review,
    Signature,
    TaskDone,
    Transfer,
)
from domain.case import CaseState, GoalProgress, GoalStatus, Party, Stage
from domain.needs import Assessment, Need
from domain.referral import ProgressNote, ReferralReport, ReferralStatus, ReportKind
from tests.case_harness import (
    Harness,
    send,
    skip_to,
    state_of,
    time_skipping_harness,
    time_skipping_server,
    until,
    walk_to,
)
from tests.case_histories import assert_no_task_failures, run_histories
from tests.referral_harness import referral_input
from tests.samples import draft, intake
from workflows.guard import UNPROCESSABLE
from workflows.referral import ReferralWorkflow


def armed(original: Callable[..., Any], poison: str) -> Callable[..., Any]:
    def stage_function(*args: Any, **kwargs: Any) -> Any:
        if poison in repr((args, kwargs)):
            raise OverflowError(f"date value out of range ({poison})")
        return original(*args, **kwargs)

    return stage_function


@pytest.fixture
async def harness(task_queue: str) -> AsyncIterator[Harness]:
    async with time_skipping_harness(task_queue) as harness:
        yield harness


def settled(state: CaseState) -> bool:
    statuses = {(r.partner_id, r.status) for r in state.referrals}
    return (
        ("sprachkurs-2", ReferralStatus.COMPLETED) in statuses
        and ("jobcenter", ReferralStatus.ACKNOWLEDGED) in statuses
        and all(r.started and not r.awaiting_reroute for r in state.referrals)
        and state.emitted_through == state.last_sequence
    )


async def refused_as_unprocessable(handle: WorkflowHandle[Any, Any], name: str, arg: Any) -> None:
    """The update fails with `Unprocessable`, and the case is exactly as it was."""
    # Once the read model has caught up, nothing in the case moves by itself.
    before = await until(handle, lambda s: s.emitted_through == s.last_sequence)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await send(handle, name, arg)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == UNPROCESSABLE
    assert "unverändert" in cause.message
    assert "OverflowError" not in cause.message and "out of range" not in cause.message
    after = await state_of(handle)
    assert after.model_dump(exclude={"recent_updates"}) == before.model_dump(
        exclude={"recent_updates"}
    )


async def test_each_counsellor_action_survives_a_raising_stage_function(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module, name in [
        (domain.stages, "complete_intake"),
        (domain.stages, "complete_assessment"),
        (domain.stages_draft, "draft_agreement"),
        (domain.stages, "request_signature"),
        (domain.stages_review, "record_review"),
        (domain.stages_review, "reassign"),
        (domain.stages_review, "transfer"),
        (domain.stages_review, "close"),
    ]:
        monkeypatch.setattr(module, name, armed(getattr(module, name), f"poison-{name}"))
    poisoned_task_id: list[str] = []
    complete_task = domain.stages_review.complete_task

    def armed_complete_task(state: Any, done: TaskDone, now: Any, by: Any = None) -> Any:
        if done.task_id in poisoned_task_id:
            raise OverflowError("date value out of range")
        return complete_task(state, done, now, by)

    monkeypatch.setattr(domain.stages_review, "complete_task", armed_complete_task)
    handle = await harness.start()

    poisoned_intake = intake(expires_on=None).model_copy(deep=True)
    poisoned_intake.qualifications[0].title = "poison-complete_intake"
    await refused_as_unprocessable(handle, "complete_intake", poisoned_intake)
    await walk_to(handle, Stage.ASSESSMENT)

    poisoned_needs = Assessment(needs=[Need(kind="language", note="poison-complete_assessment")])
    await refused_as_unprocessable(handle, "complete_assessment", poisoned_needs)
    await walk_to(handle, Stage.DRAFTING)

    poisoned_draft = AgreementDraft(goals=[DraftGoal(text="poison-draft_agreement")])
    await refused_as_unprocessable(handle, "draft_agreement", poisoned_draft)
    # The document of this draft holds the poison of request_signature.
    await send(
        handle,
        "draft_agreement",
        AgreementDraft(goals=[DraftGoal(text="poison-request_signature")]),
    )
    await refused_as_unprocessable(handle, "request_signature", None)
    await send(handle, "draft_agreement", draft())
    await walk_to(handle, Stage.ACTIVE)
    # The scripted partners answer (the course provider declines, the next one completes,
    # the Jobcenter acknowledges): let that settle, so only the poisoned actions could change it.
    state = await until(handle, settled)

    goal = state.goals[0].id
    poisoned_review = Review(
        goal_progress=[
            GoalProgress(goal_id=goal, status=GoalStatus.IN_PROGRESS, note="poison-record_review")
        ]
    )
    await refused_as_unprocessable(handle, "record_review", poisoned_review)
    await refused_as_unprocessable(
        handle, "reassign", Reassignment(counsellor_id="poison-reassign")
    )
    await refused_as_unprocessable(handle, "transfer", Transfer(centre_id="poison-transfer"))
    # A task's id is checked by the validator: the poison is a real open task's id.
    assert state.activated_at is not None
    await skip_to(harness, state.activated_at + timedelta(days=60))  # follow-ups fall due
    tasks = (await state_of(handle)).open_tasks()
    poisoned_task_id.append(tasks[0].id)
    await refused_as_unprocessable(handle, "complete_task", TaskDone(task_id=tasks[0].id))
    await refused_as_unprocessable(
        handle, "close", Closure(reason="withdrawn", note="poison-close")
    )

    # Every action still works with a valid payload, and no workflow task ever failed.
    poisoned_task_id.clear()
    await send(handle, "complete_task", TaskDone(task_id=tasks[0].id))
    await send(handle, "reassign", Reassignment(counsellor_id="berater3"))
    await send(handle, "close", Closure(reason="withdrawn"))
    closed = await until(handle, lambda s: s.stage is Stage.CLOSED)
    assert closed.counsellor_id == "berater3"
    assert next(t for t in closed.tasks if t.id == tasks[0].id).done
    assert_no_task_failures(await run_histories(harness.client, handle))


async def test_a_signature_survives_a_raising_stage_function(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signature's payload is a party and the document's hash, both checked by the validator:
    the poison comes with the signed draft, and the armed function raises for the client."""
    original = domain.stages.sign

    def sign(state: Any, signature: Signature, now: Any, clocks: Any) -> Any:
        if signature.party is Party.CLIENT and "poison-sign" in repr(state.goals):
            raise OverflowError("date value out of range")
        return original(state, signature, now, clocks)

    monkeypatch.setattr(domain.stages, "sign", sign)
    handle = await harness.start()
    await walk_to(handle, Stage.DRAFTING)
    await send(handle, "draft_agreement", AgreementDraft(goals=[DraftGoal(text="poison-sign")]))
    state = await walk_to(handle, Stage.AWAITING_SIGNATURE)
    assert state.document is not None
    client = Signature(party=Party.CLIENT, document_hash=state.document.hash)
    await refused_as_unprocessable(handle, "sign", client)
    counsellor = Signature(party=Party.COUNSELLOR, document_hash=state.document.hash)
    await send(handle, "sign", counsellor)
    signed = await state_of(handle)
    assert [s.party for s in signed.signatures] == [Party.COUNSELLOR]
    assert_no_task_failures(await run_histories(harness.client, handle))


async def test_a_raising_clock_does_not_wedge_the_case(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run loop's own call into the stage machine fails on every turn: the case goes on
    answering updates (the loop waits an hour between attempts instead of spinning)."""
    original = domain.stages_clock.on_clock

    def broken_after_signature(state: Any, now: Any, clocks: Any) -> Any:
        if state.stage is Stage.ACTIVE:
            raise OverflowError("date value out of range")
        return original(state, now, clocks)

    monkeypatch.setattr(domain.stages_clock, "on_clock", broken_after_signature)
    handle = await harness.start()
    active = await walk_to(handle, Stage.ACTIVE)
    assert active.next_review_due is not None
    await skip_to(harness, active.next_review_due + timedelta(days=20))
    # The clock could not fire (no overdue flag), but the case answers and closes.
    state = await state_of(handle)
    assert state.stage is Stage.ACTIVE and not state.review_overdue
    await send(handle, "close", Closure(reason="no_contact"))
    await until(handle, lambda s: s.stage is Stage.CLOSED)
    assert_no_task_failures(await run_histories(harness.client, handle))


async def test_a_report_the_case_cannot_take_is_dropped_not_wedging(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = domain.stages_referral.on_referral_report

    def broken_for_progress(state: Any, report: ReferralReport, now: Any) -> Any:
        if report.kind is ReportKind.PROGRESS:
            raise KeyError("poison")
        return original(state, report, now)

    monkeypatch.setattr(domain.stages_referral, "on_referral_report", broken_for_progress)
    handle = await harness.start()
    await walk_to(handle, Stage.ACTIVE)
    state = await state_of(handle)
    referral = state.referrals[0]
    report = ReferralReport(
        referral_id=referral.id,
        route_id=referral.route_id,
        partner_id=referral.partner_id,
        kind=ReportKind.PROGRESS,
        at=state.opened_at,
        note="Kurs begonnen",
    )
    await handle.signal("referral_report", report)
    await send(handle, "close", Closure(reason="withdrawn"))
    await until(handle, lambda s: s.stage is Stage.CLOSED)
    assert_no_task_failures(await run_histories(harness.client, handle))


async def test_a_referral_survives_a_note_it_cannot_take(
    task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The referral's own handlers are contained too: a progress note whose entry cannot be
    built fails as `Unprocessable`, the referral is unchanged and takes the next note."""
    original = domain.referral.ProgressEntry

    class ArmedEntry(original):  # type: ignore[misc, valid-type]
        def __init__(self, **data: Any) -> None:
            if "poison" in str(data.get("note")):
                raise OverflowError("date value out of range")
            super().__init__(**data)

    monkeypatch.setattr(domain.referral_stages, "ProgressEntry", ArmedEntry)
    sink = InMemoryCaseEventSink()
    activities = CaseActivities(InMemoryDirectory(), sink)
    async with time_skipping_server() as env:
        referral = referral_input(f"case-{uuid.uuid4()}", 1, await env.get_current_time())
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[ReferralWorkflow],
            activities=[activities.record_referral_note],
        ):
            handle = await env.client.start_workflow(
                ReferralWorkflow.run, referral, id=referral.referral_id, task_queue=task_queue
            )
            await handle.execute_update(ReferralWorkflow.acknowledge)
            before = await handle.query(ReferralWorkflow.state)
            with pytest.raises(WorkflowUpdateFailedError) as failed:
                await handle.execute_update(
                    ReferralWorkflow.report_progress, ProgressNote(note="poison")
                )
            assert isinstance(failed.value.cause, ApplicationError)
            assert failed.value.cause.type == UNPROCESSABLE
            assert (await handle.query(ReferralWorkflow.state)).model_dump(
                exclude={"recent_update_ids"}
            ) == before.model_dump(exclude={"recent_update_ids"})
            assert sink.notes == {}

            done = await handle.execute_update(
                ReferralWorkflow.report_progress, ProgressNote(note="Kurs begonnen")
            )
            assert [p.note for p in done.progress] == ["Kurs begonnen"]
            assert [n.note for n in sink.notes.values()] == ["Kurs begonnen"]
            history = await handle.fetch_history()
            assert_no_task_failures([history])
