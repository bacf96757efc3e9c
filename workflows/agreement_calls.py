"""The commands AgreementWorkflow issues besides changing its state: activities (with their
inputs built from the state), referral children, external cancellations and search
attributes. Workflow code: deterministic, no I/O of its own; each function reads the state it
is given and returns what the case then records.
"""

import contextlib
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import (
    ActivityError,
    FailureError,
    WorkflowAlreadyStartedError,
)

with workflow.unsafe.imports_passed_through():
    from activities.agreement_text import AgreementDocumentInput
    from activities.case import (
        BACKGROUND_CALL,
        CaseActivities,
        PartnerChoice,
        ResolvePartnerInput,
        RouteNeedsInput,
    )
    from domain.actions import RenderedDocument
    from domain.case import CaseState, ReferralRecord, Stage
    from domain.clocks import Clocks
    from domain.compaction import next_document_version, reviews_recorded_by
    from domain.months import german_day
    from domain.needs import Need, RoutingResult
    from domain.projection import CaseEventBatch, CaseProjection
    from domain.referral import OPEN
    from domain.stages_referral import referral_input

from workflows.activity_calls import execute, execute_waited
from workflows.guard import ignore_result
from workflows.referral import ReferralWorkflow
from workflows.search_attributes import (
    CASE_STAGE,
    CENTRE_ID,
    COUNSELLOR_ID,
    MUNICIPALITY_ID,
    NEXT_REVIEW_DUE,
    REVIEW_OVERDUE,
)

# Events per read-model write: well below Temporal's payload limit, even for a case catching
# up after a long read-model outage.
EVENTS_PER_BATCH = 200


def upsert_search_attributes(state: CaseState, upserted: dict[str, str | bool | None]) -> None:
    """Upsert what changed since the values in `upserted` (which this updates; datetimes in ISO
    form, as `CaseState.search_attributes` keeps them). An empty dict upserts everything."""
    wanted: list[tuple[SearchAttributeKey[Any], Any]] = [
        (CASE_STAGE, state.stage.value),
        (MUNICIPALITY_ID, state.municipality_id),
        (CENTRE_ID, state.centre_id),
        (COUNSELLOR_ID, state.counsellor_id),
        (NEXT_REVIEW_DUE, state.next_review_due),  # timezone-aware (UTC)
        (REVIEW_OVERDUE, state.review_overdue),
    ]
    updates: list[SearchAttributeUpdate[Any]] = []
    for key, value in wanted:
        seen = value.isoformat() if isinstance(value, datetime) else value
        if key.name in upserted and upserted[key.name] == seen:
            continue
        upserted[key.name] = seen
        updates.append(key.value_unset() if value is None else key.value_set(value))
    if updates:
        workflow.upsert_search_attributes(updates)


async def route_needs(state: CaseState, needs: list[Need], now: datetime) -> RoutingResult:
    profile = state.profile
    assert profile is not None  # every stage that routes comes after the intake
    input = RouteNeedsInput(
        case_id=state.id,
        municipality_id=state.municipality_id,
        centre_kind=state.centre_kind,
        profile=profile,
        needs=needs,
        today=german_day(now),
    )
    return await execute_waited(CaseActivities.route_needs, input)


def document_input(
    state: CaseState, clocks: Clocks, language: str | None = None
) -> AgreementDocumentInput:
    """What the agreement text is rendered from: the case's next version with the routes its
    measures take, in the edition `language` (None: German only)."""
    taken = {measure.route_id for measure in state.measures}
    return AgreementDocumentInput(
        case_id=state.id,
        number=state.number,
        version=next_document_version(state),
        municipality_id=state.municipality_id,
        centre_id=state.centre_id,
        centre_kind=state.centre_kind,
        client=state.client,
        goals=state.goals,
        measures=state.measures,
        routes=[route for route in state.routes if route.id in taken],
        # An amendment names the date already set; a first agreement counts from signing.
        next_review_due=state.next_review_due if state.stage is Stage.ACTIVE else None,
        first_review_months=clocks.first_review_months,
        max_review_interval_months=clocks.max_review_interval_months,
        language=language,
    )


async def render_agreement(
    state: CaseState, clocks: Clocks, language: str | None = None
) -> RenderedDocument:
    return await execute_waited(
        CaseActivities.render_agreement, document_input(state, clocks, language)
    )


async def next_partner(state: CaseState, referral: ReferralRecord) -> PartnerChoice:
    """The next partner of the referral's kind that has not had it, or why there is none."""
    route = next(r for r in state.routes if r.id == referral.route_id)
    input = ResolvePartnerInput(
        case_id=state.id,
        referral_id=referral.id,
        municipality_id=state.municipality_id,
        route=route.as_route(),
        exclude_partner_ids=referral.tried_partner_ids,
    )
    try:
        return await execute(CaseActivities.resolve_partner, input, BACKGROUND_CALL)
    except ActivityError as err:
        # Retries end only on bad data: the counsellor decides instead.
        workflow.logger.error("Re-routing %s failed: %s", referral.id, err.cause)
        return PartnerChoice(
            partner_id=None, unassigned_reason="Das Partnerverzeichnis lieferte keinen Partner."
        )


async def chosen_partner(
    state: CaseState, referral: ReferralRecord, partner_id: str
) -> PartnerChoice:
    """Whether the partner a person chose may take the referral's measure (active, of the
    route's kind, in the municipality, offering the measure); the reason when not. The
    person waits for the answer: an outage fails the update, the case unchanged."""
    route = next(r for r in state.routes if r.id == referral.route_id)
    input = ResolvePartnerInput(
        case_id=state.id,
        referral_id=referral.id,
        municipality_id=state.municipality_id,
        route=route.as_route(),
        exclude_partner_ids=referral.tried_partner_ids,
        only_partner_id=partner_id,
    )
    return await execute_waited(CaseActivities.resolve_partner, input)


async def cancel_referral(referral: ReferralRecord) -> None:
    """A withdrawn referral's child ends (cancelled, as when the case closes); one that never
    started has nothing to end."""
    if not referral.started:
        return
    try:
        await workflow.get_external_workflow_handle(referral.id).cancel()
    except FailureError as err:
        # Already ended (the partner answered just before): the case's word stands.
        workflow.logger.warning("Referral %s not cancelled: %s", referral.id, type(err).__name__)


async def start_referral(state: CaseState, referral: ReferralRecord, clocks: Clocks) -> None:
    # Already started means an earlier attempt did it: the id is the referral's.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        child = await workflow.start_child_workflow(
            ReferralWorkflow.run,
            referral_input(state, referral, clocks),
            id=referral.id,
            # The default (TERMINATE) would end every referral whenever the case continues as
            # new; the child reaches the case by workflow id, whichever run is current.
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        ignore_result(child)


def next_batch(state: CaseState) -> CaseEventBatch:
    """The next events the read model does not have, with the reviews and referral steps they
    record and any document text the state still carries (states from before the archive)."""
    pending = [e for e in state.events if e.sequence > state.emitted_through][:EVENTS_PER_BATCH]
    recorded = reviews_recorded_by(pending)
    sequences = {event.sequence for event in pending}
    return CaseEventBatch(
        case=CaseProjection.of(state),
        events=pending,
        reviews=[review for review in state.reviews if review.id in recorded],
        referral_steps=[step for step in state.referral_steps if step.sequence in sequences],
        documents=[document for document in state.documents if document.text],
    )


async def emit_events(state: CaseState) -> int:
    """Send the next batch of events the read model does not have yet; the last sequence sent.
    (The way of runs from before the patch `projection-loop`: workflows/agreement_projection.py
    is the way of new runs.)"""
    batch = next_batch(state)
    try:
        await execute(CaseActivities.emit_case_events, batch, BACKGROUND_CALL)
    except ActivityError as err:
        # Only a non-retryable error ends the retries: a bug in the batch, not an outage.
        # Retrying it would stall the case's clocks; the read model is a projection that can
        # be rebuilt from the workflow, so log and go on.
        workflow.logger.error("Case events not projected (%s)", type(err.cause).__name__)
    return batch.events[-1].sequence


async def withdraw_open_referrals(state: CaseState) -> None:
    """The case is closed: its open referrals stop (their children are cancelled)."""
    for referral in state.referrals:
        if referral.started and referral.status in OPEN:
            try:
                await workflow.get_external_workflow_handle(referral.id).cancel()
            except FailureError as err:
                workflow.logger.warning("Referral %s not cancelled: %s", referral.id, err)
