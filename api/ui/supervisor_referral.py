"""The coordination's page of one referral of its municipality ("/aufsicht/vermittlungen/{id}"),
and its two forms for an escalated one (unanswered after ten working days): take it back
(„Zurückziehen“, with a reason) or hand it to another partner of the same kind („An anderen
Partner geben“: one the directory offers, or the next free one, with a reason).

Scope is the API's `supervised_referral` (a referral of another municipality is 404 like a
missing one, and so is every page here for any other role). Each form sends the update the
API's `POST /supervision/referrals/{id}/withdraw|reroute` sends (`api.supervision`), through the
gateway with the supervisor's actor; the workflow decides (a referral that is no longer
escalated: 409, said above the form). A refusal shows the page again with the error next to
its field and the typed values kept; success returns to the dashboard with a German
confirmation (303, so a reload sends nothing). The page reads only the read model and the
directory (`store.reads.supervision.supervised_referral`): the partner, its kind, the measure
and need, the dates, the centre and counsellor by name, the partners it may go to. Nothing of
the client.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from api import supervision
from api.deps import NOT_FOUND, SupervisedReferralRef
from api.gateway import Gateway
from api.ui import flash, labels
from api.ui.forms import (
    GENERAL,
    FieldMap,
    FormState,
    errors_of_validation,
    idempotency_key,
    optional,
    refusal_passes_through,
    refused_state,
    text,
)
from api.ui.session import Form, PageSupervisedReferral, services_of
from api.ui.web import PageRoute, german_date, redirect, render
from domain.actions import RerouteChoice, WithdrawalReason
from domain.case import ActionResult
from domain.referral import ReferralStatus
from store.projections import ReferralSummary
from store.reads import supervision as supervision_reads
from store.reads.supervision import SupervisedReferralRows

router = APIRouter(route_class=PageRoute, include_in_schema=False)

WITHDRAW, REROUTE = "zurueckziehen", "weitergeben"
FORMS = (WITHDRAW, REROUTE)
# What the dashboard says after a change (its `?erledigt=` keys).
DONE = {
    "zurueckgezogen": (
        "Die Vermittlung ist zurückgezogen. Die Beratungsstelle sieht den Grund im Verlauf der "
        "Vermittlung; die Maßnahme ruht, bis sie sie neu vermittelt."
    ),
    "weitergegeben": (
        "Die Vermittlung ist an den gewählten Partner weitergegeben; die bisherige ist "
        "zurückgezogen."
    ),
    "naechster-partner": (
        "Die Vermittlung geht an den nächsten freien Partner dieser Art; die bisherige ist "
        "zurückgezogen. Gibt es keinen, steht sie unter „Vermittlungen ohne Partner“."
    ),
}
# The workflow may refuse a re-route naming the referral (no routing proposal behind it): the
# form has no such field, so that is said above it.
FIELDS = FieldMap({"referral_id": GENERAL})

Change = Callable[[Gateway, SupervisedReferralRef, Any, str | None], Awaitable[ActionResult]]


def refusal(row: ReferralSummary) -> str | None:
    """Why the coordination may not change the referral now, in German; None when it may.
    The read model's view of the workflow's rule (domain/stages_withdrawal.py: still
    unanswered, and escalated); the workflow checks it again on every change."""
    if row.status is ReferralStatus.DISPATCHED and row.escalated:
        return None
    rule = (
        "Zurückziehen oder an einen anderen Partner geben kann die Koordination nur "
        "eskalierte Vermittlungen, die seit zehn Arbeitstagen unbeantwortet sind."
    )
    if row.status is not ReferralStatus.DISPATCHED:
        label = labels.REFERRAL_STATUS[row.status.value]
        return f"Die Vermittlung ist im Status „{label}“. {rule}"
    when = f"am {german_date(row.escalate_at)}" if row.escalate_at else "nach zehn Arbeitstagen"
    return (
        f"Die Vermittlung ist noch nicht eskaliert: Antwortet der Partner nicht, eskaliert sie "
        f"{when}. Bis dahin klärt die Beratungsstelle sie mit dem Partner. {rule}"
    )


def _read(request: Request, referral_id: str) -> SupervisedReferralRows | None:
    with services_of(request).sessions() as session:
        return supervision_reads.supervised_referral(session, referral_id)


async def _page(
    request: Request,
    referral: SupervisedReferralRef,
    forms: dict[str, FormState] | None = None,
    status_code: int = 200,
) -> Response:
    rows = await run_in_threadpool(_read, request, referral.id)
    if rows is None:
        # The scope check read the row a moment ago: gone only if the read model was reset.
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    shown = {name: (forms or {}).get(name, FormState()) for name in FORMS}
    why_not = refusal(rows.referral)
    # A form refused by the workflow on a page that no longer offers it (the partner answered
    # meanwhile): its message is said above the reason instead.
    refused = (
        [message for state in shown.values() for message in state.errors.values()]
        if why_not
        else []
    )
    context = {
        "rows": rows,
        "row": rows.referral,
        "names": rows.names,
        "why_not": why_not,
        "refused": refused,
        "forms": shown,
        "options": [(option.id, option.name) for option in rows.options],
    }
    return render(request, "supervisor/referral.html", context, status_code)


@router.get("/aufsicht/vermittlungen/{referral_id}", name="ui.supervision.referral")
async def referral_page(request: Request, referral: PageSupervisedReferral) -> Response:
    if refusal := flash.take(request):
        return await _page(request, referral, {refusal.form: refusal.state}, refusal.status)
    return await _page(request, referral)


async def _again(
    request: Request,
    referral: SupervisedReferralRef,
    name: str,
    state: FormState,
    status_code: int,
) -> Response:
    """The form again, by a 303 to the referral's page (api/ui/flash.py); here when too large."""
    page = f"/aufsicht/vermittlungen/{referral.id}"
    if moved := flash.refused(request, page, name, state, status_code, f"{name}-title"):
        return moved
    return await _page(request, referral, {name: state}, status_code)


async def _change(
    request: Request,
    referral: SupervisedReferralRef,
    form: FormData,
    name: str,
    model: type[BaseModel],
    payload: dict[str, Any],
    change: Change,
    done: str,
) -> Response:
    try:
        body = model.model_validate(payload)
        gateway = services_of(request).gateway
        await change(gateway, referral, body, idempotency_key(form))
    except ValidationError as error:
        state = FormState.submitted(form, errors_of_validation(error, FIELDS))
        return await _again(request, referral, name, state, status.HTTP_422_UNPROCESSABLE_CONTENT)
    except HTTPException as error:
        if refusal_passes_through(error):
            raise
        state = refused_state(form, error, FIELDS)
        return await _again(request, referral, name, state, error.status_code)
    return redirect(f"/aufsicht?erledigt={done}")


@router.post(
    "/aufsicht/vermittlungen/{referral_id}/zurueckziehen",
    name="ui.supervision.referral_withdraw",
)
async def withdraw(request: Request, referral: PageSupervisedReferral, form: Form) -> Response:
    """Take the escalated referral back (`POST /supervision/referrals/{id}/withdraw`)."""
    payload = {"reason": text(form, "reason")}
    return await _change(
        request,
        referral,
        form,
        WITHDRAW,
        WithdrawalReason,
        payload,
        supervision.withdraw_escalated,
        "zurueckgezogen",
    )


@router.post(
    "/aufsicht/vermittlungen/{referral_id}/weitergeben",
    name="ui.supervision.referral_reroute",
)
async def reroute(request: Request, referral: PageSupervisedReferral, form: Form) -> Response:
    """Hand the escalated referral to another partner of its kind, or to the next free one
    when none is chosen (`POST /supervision/referrals/{id}/reroute`)."""
    partner_id = optional(form, "partner_id")
    payload = {"partner_id": partner_id, "reason": text(form, "reason")}
    done = "weitergegeben" if partner_id else "naechster-partner"
    return await _change(
        request,
        referral,
        form,
        REROUTE,
        RerouteChoice,
        payload,
        supervision.reroute_escalated,
        done,
    )
