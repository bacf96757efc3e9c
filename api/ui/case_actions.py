"""The counsellor's steps on the case page, each one workflow update through the API's
gateway (the same update, the same id scheme, the same answers as `POST /cases/{id}/...`).

Every step goes the same way (`_step`): parse the form into the API's payload model, send the
update, and on success redirect to the case page (303, so a reload does not send it again).
A refusal redirects too (Post/Redirect/Get, api/ui/flash.py): the case page then shows the form
as typed and each error next to its field; a wrong stage (409) is said above the form as a
stale page, in the workflow's words, with a link to reload. A form naming a row beyond what
its payload list may hold (api/ui/form_rows.py) is refused before anything else.
A handover (reassign, transfer) first runs its API route's directory check (`prepare`), so a
page and the API accept and refuse the same new owners.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from temporalio.workflow import UpdateMethodMultiParam

from api import casework
from api.deps import CaseRef, actor_of
from api.ui import case_forms, flash
from api.ui.case_page import render_case
from api.ui.case_view import CaseView, load_case
from api.ui.form_rows import beyond_limits
from api.ui.forms import (
    GENERAL,
    FieldMap,
    FormState,
    adding_row,
    errors_of_validation,
    idempotency_key,
    refusal_passes_through,
    refused_state,
    text,
)
from api.ui.session import Form, PageCase, services_of
from api.ui.web import PageRoute, redirect
from domain.actions import (
    AgreementDraft,
    Closure,
    OwnMeasureCompletion,
    Reassignment,
    ReferralReroute,
    ReferralSetAside,
    ReferralWithdrawal,
    Review,
    Signature,
    SignatureEdition,
    TaskDone,
    Transfer,
)
from domain.case import ActionResult
from domain.needs import Assessment
from domain.profile import IntakeData
from workflows.agreement import AgreementWorkflow

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Builder = Callable[[FormData, CaseView], tuple[dict[str, Any], FieldMap]]
# The API route's own check before the update (the directory's word on a new owner): it may
# refuse with the API's 422 or complete the payload, exactly as the route does.
Preparation = Callable[[BaseModel], Awaitable[BaseModel]]
# The case's update a form sends (an `AgreementWorkflow` method; its payload is the form's model).
CaseUpdate = UpdateMethodMultiParam[..., ActionResult]

CONFIRM_SIGNATURE = "Bitte bestätigen, dass das Dokument in dieser Fassung unterschrieben ist."


async def _step(
    request: Request,
    case: CaseRef,
    form: FormData,
    form_name: str,
    update: CaseUpdate,
    model: type[BaseModel] | None,
    build: Builder | None,
    anchor: str,
    prepare: Preparation | None = None,
    done_url: str | None = None,
) -> Response:
    if (beyond := beyond_limits(form)) is not None:
        # A row number no page offers (a crafted post): refused before it is shown or sent.
        state = FormState.submitted(form, {GENERAL: beyond})
        return await _again(request, case, form_name, state, 422, anchor)
    if adding_row(form):
        # "Weitere Zeile": the same form again with one more row; nothing is sent.
        return await _again(request, case, form_name, FormState.submitted(form, {}), 200, anchor)
    view = await load_case(request, case)
    payload: BaseModel | None = None
    fields = FieldMap()
    try:
        if model is not None and build is not None:
            raw, fields = build(form, view)
            payload = model.model_validate(raw)
            if prepare is not None:
                payload = await prepare(payload)
        await services_of(request).gateway.update_case(
            case.id, update, payload, key=idempotency_key(form), actor=actor_of(case.actor)
        )
    except ValidationError as error:
        state = FormState.submitted(form, errors_of_validation(error, fields))
        return await _again(request, case, form_name, state, 422, anchor)
    except HTTPException as error:
        if refusal_passes_through(error):
            raise
        # The case may have moved on meanwhile (another tab): the page shows it as it is now.
        state = refused_state(form, error, fields)
        return await _again(request, case, form_name, state, error.status_code, anchor)
    return redirect(done_url or f"/faelle/{case.id}?erledigt={form_name}#{anchor}")


async def _again(
    request: Request,
    case: CaseRef,
    form_name: str,
    state: FormState,
    status_code: int,
    anchor: str,
) -> Response:
    """The form again on the case page: by a 303 to the page, which reads it from the refused
    form's cookie (api/ui/flash.py); at this URL only when it is too large for one."""
    if moved := flash.refused(request, f"/faelle/{case.id}", form_name, state, status_code, anchor):
        return moved
    view = await load_case(request, case)
    view.forms[form_name] = state
    return await render_case(request, case, view, status_code)


def _intake(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
    return case_forms.intake(form)


def _assessment(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
    return case_forms.assessment(form)


def _review(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
    return case_forms.review(form)


def _closure(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
    return case_forms.closure(form)


def _task(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
    return {"task_id": text(form, "task_id")}, FieldMap()


@router.post("/faelle/{case_id}/aufnahme", name="ui.case.intake")
async def intake(request: Request, case: PageCase, form: Form) -> Response:
    return await _step(
        request,
        case,
        form,
        "intake",
        AgreementWorkflow.complete_intake,
        IntakeData,
        _intake,
        "bedarf",
    )


@router.post("/faelle/{case_id}/bedarf", name="ui.case.assessment")
async def assessment(request: Request, case: PageCase, form: Form) -> Response:
    return await _step(
        request,
        case,
        form,
        "assessment",
        AgreementWorkflow.complete_assessment,
        Assessment,
        _assessment,
        "vorschlaege",
    )


@router.post("/faelle/{case_id}/entwurf", name="ui.case.draft")
async def draft(request: Request, case: PageCase, form: Form) -> Response:
    return await _step(
        request,
        case,
        form,
        "draft",
        AgreementWorkflow.draft_agreement,
        AgreementDraft,
        case_forms.draft,
        "aktion-request_signature",
    )


@router.post("/faelle/{case_id}/unterschrift-anfordern", name="ui.case.signature_request")
async def request_signature(request: Request, case: PageCase, form: Form) -> Response:
    return await _step(
        request,
        case,
        form,
        "vorlage",
        AgreementWorkflow.request_signature_edition,
        SignatureEdition,
        case_forms.edition,
        "aktion-sign",
    )


@router.post("/faelle/{case_id}/vorlage-zurueckziehen", name="ui.case.signature_withdrawal")
async def withdraw_signature_request(request: Request, case: PageCase, form: Form) -> Response:
    return await _step(
        request,
        case,
        form,
        "vorlage_zurueck",
        AgreementWorkflow.withdraw_signature_request,
        None,
        None,
        "aktion-request_signature",
    )


@router.post("/faelle/{case_id}/korrektur", name="ui.case.intake_correction")
async def correct_intake(request: Request, case: PageCase, form: Form) -> Response:
    return await _step(
        request,
        case,
        form,
        "korrektur",
        AgreementWorkflow.correct_intake,
        IntakeData,
        _intake,
        "aktion-correct_intake",
    )


@router.post("/faelle/{case_id}/unterschrift", name="ui.case.sign")
async def sign(request: Request, case: PageCase, form: Form) -> Response:
    party = text(form, "party")
    form_name = "sign_client" if party == "client" else "sign_counsellor"
    if "confirmed" not in form:
        state = FormState.submitted(form, {"confirmed": CONFIRM_SIGNATURE})
        return await _again(request, case, form_name, state, 422, "aktion-sign")

    def build(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
        return case_forms.signature(form)

    return await _step(
        request, case, form, form_name, AgreementWorkflow.sign, Signature, build, "aktion-sign"
    )


@router.post("/faelle/{case_id}/ueberpruefung", name="ui.case.review")
async def review(request: Request, case: PageCase, form: Form) -> Response:
    return await _step(
        request,
        case,
        form,
        "review",
        AgreementWorkflow.record_review,
        Review,
        _review,
        "aktion-record_review",
    )


@router.post("/faelle/{case_id}/abschluss", name="ui.case.close")
async def close(request: Request, case: PageCase, form: Form) -> Response:
    return await _step(
        request, case, form, "abschluss", AgreementWorkflow.close, Closure, _closure, "verlauf"
    )


@router.post("/faelle/{case_id}/aufgabe", name="ui.case.task_done")
async def task_done(request: Request, case: PageCase, form: Form) -> Response:
    return await _step(
        request, case, form, "task", AgreementWorkflow.complete_task, TaskDone, _task, "aufgaben"
    )


def _reassignment(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
    return case_forms.reassignment(form)


def _transfer(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
    return case_forms.transfer(form)


@router.post("/faelle/{case_id}/uebergabe", name="ui.case.reassign")
async def reassign(request: Request, case: PageCase, form: Form) -> Response:
    """Hand the case to another counsellor of the centre (`POST /cases/{id}/reassign`). The
    case stays in the centre's scope, so the page shows it again with its new counsellor."""
    services = services_of(request)

    async def checked(payload: BaseModel) -> BaseModel:
        assert isinstance(payload, Reassignment)
        await casework.check_reassignment(services, case, payload)
        return payload

    return await _step(
        request,
        case,
        form,
        "uebergabe",
        AgreementWorkflow.reassign,
        Reassignment,
        _reassignment,
        "uebergabe",
        prepare=checked,
    )


@router.post("/faelle/{case_id}/abgabe", name="ui.case.transfer")
async def transfer(request: Request, case: PageCase, form: Form) -> Response:
    """Transfer the case to another centre of the municipality (`POST /cases/{id}/transfer`).
    The case then leaves the centre's scope: on success the list is shown, not the case."""
    services = services_of(request)

    async def completed(payload: BaseModel) -> BaseModel:
        assert isinstance(payload, Transfer)
        return await casework.complete_transfer(services, case, payload)

    return await _step(
        request,
        case,
        form,
        "abgabe",
        AgreementWorkflow.transfer,
        Transfer,
        _transfer,
        "uebergabe",
        prepare=completed,
        done_url="/faelle?erledigt=abgabe",
    )


def _withdrawal(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
    payload = {
        "referral_id": text(form, "referral_id"),
        "reason": text(form, "reason"),
        "consent_withdrawn": text(form, "consent_withdrawn") == "on",
    }
    return payload, FieldMap()


def _set_aside(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
    payload = {
        "referral_id": text(form, "referral_id"),
        "how": text(form, "how"),
        "reason": text(form, "reason"),
    }
    return payload, FieldMap()


def _hand_on(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
    payload: dict[str, Any] = {
        "referral_id": text(form, "referral_id"),
        "reason": text(form, "reason"),
    }
    if text(form, "partner_id"):
        payload["partner_id"] = text(form, "partner_id")
    return payload, FieldMap()


def _own_measure(form: FormData, view: CaseView) -> tuple[dict[str, Any], FieldMap]:
    payload = {"measure_id": text(form, "measure_id"), "done_on": text(form, "done_on")}
    return payload, FieldMap()


@router.post("/faelle/{case_id}/massnahme-erledigt", name="ui.case.measure_completion")
async def complete_own_measure(request: Request, case: PageCase, form: Form) -> Response:
    """Tick off the client's or the centre's measure with its day
    (`POST /cases/{id}/measures/{measure_id}/completion`)."""
    return await _step(
        request,
        case,
        form,
        "massnahme",
        AgreementWorkflow.complete_own_measure,
        OwnMeasureCompletion,
        _own_measure,
        "vereinbarung",
    )


@router.post("/faelle/{case_id}/vermittlung/zurueckziehen", name="ui.case.referral_withdraw")
async def withdraw_referral(request: Request, case: PageCase, form: Form) -> Response:
    """Take a referral back (`POST /cases/{id}/referrals/{referral_id}/withdraw`)."""
    return await _step(
        request,
        case,
        form,
        "zurueckziehen",
        AgreementWorkflow.withdraw_referral,
        ReferralWithdrawal,
        _withdrawal,
        "vermittlungen",
    )


@router.post("/faelle/{case_id}/vermittlung/weitergeben", name="ui.case.referral_reroute")
async def reroute_referral(request: Request, case: PageCase, form: Form) -> Response:
    """Hand a referral's measure to another partner of its kind
    (`POST /cases/{id}/referrals/{referral_id}/reroute`)."""
    return await _step(
        request,
        case,
        form,
        "weitergeben",
        AgreementWorkflow.reroute_referral,
        ReferralReroute,
        _hand_on,
        "vermittlungen",
    )


@router.post("/faelle/{case_id}/vermittlung/zurueckstellen", name="ui.case.referral_set_aside")
async def set_aside_referral(request: Request, case: PageCase, form: Form) -> Response:
    """Let a measure rest, or report it to the coordination
    (`POST /cases/{id}/referrals/{referral_id}/set-aside`)."""
    return await _step(
        request,
        case,
        form,
        "zurueckstellen",
        AgreementWorkflow.set_aside_referral,
        ReferralSetAside,
        _set_aside,
        "vermittlungen",
    )
