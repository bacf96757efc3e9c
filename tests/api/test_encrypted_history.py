"""Temporal holds no personal data in plaintext (issue 15): a case run to active with a
distinctive client, read back through a plain Temporal client without Lotse's codec, shows
none of her profile in any payload of the case's or its referrals' histories; every payload
there is encrypted under the case's key; the search attributes are plaintext and hold none of
it either. Lotse's own client reads the same histories in clear.
"""

from datetime import timedelta

import pytest
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.common import HeaderCodecBehavior
from temporalio.service import RPCError
from temporalio.worker import Replayer

from app.payload_codec import ENCODING, KEY_ID, EncryptionCodec, PayloadKeyUnavailable
from tests.api_harness import Lotse, eventually
from tests.case_histories import open_payloads, payloads_in
from tests.key_harness import session_converter
from tests.samples import ASSESSMENT, INTAKE
from workflows.actor_header import ActorInterceptor
from workflows.agreement import AgreementWorkflow
from workflows.referral import ReferralWorkflow

GIVEN, FAMILY = "Zephyrine", "Quaxelbrot"
BIRTH_DATE = "1987-03-14"
QUALIFICATION = "Wasserbauingenieurin"
NOTE = "möchte schnell Quokka-Deutsch lernen"
INTAKE_OF_HER = INTAKE | {
    "birth_date": BIRTH_DATE,
    "qualifications": [INTAKE["qualifications"][0] | {"title": QUALIFICATION}],
}
ASSESSMENT_OF_HER = {"needs": [ASSESSMENT["needs"][0] | {"note": NOTE}, *ASSESSMENT["needs"][1:]]}
# Every form her profile takes in a payload: JSON text, and the German date of the document.
SECRETS = [GIVEN, FAMILY, BIRTH_DATE, "14.03.1987", QUALIFICATION, "Quokka"]


def _patch_marker(event: HistoryEvent) -> bool:
    """A `workflow.patched` marker: its details (the patch's id) are written by the SDK's core
    as plain JSON, past any codec; they name code, never data."""
    return (
        event.HasField("marker_recorded_event_attributes")
        and event.marker_recorded_event_attributes.marker_name == "core_patch"
    )


async def _active_case_of_her(lotse: Lotse) -> tuple[str, list[str]]:
    body = {"client": {"given_name": GIVEN, "family_name": FAMILY}}
    case_id: str = (await lotse.ok("berater1", "POST", "/cases", json=body))["id"]
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=INTAKE_OF_HER)
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/assessment", json=ASSESSMENT_OF_HER)
    await lotse.sign_agreement(case_id)

    async def referrals_started() -> list[str] | None:
        state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
        referrals = state["referrals"]
        if state["stage"] != "active" or not referrals or not all(r["started"] for r in referrals):
            return None
        return [r["id"] for r in referrals]

    return case_id, await eventually(referrals_started)


async def test_no_profile_field_is_readable_without_lotses_codec(lotse: Lotse) -> None:
    case_id, referral_ids = await _active_case_of_her(lotse)
    plain = await Client.connect(lotse.settings.temporal_address)  # no codec, default converter
    codec = EncryptionCodec(lotse.keys)
    readable_with_codec = False
    for workflow_id in [case_id, *referral_ids]:
        handle = plain.get_workflow_handle(workflow_id)
        history = await handle.fetch_history()
        raw = b"".join(event.SerializeToString() for event in history.events)
        for secret in SECRETS:
            assert secret.encode() not in raw, f"{secret} in the history of {workflow_id}"
        events = [e for e in history.events if not _patch_marker(e)]
        for field, payload in (p for event in events for p in payloads_in(event)):
            if field == "indexed_fields":
                continue  # search attributes: checked below
            assert payload.metadata["encoding"] == ENCODING, (workflow_id, field)
            # The case's key, for the case and its referrals alike (erasure shreds them all).
            # Update headers (`fields`: the staff member acting, never the client) are encoded
            # by the SDK's client without the workflow's context: the system key.
            allowed = {case_id.encode(), b"system"} if field == "fields" else {case_id.encode()}
            assert payload.metadata[KEY_ID] in allowed, (workflow_id, field)
            [clear] = await codec.decode([payload])
            readable_with_codec |= GIVEN.encode() in clear.data
        # Search attributes stay plaintext (Temporal indexes them) and hold none of her data.
        described = await handle.describe()
        attributes = described.raw_description.workflow_execution_info.search_attributes
        assert attributes.indexed_fields or workflow_id != case_id, "the case has its attributes"
        for name, value in attributes.indexed_fields.items():
            assert value.metadata["encoding"] == b"json/plain", name
            for secret in SECRETS:
                assert secret.encode() not in value.data, (workflow_id, name)
    # The test is not vacuous: with Lotse's codec the same payloads hold her name.
    assert readable_with_codec
    query = await lotse.client.get_workflow_handle(case_id).query("state")
    assert query["client"]["family_name"] == FAMILY


async def test_encrypted_histories_replay_and_are_saved_in_clear(lotse: Lotse) -> None:
    case_id, referral_ids = await _active_case_of_her(lotse)
    histories = [
        await lotse.client.get_workflow_handle(workflow_id).fetch_history()
        for workflow_id in [case_id, *referral_ids]
    ]
    replayer = Replayer(
        workflows=[AgreementWorkflow, ReferralWorkflow],
        data_converter=session_converter(),
        interceptors=[ActorInterceptor()],
        header_codec_behavior=HeaderCodecBehavior.CODEC,
    )
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None
    # tests/histories keeps them decrypted (the session's keys end with it): they replay too.
    for history in histories:
        for event in history.events:
            open_payloads(event)
        assert not any(_payloads_sealed(event) for event in history.events)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None
    assert any(GIVEN.encode() in e.SerializeToString() for e in histories[0].events)


def _payloads_sealed(event: HistoryEvent) -> bool:
    return any(p.metadata.get("encoding") == ENCODING for _, p in payloads_in(event))


async def test_a_destroyed_key_fails_its_case_clearly_and_the_worker_goes_on(lotse: Lotse) -> None:
    erased = await lotse.open_case(given="Ida")
    other = await lotse.open_case(given="Ada")
    lotse.keys.destroy(erased)
    handle = lotse.client.get_workflow_handle(erased)
    # The worker cannot seal the answer: it fails that workflow task (logged with the key id,
    # retried) and the caller gets no answer, never a plaintext one.
    with pytest.raises((WorkflowQueryFailedError, RPCError)):
        await handle.query("state", rpc_timeout=timedelta(seconds=2))
    with pytest.raises(PayloadKeyUnavailable):
        await _decoded_input(lotse, erased)
    # The worker serves every other case as before.
    state = await lotse.ok("berater1", "GET", f"/cases/{other}")
    assert state["stage"] == "intake"


async def _decoded_input(lotse: Lotse, case_id: str) -> object:
    history = await lotse.client.get_workflow_handle(case_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    return await lotse.client.data_converter.decode(started.input.payloads)
