"""The partner agency's inbox: referrals sent to it (new, acknowledged, unanswered past the
deadline, done) and the four answers to one: acknowledge, decline with a reason, a progress
note, complete with an outcome.

A partner sees what `GET /referrals` shows (the need, the measure, the client's first name and
languages and the facts its partner kind receives: the signed consent's list; who sent it and
whom to call; the priority and the deadline) and the progress of its own referral, nothing of
the case.
Scope is the API's `scoped_referral`; each answer is the same workflow update as
`POST /referrals/{id}/...`.
"""

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from temporalio.workflow import UpdateMethodMultiParam

from api.deps import ReferralRef, SessionDep, actor_of, audited_listing
from api.partner_view import client_details
from api.ui import flash
from api.ui.forms import (
    FormState,
    errors_of_validation,
    idempotency_key,
    refusal_passes_through,
    refused_state,
    text,
)
from api.ui.session import Form, PageReferral, PartnerUser, services_of
from api.ui.web import PageRoute, redirect, render
from domain.referral import (
    CLOSED,
    DeclineReason,
    Outcome,
    ProgressNote,
    ReferralState,
    ReferralStatus,
    unanswered_past_deadline,
)
from store.archive import referral_notes
from store.directory import OPEN_REFERRAL_STATUSES
from store.models import Role
from store.projections import ReferralNoteRecord, ReferralSummary
from store.reads import inbox as inbox_reads
from store.reads.inbox import Sender
from workflows.referral import ReferralWorkflow

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# The referral's update a form sends (a `ReferralWorkflow` method).
ReferralUpdate = UpdateMethodMultiParam[..., ReferralState]

LIMIT = 200
VIEWS = {
    "offen": "Offen",
    # Named like the status (domain.referral.STATUS_LABELS), as the rows and the page say it.
    "neu": "Übermittelt",
    "ueberfaellig": "Überfällig",
    "angenommen": "Angenommen",
    "erledigt": "Erledigt",
}
DONE = {
    "annahme": "Angenommen. Die Beratungsstelle sieht das sofort.",
    "ablehnung": "Abgelehnt. Die Vermittlung geht an einen anderen Partner oder zurück.",
    "progress": "Zwischenstand gesendet.",
    "ergebnis": "Abgeschlossen. Das Ergebnis steht jetzt in der Vereinbarung.",
}
FORMS = ("annahme", "ablehnung", "progress", "ergebnis")
# Where on the referral's page each form is (a refused form is shown there again).
ANCHORS = {
    "annahme": "annahme-title",
    "ablehnung": "ablehnung",
    "progress": "progress-form-title",
    "ergebnis": "ergebnis-title",
}
# The decline's second step: the form sent again with this, after the page asked.
CONFIRMED = "confirmed"
NOTES_SHOWN = 50  # the newest progress notes on a referral's page
# The statuses of each tab of the inbox; any other tab ("offen") shows the open ones.
TAB_STATUSES: dict[str, Collection[ReferralStatus]] = {
    "neu": (ReferralStatus.DISPATCHED,),
    "ueberfaellig": (ReferralStatus.DISPATCHED,),
    "angenommen": (ReferralStatus.ACKNOWLEDGED,),
    "erledigt": CLOSED,
}

_audit_partner_list = audited_listing(Role.PARTNER)


@router.get("/eingang", name="ui.referral.list")
def inbox(
    request: Request,
    user: PartnerUser,
    session: SessionDep,
    ansicht: Annotated[str, Query(max_length=20)] = "offen",
) -> Response:
    _audit_partner_list(request, user, session)
    view = ansicht if ansicht in VIEWS else "offen"
    now = datetime.now(UTC)
    statuses = TAB_STATUSES.get(view, OPEN_REFERRAL_STATUSES)
    rows = inbox_reads.partner_inbox(session, user.partner_id or "", statuses, LIMIT)
    late = {
        row.id
        for row in rows
        if unanswered_past_deadline(row.status, row.acknowledge_by, row.escalated, now)
    }
    if view == "ueberfaellig":
        rows = [row for row in rows if row.id in late]
    sent_by = inbox_reads.senders(session, (row.case_id for row in rows))
    context = {
        "rows": rows,
        "late": late,
        "view": view,
        "views": VIEWS,
        "counts": tab_counts(inbox_reads.inbox_counts(session, user.partner_id or "", now)),
        "senders": sent_by,
    }
    return render(request, "partner/inbox.html", context)


def tab_counts(counts: inbox_reads.InboxCounts) -> dict[str, int]:
    """How many referrals each tab of the inbox lists (its statuses, as `TAB_STATUSES`)."""
    shown = {
        view: sum(counts.by_status.get(status, 0) for status in statuses)
        for view, statuses in TAB_STATUSES.items()
    }
    shown["offen"] = sum(counts.by_status.get(status, 0) for status in OPEN_REFERRAL_STATUSES)
    shown["ueberfaellig"] = counts.late
    return shown


async def _referral_page(
    request: Request,
    referral: ReferralRef,
    forms: dict[str, FormState] | None = None,
    status_code: int = 200,
    done: str = "",
) -> Response:
    services = services_of(request)

    def read() -> tuple[ReferralSummary | None, list[ReferralNoteRecord], Sender | None]:
        notes = referral_notes(services.engine, referral.id, limit=NOTES_SHOWN)
        row = inbox_reads.referral_row(services.engine, referral.id)
        sender = inbox_reads.sender_of(services.engine, row.case_id) if row else None
        return row, notes, sender

    row, notes, sender = await run_in_threadpool(read)
    state: ReferralState | None = None
    try:
        state = await services.gateway.referral_state(referral.id)
    except HTTPException:
        # A finished referral may not answer queries quickly; the read model row suffices.
        state = None
    current = state.status if state is not None else (row.status if row else None)
    due = row.acknowledge_by if row is not None else None
    context = {
        "referral": referral,
        "row": row,
        "details": client_details(row) if row is not None else [],
        "sender": sender,
        "referral_state": state,
        # The newest notes from the read model; a referral from before it kept them all in
        # its state.
        "notes": notes or (state.progress[-NOTES_SHOWN:] if state is not None else []),
        "note_count": state.note_count() if state is not None else len(notes),
        "status": current,
        "due": due,
        "late": row is not None
        and current is not None
        and unanswered_past_deadline(current, row.acknowledge_by, row.escalated, datetime.now(UTC)),
        "forms": {name: (forms or {}).get(name, FormState()) for name in FORMS},
        "done": DONE.get(done, ""),
    }
    # A referral's page lists every progress note: rendered off the event loop.
    return await run_in_threadpool(render, request, "partner/referral.html", context, status_code)


@router.get("/eingang/{referral_id}", name="ui.referral.read")
async def referral_page(
    request: Request,
    referral: PageReferral,
    erledigt: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    if refusal := flash.take(request):
        forms = {refusal.form: refusal.state}
        return await _referral_page(request, referral, forms, refusal.status)
    return await _referral_page(request, referral, done=erledigt)


async def _again(
    request: Request, referral: ReferralRef, name: str, state: FormState, status_code: int
) -> Response:
    """The form again, by a 303 to the referral's page (api/ui/flash.py); here when too large
    for that."""
    page = f"/eingang/{referral.id}"
    if moved := flash.refused(request, page, name, state, status_code, ANCHORS[name]):
        return moved
    return await _referral_page(request, referral, {name: state}, status_code)


async def _answer(
    request: Request,
    referral: ReferralRef,
    form: FormData,
    name: str,
    update: ReferralUpdate,
    model: type[BaseModel] | None,
    payload: dict[str, Any],
) -> Response:
    try:
        arg = model.model_validate(payload) if model is not None else None
        await services_of(request).gateway.update_referral(
            referral.id, update, arg, key=idempotency_key(form), actor=actor_of(referral.actor)
        )
    except ValidationError as error:
        state = FormState.submitted(form, errors_of_validation(error))
        return await _again(request, referral, name, state, status.HTTP_422_UNPROCESSABLE_CONTENT)
    except HTTPException as error:
        if refusal_passes_through(error):
            raise
        return await _again(request, referral, name, refused_state(form, error), error.status_code)
    return redirect(f"/eingang/{referral.id}?erledigt={name}")


@router.post("/eingang/{referral_id}/annehmen", name="ui.referral.acknowledge")
async def acknowledge(request: Request, referral: PageReferral, form: Form) -> Response:
    return await _answer(request, referral, form, "annahme", ReferralWorkflow.acknowledge, None, {})


@router.post("/eingang/{referral_id}/ablehnen", name="ui.referral.decline")
async def decline(request: Request, referral: PageReferral, form: Form) -> Response:
    payload = {"reason": text(form, "reason")}
    if text(form, CONFIRMED) != "ja":
        # A decline hands the client on and cannot be undone: the page asks first, with the
        # reason as typed (no script needed). A reason that would be refused is said now.
        try:
            DeclineReason.model_validate(payload)
        except ValidationError as error:
            state = FormState.submitted(form, errors_of_validation(error))
            return await _again(request, referral, "ablehnung", state, 422)
        asking = FormState.submitted(form, {})
        return await _again(request, referral, "ablehnung", asking, status.HTTP_200_OK)
    return await _answer(
        request, referral, form, "ablehnung", ReferralWorkflow.decline, DeclineReason, payload
    )


@router.post("/eingang/{referral_id}/zwischenstand", name="ui.referral.progress")
async def progress(request: Request, referral: PageReferral, form: Form) -> Response:
    payload = {"note": text(form, "note")}
    return await _answer(
        request, referral, form, "progress", ReferralWorkflow.report_progress, ProgressNote, payload
    )


@router.post("/eingang/{referral_id}/abschliessen", name="ui.referral.complete")
async def complete(request: Request, referral: PageReferral, form: Form) -> Response:
    payload: dict[str, Any] = {"note": text(form, "note")}
    if text(form, "result"):
        payload["result"] = text(form, "result")
    return await _answer(
        request, referral, form, "ergebnis", ReferralWorkflow.complete, Outcome, payload
    )
