"""A referral without its case: `ReportRecorder`, a tiny parent workflow that stands in for the
case (it records the `referral_report` signals it receives, with the run that received them,
and continues as new once, to show that reports follow the case to its new run), the input of
a referral, and polling helpers.

Used by the referral workflow, worker and bounded-state tests; not a test module itself.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.workflow import ParentClosePolicy

# Passed through like the workflows' own imports of domain/: the sandbox would import them
# afresh, and domain/languages.py reads its German names through gettext at import.
with workflow.unsafe.imports_passed_through():
    from domain.clocks import Clocks
    from domain.enums import ActorKind, NeedKind
    from domain.needs import Route
    from domain.referral import ReferralInput, ReferralReport, ReportKind
from workflows.referral import REPORT_SIGNAL, ReferralWorkflow


class RecordedReport(BaseModel):
    run_id: str
    report: ReferralReport


class RecorderInput(BaseModel):
    continue_after_reports: int = 1  # continue as new once, after this many reports; 0: never
    continued: bool = False
    recorded: list[RecordedReport] = Field(default_factory=list)
    # Start this referral as a child (as the case does) before anything else.
    child: ReferralInput | None = None


@workflow.defn
class ReportRecorder:
    """Stands in for the case: records each report with the run that received it."""

    @workflow.init
    def __init__(self, input: RecorderInput) -> None:
        self._recorded = list(input.recorded)
        self._stopped = False

    @workflow.run
    async def run(self, input: RecorderInput) -> list[RecordedReport]:
        if input.child is not None and not input.continued:
            await workflow.start_child_workflow(
                ReferralWorkflow.run,
                input.child,
                id=input.child.referral_id,
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        if input.continue_after_reports and not input.continued:
            await workflow.wait_condition(
                lambda: len(self._recorded) >= input.continue_after_reports
            )
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(
                RecorderInput(
                    continue_after_reports=input.continue_after_reports,
                    continued=True,
                    recorded=self._recorded,
                )
            )
        await workflow.wait_condition(lambda: self._stopped)
        return self._recorded

    @workflow.signal(name=REPORT_SIGNAL)
    def referral_report(self, report: ReferralReport) -> None:
        self._recorded.append(RecordedReport(run_id=workflow.info().run_id, report=report))

    @workflow.signal
    def stop(self) -> None:
        self._stopped = True

    @workflow.query
    def reports(self) -> list[RecordedReport]:
        return self._recorded


T = TypeVar("T")


def referral_input(
    case_id: str, n: int, dispatched_at: datetime, clocks: Clocks | None = None, land: str = "NW"
) -> ReferralInput:
    return ReferralInput(
        referral_id=f"{case_id}-ref-{n}",
        case_id=case_id,
        route_id=f"route-{n}",
        route=Route(
            need=NeedKind.LANGUAGE,
            actor=ActorKind.LANGUAGE_COURSE_PROVIDER,
            measure="integration_course",
            partner_id="sprachkurs",
            rule="lang-1",
            reason="Deutschkenntnisse unter B1",
        ),
        partner_id="sprachkurs",
        land=land,
        dispatched_at=dispatched_at,
        clocks=clocks or Clocks(),
    )


async def start_recorder(
    client: Client, task_queue: str, continue_after_reports: int = 1
) -> WorkflowHandle[ReportRecorder, list[RecordedReport]]:
    return await client.start_workflow(
        ReportRecorder.run,
        RecorderInput(continue_after_reports=continue_after_reports),
        id=f"case-{uuid.uuid4()}",
        task_queue=task_queue,
    )


async def reports_of(client: Client, case_id: str) -> list[RecordedReport]:
    # By id only: the recorder's run changes when it continues as new.
    return await client.get_workflow_handle_for(ReportRecorder.run, case_id).query(
        ReportRecorder.reports
    )


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 20
) -> T:
    """Poll `probe` until `done` (signals and visibility arrive asynchronously)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if done(value) or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


def kinds(recorded: list[RecordedReport], referral_id: str | None = None) -> list[ReportKind]:
    return [r.report.kind for r in recorded if referral_id in (None, r.report.referral_id)]
