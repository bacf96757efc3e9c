"""The workflow checks who is asking (domain/actor.py): every update the API sends carries the
actor, and the case or referral refuses one that is not its current owner, whatever the read
model says. A counsellor cannot mark a supervisor's task done; a supervisor of the
municipality, and no one else, gives a case waiting after a transfer its counsellor."""

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import HeaderCodecBehavior
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from api.gateway import with_actor_header
from domain.actions import Closure, Reassignment
from domain.actor import Actor, ActorRole
from domain.case import CaseState, Stage, TaskKind, TaskRole
from domain.referral import ProgressNote, ReferralState
from store.models import User
from store.projections import CaseSummary, ReferralSummary
from tests.api_harness import Lotse, eventually
from tests.case_histories import REGENERATE, save_histories
from tests.key_harness import session_converter
from workflows.actor_header import HEADER, ActorInterceptor, sending_as
from workflows.agreement import AgreementWorkflow
from workflows.referral import ReferralWorkflow


async def case_state(lotse: Lotse, case_id: str) -> CaseState:
    handle = lotse.client.get_workflow_handle(case_id)
    return await handle.query(AgreementWorkflow.state)


def read_model_lags(lotse: Lotse, case_id: str, centre_id: str) -> None:
    """Put the case's read-model row back at `centre_id`, as if the projection of a transfer
    had not landed yet (it lands a moment after the update answers)."""
    with Session(lotse.engine) as session:
        row = session.get(CaseSummary, case_id)
        assert row is not None
        row.centre_id = centre_id
        session.add(row)
        session.commit()


async def test_the_old_centre_is_refused_by_the_case_even_if_the_read_model_lags(
    lotse: Lotse,
) -> None:
    case_id = await lotse.case_in_drafting("berater1")
    moved = {"centre_id": "mbe-nord", "counsellor_id": "berater2"}
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/transfer", json=moved)
    before = await case_state(lotse, case_id)
    await lotse.projected(case_id, before.last_sequence)
    read_model_lags(lotse, case_id, "mbe-mitte")

    # The API's scope check passes on the stale row; the case itself says no, like a 404.
    draft = {"goals": [{"text": "Deutsch auf B1"}], "measures": []}
    refused = await lotse.post("berater1", f"/cases/{case_id}/agreement", json=draft)
    assert refused.status_code == 404 and refused.json() == {"detail": "Nicht gefunden."}
    closing = await lotse.post("berater1", f"/cases/{case_id}/close", json={"reason": "withdrawn"})
    assert closing.status_code == 404
    after = await case_state(lotse, case_id)
    assert after.goals == [] and after.stage is Stage.DRAFTING
    assert after.last_sequence == before.last_sequence  # nothing happened

    # The new centre's counsellor goes on.
    read_model_lags(lotse, case_id, "mbe-nord")
    await lotse.ok("berater2", "POST", f"/cases/{case_id}/agreement", json=draft)
    assert [g.text for g in (await case_state(lotse, case_id)).goals] == ["Deutsch auf B1"]

    # The history holds each update's actor and replays with the worker's interceptor.
    history = await lotse.client.get_workflow_handle(case_id).fetch_history()
    replayer = Replayer(
        workflows=[AgreementWorkflow],
        data_converter=session_converter(),
        header_codec_behavior=HeaderCodecBehavior.CODEC,
        interceptors=[ActorInterceptor()],
    )
    assert (
        await replayer.replay_workflow(history, raise_on_replay_failure=False)
    ).replay_failure is None
    accepted = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.header
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert accepted and all(HEADER in header.fields for header in accepted)


async def test_an_update_from_someone_else_is_refused_straight_at_temporal(lotse: Lotse) -> None:
    case_id = await lotse.open_case("berater1")
    handle = with_actor_header(lotse.client).get_workflow_handle(case_id)
    strangers = [
        Actor(user_id="berater2", role=ActorRole.COUNSELLOR, centre_id="mbe-nord"),
        Actor(user_id="koordination", role=ActorRole.SUPERVISOR),
        Actor(user_id="sprachkurs", role=ActorRole.PARTNER, partner_id="sprachkurs"),
    ]
    for actor in strangers:
        with sending_as(actor), pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("close", Closure(reason="withdrawn"), result_type=dict)
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == "NotFound"
    assert (await case_state(lotse, case_id)).stage is Stage.INTAKE


async def test_a_counsellor_cannot_mark_a_supervisors_task_done(lotse: Lotse) -> None:
    case_id = await lotse.open_case("berater1")
    # Handed to another centre without a counsellor: the supervisors get a task.
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/transfer", json={"centre_id": "mbe-nord"})
    state = await case_state(lotse, case_id)
    [task] = [t for t in state.open_tasks() if t.kind is TaskKind.CASE_UNASSIGNED]
    assert task.role is TaskRole.SUPERVISOR
    await lotse.projected(case_id, state.last_sequence)

    refused = await lotse.post(
        "berater2", f"/cases/{case_id}/tasks/done", json={"task_id": task.id}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "task_id", "message": "Diese Aufgabe ist eine Aufgabe der Koordination."}
    ]
    after = await case_state(lotse, case_id)
    assert [t.id for t in after.open_tasks()] == [task.id]


async def test_a_referral_answers_only_its_own_agency(lotse: Lotse) -> None:
    case_id = await lotse.active_case("berater1")

    def language_referral() -> str | None:
        with Session(lotse.engine) as session:
            own = session.get(User, "sprachkurs")
            assert own is not None
            return session.exec(
                select(ReferralSummary.id).where(
                    ReferralSummary.case_id == case_id,
                    ReferralSummary.partner_id == own.partner_id,
                )
            ).first()

    referral_id = await eventually(language_referral)
    handle = with_actor_header(lotse.client).get_workflow_handle(referral_id)
    other = Actor(user_id="jobcenter", role=ActorRole.PARTNER, partner_id="jobcenter")
    with sending_as(other), pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("acknowledge", result_type=ReferralState)
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "NotFound"
    with sending_as(other), pytest.raises(WorkflowUpdateFailedError):
        note = ProgressNote(note="Einstufung")
        await handle.execute_update("report_progress", note, result_type=ReferralState)
    state = await handle.query(ReferralWorkflow.state)
    assert state.status.value == "dispatched" and state.progress == []
    # Its own agency, through the API, which sends the actor.
    await lotse.ok("sprachkurs", "POST", f"/referrals/{referral_id}/acknowledge")
    assert (await handle.query(ReferralWorkflow.state)).status.value == "acknowledged"


async def test_only_the_municipality_s_coordination_assigns_a_waiting_case_at_temporal(
    lotse: Lotse,
) -> None:
    """The case's own check, whatever the API let through: another municipality's supervisor
    and the old centre's counsellor are refused like a missing case; the municipality's
    supervisor gives the case a counsellor of the centre that holds it, and the history with
    her reassignment replays."""
    case_id = await lotse.open_case("berater1")
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/transfer", json={"centre_id": "mbe-nord"})
    handle = with_actor_header(lotse.client).get_workflow_handle(case_id)
    change = Reassignment(counsellor_id="berater2", centre_id="mbe-nord")
    for stranger in (
        Actor(user_id="fremd", role=ActorRole.SUPERVISOR, municipality_id="anderswo"),
        Actor(user_id="berater1", role=ActorRole.COUNSELLOR, centre_id="mbe-mitte"),
        Actor(user_id="sprachkurs", role=ActorRole.PARTNER, partner_id="sprachkurs"),
    ):
        with sending_as(stranger), pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(AgreementWorkflow.reassign, change)
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == "NotFound", stranger.user_id
    supervisor = Actor(
        user_id="koordination", role=ActorRole.SUPERVISOR, municipality_id="musterstadt"
    )
    with sending_as(supervisor):
        await handle.execute_update(AgreementWorkflow.reassign, change)
    state = await case_state(lotse, case_id)
    assert state.counsellor_id == "berater2" and state.open_tasks() == []

    history = await handle.fetch_history()
    replayer = Replayer(
        workflows=[AgreementWorkflow],
        data_converter=session_converter(),
        header_codec_behavior=HeaderCodecBehavior.CODEC,
        interceptors=[ActorInterceptor()],
    )
    replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None
    if REGENERATE:
        save_histories("coordination_assignment", [history])
