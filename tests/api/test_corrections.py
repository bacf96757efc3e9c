"""The way back over HTTP: `POST /cases/{id}/intake-corrections` (hostile and out-of-range
values refused with a German 422 naming the field, nothing changed; an unchanged correction
refused; a valid one in the history with old and new values) and
`POST /cases/{id}/signature-request/withdrawal` (with an idempotency key; the withdrawn hash
cannot be signed; a correction while a document awaits signatures is a 409 saying what to do).
"""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from api.gateway import with_actor_header
from domain.actor import Actor, ActorRole
from domain.profile import IntakeData
from domain.stages_correction import UNCHANGED, WITHDRAW_FIRST
from tests.api_harness import Lotse, running_lotse, time_skipping_server
from tests.hostile_values import store_texts_are_clean, variants, with_value
from tests.samples import INTAKE, draft_body
from workflows.actor_header import sending_as

CHILD = {"birth_date": "2020-02-01", "has_childcare": True}
FIELDS = {
    "qualifications.0.title": "line",
    "birth_date": "date",
    "residence.expires_on": "date",
    "children.0.birth_date": "date",
}


@pytest.fixture(scope="module")
async def lotse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lotse]:
    async with (
        time_skipping_server() as env,
        running_lotse(env, tmp_path_factory.mktemp("lotse")) as lotse,
    ):
        yield lotse


async def _facts(lotse: Lotse, case_id: str) -> tuple[Any, ...]:
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    return (state["stage"], state["next_sequence"], state["profile"], state["routes"])


async def test_hostile_corrections_are_422_naming_the_field_and_change_nothing(
    lotse: Lotse,
) -> None:
    case_id = await lotse.case_in_drafting()
    path = f"/cases/{case_id}/intake-corrections"
    body = INTAKE | {"children": [CHILD]}
    before = await _facts(lotse, case_id)
    for field, kind in FIELDS.items():
        for label, value, words in variants(kind):
            response = await lotse.post("berater1", path, json=with_value(body, field, value))
            where = f"{field} {label}"
            assert response.status_code == 422, f"{where}: {response.text}"
            messages = {e["field"]: e["message"] for e in response.json()["errors"]}
            assert words in messages.get(field, ""), f"{where}: {messages}"
    # Out of range for a birth date: in the future.
    response = await lotse.post(
        "berater1", path, json=body | {"birth_date": "2199-01-01", "german_level": "A2"}
    )
    assert response.status_code == 422
    assert "Zukunft" in str(response.json())
    assert (await _facts(lotse, case_id)) == before
    assert store_texts_are_clean(lotse.engine)


async def test_a_correction_is_recorded_with_old_and_new_value_and_an_unchanged_one_refused(
    lotse: Lotse,
) -> None:
    case_id = await lotse.case_in_drafting()
    path = f"/cases/{case_id}/intake-corrections"
    unchanged = await lotse.post("berater1", path, json=INTAKE)
    assert unchanged.status_code == 422, unchanged.text
    assert UNCHANGED in unchanged.text

    corrected = INTAKE | {"birth_date": "1991-01-01"}
    key = {"Idempotency-Key": f"korrektur-{uuid.uuid4()}"}
    first = await lotse.ok("berater1", "POST", path, json=corrected, headers=key)
    again = await lotse.ok("berater1", "POST", path, json=corrected, headers=key)
    assert first == again and first["stage"] == "drafting"
    history = await lotse.ok("berater1", "GET", f"/cases/{case_id}/history")
    corrections = [e["data"] for e in history["events"] if e["kind"] == "intake_corrected"]
    assert corrections == [{"field": "birth_date", "old": '"1990-05-17"', "new": '"1991-01-01"'}]
    assert any(e["kind"] == "routes_recomputed" for e in history["events"])


async def test_a_presented_document_is_withdrawn_and_its_hash_refused(lotse: Lotse) -> None:
    case_id = await lotse.case_in_drafting()
    base = f"/cases/{case_id}"
    state = await lotse.ok("berater1", "GET", base)
    await lotse.ok("berater1", "POST", f"{base}/agreement", json=draft_body(state["routes"]))
    requested = await lotse.ok("berater1", "POST", f"{base}/signature-request")

    blocked = await lotse.post(
        "berater1", f"{base}/intake-corrections", json=INTAKE | {"birth_date": "1991-01-01"}
    )
    assert blocked.status_code == 409 and WITHDRAW_FIRST in blocked.text

    key = {"Idempotency-Key": f"zurueck-{uuid.uuid4()}"}
    withdrawn = await lotse.ok(
        "berater1", "POST", f"{base}/signature-request/withdrawal", headers=key
    )
    assert withdrawn["stage"] == "drafting"
    repeated = await lotse.ok(
        "berater1", "POST", f"{base}/signature-request/withdrawal", headers=key
    )
    assert repeated == withdrawn
    # Without the key a second withdrawal finds nothing awaiting signatures.
    twice = await lotse.post("berater1", f"{base}/signature-request/withdrawal")
    assert twice.status_code == 409

    renewed = await lotse.ok("berater1", "POST", f"{base}/signature-request")
    assert renewed["version"] == requested["version"] + 1
    stale = {"party": "client", "document_hash": requested["document_hash"]}
    refused = await lotse.post("berater1", f"{base}/signatures", json=stale)
    assert refused.status_code == 422 and "zurückgezogen" in refused.text
    signed = {"party": "client", "document_hash": renewed["document_hash"]}
    await lotse.ok("berater1", "POST", f"{base}/signatures", json=signed)
    too_late = await lotse.post("berater1", f"{base}/signature-request/withdrawal")
    assert too_late.status_code == 422 and "bereits unterschrieben" in too_late.text


async def test_someone_else_is_refused_by_the_case_itself_as_not_found(lotse: Lotse) -> None:
    case_id = await lotse.case_in_drafting()
    before = await _facts(lotse, case_id)
    handle = with_actor_header(lotse.client).get_workflow_handle(case_id)
    corrected = IntakeData.model_validate(INTAKE | {"birth_date": "1991-01-01"})
    strangers = [
        Actor(user_id="berater2", role=ActorRole.COUNSELLOR, centre_id="mbe-nord"),
        Actor(user_id="koordination", role=ActorRole.SUPERVISOR),
    ]
    for actor in strangers:
        for name, args in (("correct_intake", [corrected]), ("withdraw_signature_request", [])):
            with sending_as(actor), pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(name, args=args, result_type=dict)
            assert isinstance(refused.value.cause, ApplicationError), name
            assert refused.value.cause.type == "NotFound", name
    assert (await _facts(lotse, case_id)) == before
