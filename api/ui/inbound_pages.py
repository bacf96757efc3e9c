"""The pages of referrals to a counselling centre, for both sides:

- a partner: "Klientin/Klienten an eine Beratungsstelle vermitteln" (`/vermittlungen/neu`, the
  centres of its municipality to choose from) and its sent referrals with their status
  (`/vermittlungen`);
- a counsellor: "Eingehende Vermittlungen" (`/eingehende-vermittlungen`): the open referrals to
  her centre with everything the partner sent, each to accept (the new case's page follows) or
  to decline with a reason; below, the decided ones.

Every write is the API's (`api.inbound`: refer, accept, decline), every list the same read as
the JSON route (`store.reads.inbound`) with one audit entry per list (`audited_listing`), and
each referral's scope the API's `scoped_inbound_referral`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from api import inbound
from api.deps import SessionDep, audited_listing
from api.ui import flash
from api.ui.forms import (
    FormState,
    errors_of_validation,
    idempotency_key,
    refusal_passes_through,
    refused_state,
    text,
)
from api.ui.session import CounsellorUser, Form, PageInbound, PartnerUser, services_of
from api.ui.web import PageRoute, redirect, render
from domain.inbound import InboundDecline, InboundReferralRequest, InboundStatus
from store.models import Role, User
from store.reads import centres as centre_reads
from store.reads import inbound as inbound_reads
from store.reads import scope as scope_reads

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LIMIT = 200  # referrals a list shows
OPEN = (InboundStatus.OPEN,)
DECIDED = (InboundStatus.ACCEPTED, InboundStatus.DECLINED)
SENT = {"gesendet": "Die Vermittlung ist gesendet. Die Beratungsstelle meldet sich bei der Person."}
DECIDED_DONE = {"abgelehnt": "Abgelehnt. Die vermittelnde Stelle sieht die Begründung."}
# The payload's field -> the form's input (the form's inputs are flat).
FORM_FIELDS = {
    "client.given_name": "given_name",
    "client.family_name": "family_name",
    "contact.phone": "phone",
    "contact.email": "email",
}

_audit_partner_list = audited_listing(Role.PARTNER)
_audit_centre_list = audited_listing(Role.COUNSELLOR)


# --- the partner's side ----------------------------------------------------------------------


async def _new_page(
    request: Request, user: User, form: FormState, status_code: int = 200
) -> Response:
    engine = services_of(request).engine

    def centres() -> list[centre_reads.CentreChoice]:
        municipality_id = scope_reads.home_municipality(engine, user)
        return centre_reads.centres_of(engine, municipality_id) if municipality_id else []

    context = {"form": form, "centres": await run_in_threadpool(centres)}
    return render(request, "inbound/new.html", context, status_code)


@router.get("/vermittlungen/neu", name="ui.inbound.new")
async def new_referral_page(request: Request, user: PartnerUser) -> Response:
    if refusal := flash.take(request):
        return await _new_page(request, user, refusal.state, refusal.status)
    return await _new_page(request, user, FormState())


@router.post("/vermittlungen/neu", name="ui.inbound.create")
async def refer(request: Request, user: PartnerUser, form: Form) -> Response:
    payload: dict[str, Any] = {
        "centre_id": text(form, "centre_id"),
        "client": {
            "given_name": text(form, "given_name"),
            "family_name": text(form, "family_name"),
        },
        "contact": {"phone": text(form, "phone"), "email": text(form, "email")},
        "reason": text(form, "reason"),
        # A checkbox sends its value only when ticked: unticked is no consent.
        "client_consents": text(form, "client_consents") == "ja",
    }
    try:
        body = InboundReferralRequest.model_validate(payload)
        await inbound.refer(services_of(request), user, body, idempotency_key(form))
    except ValidationError as error:
        errors = {FORM_FIELDS.get(k, k): v for k, v in errors_of_validation(error).items()}
        state = FormState.submitted(form, errors)
        status_code: int = status.HTTP_422_UNPROCESSABLE_CONTENT
    except HTTPException as error:
        if refusal_passes_through(error):
            raise
        state, status_code = refused_state(form, error), error.status_code
    else:
        return redirect("/vermittlungen?erledigt=gesendet")
    if moved := flash.refused(request, "/vermittlungen/neu", "new", state, status_code):
        return moved
    return await _new_page(request, user, state, status_code)


@router.get("/vermittlungen", name="ui.inbound.sent")
def sent_page(
    request: Request,
    user: PartnerUser,
    session: SessionDep,
    erledigt: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    _audit_partner_list(request, user, session)
    rows = inbound_reads.sent_referral_list(session, user.partner_id or "", LIMIT)
    return render(request, "inbound/sent.html", {"rows": rows, "done": SENT.get(erledigt)})


# --- the counsellor's side -------------------------------------------------------------------


def _incoming_page(
    request: Request,
    user: User,
    session: SessionDep,
    forms: dict[str, FormState] | None = None,
    status_code: int = 200,
    done: str = "",
) -> Response:
    centre_id = user.centre_id or ""
    open_rows = inbound_reads.centre_referral_list(session, centre_id, OPEN, LIMIT)
    decided = inbound_reads.centre_referral_list(session, centre_id, DECIDED, LIMIT)
    partners = inbound_reads.partner_names(session, {r.partner_id for r in open_rows + decided})
    context = {
        "open_rows": open_rows,
        "decided": decided,
        "partners": partners,
        "forms": forms or {},
        "empty_form": FormState(),
        "done": DECIDED_DONE.get(done),
    }
    return render(request, "inbound/incoming.html", context, status_code)


@router.get("/eingehende-vermittlungen", name="ui.inbound.list")
def incoming_page(
    request: Request,
    user: CounsellorUser,
    session: SessionDep,
    erledigt: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    _audit_centre_list(request, user, session)
    if refusal := flash.take(request):
        forms = {refusal.form: refusal.state}
        return _incoming_page(request, user, session, forms, refusal.status)
    return _incoming_page(request, user, session, done=erledigt)


@router.post("/eingehende-vermittlungen/{inbound_referral_id}/annehmen", name="ui.inbound.accept")
async def accept(request: Request, referral: PageInbound, form: Form) -> Response:
    try:
        accepted = await inbound.accept(services_of(request), referral)
    except HTTPException as error:
        if refusal_passes_through(error):
            raise
        name = f"{referral.id}:annehmen"
        return await _again(
            request, referral.actor, name, refused_state(form, error), error.status_code
        )
    return redirect(f"/faelle/{accepted.case_id}?erledigt=vermittlung")


@router.post("/eingehende-vermittlungen/{inbound_referral_id}/ablehnen", name="ui.inbound.decline")
async def decline(request: Request, referral: PageInbound, form: Form) -> Response:
    try:
        body = InboundDecline.model_validate({"reason": text(form, "reason")})
        await inbound.decline(services_of(request), referral, body)
    except ValidationError as error:
        state = FormState.submitted(form, errors_of_validation(error))
        name = f"{referral.id}:ablehnen"
        return await _again(
            request, referral.actor, name, state, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    except HTTPException as error:
        if refusal_passes_through(error):
            raise
        name = f"{referral.id}:ablehnen"
        return await _again(
            request, referral.actor, name, refused_state(form, error), error.status_code
        )
    return redirect("/eingehende-vermittlungen?erledigt=abgelehnt")


async def _again(
    request: Request, user: User, name: str, state: FormState, status_code: int
) -> Response:
    """The list again with the refused form, by a 303 (api/ui/flash.py); here when too large
    for that."""
    page = "/eingehende-vermittlungen"
    if moved := flash.refused(request, page, name, state, status_code):
        return moved
    return await run_in_threadpool(_with_session, request, user, {name: state}, status_code)


def _with_session(
    request: Request, user: User, forms: dict[str, FormState], status_code: int
) -> Response:
    """The list again, with the refused form's errors next to its referral."""
    with services_of(request).sessions() as session:
        return _incoming_page(request, user, session, forms, status_code)
