"""The counsellor's cases: open one, list the centre's cases, read one (workflow query), and
every step of DESIGN.md's stage table as a workflow update.

Writes go only through `Gateway.update_case`, naming the `AgreementWorkflow` method: the
workflow validates, decides and answers; the read model follows through the projection. The
list reads the read model (`store.reads.cases`, indexed columns).
"""

from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from temporalio.workflow import UpdateMethodMultiParam

from api import case_archive, casework
from api.agreement_layout import load_layout
from api.deps import (
    CentreListing,
    Counsellor,
    GatewayDep,
    IdempotencyKey,
    MeasurePath,
    ReferralPath,
    ScopedCase,
    ServicesDep,
    SessionDep,
    actor_of,
)
from api.pagination import Page, PageNumber, PageSize, paginate
from api.ui.pdf import agreement_pdf
from domain.actions import (
    AgreementDraft,
    CaseOpen,
    Closure,
    MeasureCompletionDay,
    OwnMeasureCompletion,
    Reassignment,
    ReferralReroute,
    ReferralSetAside,
    ReferralWithdrawal,
    RerouteChoice,
    Review,
    SetAsideChoice,
    Signature,
    SignatureEdition,
    TaskDone,
    Transfer,
    WithdrawalReason,
)
from domain.case import ActionResult, CaseEvent, CaseState, Stage
from domain.fields import SingleLine
from domain.needs import Assessment
from domain.profile import IntakeData
from store import case_numbers
from store.projections import CaseSummary
from store.reads import cases as case_reads
from workflows.agreement import AgreementWorkflow

router = APIRouter(prefix="/cases", tags=["cases"])

Arg = TypeVar("Arg")


SEARCH_LENGTH = 100


class CaseOpened(BaseModel):
    id: str
    number: str  # "MUS-2026-0147": for people; `id` stays the case's id
    stage: Stage
    centre_id: str
    counsellor_id: str


class CaseItem(BaseModel):
    id: str
    number: str  # "MUS-2026-0147" ("" only until a just-opened case is projected)
    stage: str
    client: str  # display name ("Amina K.")
    # The caller's own cases only (the counsellor's list); null for a colleague's case.
    client_name: str | None
    birth_date: date | None
    counsellor_id: str
    next_review_due: datetime | None
    review_overdue: bool
    open_tasks: int
    opened_at: datetime
    updated_at: datetime


class SignatureRequested(BaseModel):
    document_hash: str
    version: int
    stage: Stage


class AgreementDocument(BaseModel):
    version: int
    hash: str
    text: str
    created_at: datetime
    signed_by: list[str]
    # The bilingual edition's language (its translation is part of `text`); null: German only.
    language: str | None = None


class History(BaseModel):
    case_id: str
    events: list[CaseEvent]


def _item(row: CaseSummary, username: str) -> CaseItem:
    own = row.counsellor_id == username
    full_name = f"{row.client_given_name} {row.client_family_name}".strip()
    return CaseItem(
        id=row.case_id,
        number=row.number,
        stage=row.stage,
        client=row.client_display_name,
        client_name=(full_name or row.client_display_name) if own else None,
        birth_date=row.client_birth_date if own else None,
        counsellor_id=row.counsellor_id,
        next_review_due=row.next_review_due,
        review_overdue=row.review_overdue,
        open_tasks=row.open_task_count,
        opened_at=row.opened_at,
        updated_at=row.updated_at,
    )


@router.post("", name="case.open", status_code=status.HTTP_201_CREATED)
async def open_case(
    body: CaseOpen, user: Counsellor, services: ServicesDep, key: IdempotencyKey = None
) -> CaseOpened:
    """Open a case at the caller's centre, with the caller as counsellor."""
    opened = await casework.open_case(services, user, body, key)
    return CaseOpened(
        id=opened.case_id,
        number=opened.number,
        stage=opened.stage,
        centre_id=opened.centre_id,
        counsellor_id=opened.counsellor_id,
    )


@router.get("", name="case.list")
def list_cases(
    user: CentreListing,
    session: SessionDep,
    stage: Stage | None = None,
    overdue: bool | None = None,
    counsellor: Annotated[
        SingleLine | None,
        Query(max_length=64, description="Nur Fälle dieser Beraterin / dieses Beraters."),
    ] = None,
    q: Annotated[
        SingleLine | None,
        Query(
            max_length=SEARCH_LENGTH,
            description="Name (Schreibvarianten werden gefunden) oder Fall-Nr.",
        ),
    ] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[CaseItem]:
    """The centre's cases, most recently changed first; `q` finds cases by the client's name
    (every word, tolerant of transliteration: Hadad finds Haddad) or by case number."""
    found = case_reads.centre_case_page(
        session,
        user.centre_id or "",
        page,
        page_size,
        stage=stage,
        overdue=overdue,
        counsellor=counsellor,
        search=q.strip() if q and q.strip() else None,
    )
    return paginate(found, page, page_size, lambda row: _item(row, user.username))


async def _state(gateway: GatewayDep, case: ScopedCase) -> CaseState:
    return await gateway.case_state(case.id)


@router.get("/{case_id}", name="case.read")
async def read_case(case: ScopedCase, gateway: GatewayDep, services: ServicesDep) -> dict[str, Any]:
    """The whole case as the workflow knows it (`state()` query); each referral with its
    `history` [{`at`, `status`, `note`, `by`}], oldest first (from the archive and the
    case); `by` says whose step it was: `partner`, `counsellor`, `coordination` or `case`."""
    state = await _state(gateway, case)
    timelines = await case_archive.referral_timelines(services.engine, state)
    # Update ids are bookkeeping; the document texts are served by /agreement; the steps the
    # case has not projected yet are in the referrals' histories.
    found = state.model_dump(
        mode="json",
        exclude={
            "recent_updates": True,
            "referral_steps": True,
            "documents": {"__all__": {"text"}},
        },
    )
    if found["number"] is None:
        # A case opened before numbers: its number lives in the read model (store/case_identity.py).
        found["number"] = await run_in_threadpool(case_numbers.number_of, services.engine, case.id)
    for referral in found["referrals"]:
        referral["history"] = [
            step.model_dump(mode="json", include={"at", "status", "note", "by"})
            for step in timelines.get(referral["id"], [])
        ]
    return found


@router.get("/{case_id}/agreement", name="case.agreement")
async def agreement(
    case: ScopedCase, gateway: GatewayDep, services: ServicesDep
) -> AgreementDocument:
    """The current agreement document: the text the client signs, with its SHA-256 (from the
    archive, where every rendered version is kept for good)."""
    state = await _state(gateway, case)
    current = await case_archive.document(services.engine, state)
    return AgreementDocument(
        version=current.version,
        hash=current.hash,
        text=current.text,
        created_at=current.created_at,
        signed_by=sorted(current.signed),
        language=current.language,
    )


@router.get(
    "/{case_id}/agreement.pdf",
    name="case.agreement_pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def agreement_pdf_file(
    case: ScopedCase, gateway: GatewayDep, services: ServicesDep
) -> Response:
    """The current agreement version as a PDF to print and sign: letterhead, the signed text
    (in its edition, German with the client's language where chosen), signature fields and,
    once signed, the signature record; the SHA-256 on every page."""
    state = await _state(gateway, case)
    if state.number is None:
        # A case opened before numbers: its number lives in the read model.
        state.number = await run_in_threadpool(case_numbers.number_of, services.engine, case.id)
    current = await case_archive.document(services.engine, state)
    layout = await run_in_threadpool(load_layout, services.engine, state, current)
    # Laying out a long agreement takes a while: not on the event loop.
    content = await run_in_threadpool(agreement_pdf, layout)
    filename = f"vereinbarung-{layout.number}-fassung-{current.version}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/{case_id}/history", name="case.history")
async def history(case: ScopedCase, gateway: GatewayDep, services: ServicesDep) -> History:
    """Everything that happened to the case, in order (ids, kinds and dates only)."""
    state = await _state(gateway, case)
    return History(case_id=case.id, events=await case_archive.history(services.engine, state))


CaseUpdate = UpdateMethodMultiParam[[AgreementWorkflow, Arg], ActionResult]


async def _act(
    gateway: GatewayDep, case: ScopedCase, update: CaseUpdate[Arg], arg: Arg, key: str | None
) -> ActionResult:
    return await gateway.update_case(case.id, update, arg, key=key, actor=actor_of(case.actor))


@router.post("/{case_id}/intake", name="case.intake")
async def complete_intake(
    body: IntakeData, case: ScopedCase, gateway: GatewayDep, key: IdempotencyKey = None
) -> ActionResult:
    return await _act(gateway, case, AgreementWorkflow.complete_intake, body, key)


@router.post("/{case_id}/assessment", name="case.assessment")
async def complete_assessment(
    body: Assessment, case: ScopedCase, gateway: GatewayDep, key: IdempotencyKey = None
) -> ActionResult:
    return await _act(gateway, case, AgreementWorkflow.complete_assessment, body, key)


@router.post("/{case_id}/agreement", name="case.draft")
async def draft_agreement(
    body: AgreementDraft, case: ScopedCase, gateway: GatewayDep, key: IdempotencyKey = None
) -> ActionResult:
    return await _act(gateway, case, AgreementWorkflow.draft_agreement, body, key)


@router.post("/{case_id}/signature-request", name="case.signature_request")
async def request_signature(
    case: ScopedCase,
    gateway: GatewayDep,
    body: SignatureEdition | None = None,
    key: IdempotencyKey = None,
) -> SignatureRequested:
    """Render the current draft as the next version and present it for signing. The optional
    body `{"language": "<code>"}` chooses a bilingual edition: German, the binding text, with
    each block followed by its translation (`ar`, `prs`/`fa`, `uk`, `ru`, `tr`, `en`);
    without it, German only. The hash covers the whole text, translation included."""
    result = await gateway.update_case(
        case.id,
        AgreementWorkflow.request_signature_edition,
        body or SignatureEdition(),
        key=key,
        actor=actor_of(case.actor),
    )
    if result.document is None:  # the workflow always renders one; never trust silently
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Kein Dokument erzeugt.")
    return SignatureRequested(
        document_hash=result.document.hash, version=result.document.version, stage=result.stage
    )


@router.post("/{case_id}/signature-request/withdrawal", name="case.signature_withdrawal")
async def withdraw_signature_request(
    case: ScopedCase, gateway: GatewayDep, key: IdempotencyKey = None
) -> ActionResult:
    """Take back the document presented for signing while nobody has signed it: the case goes
    back to drafting (to active for an amendment); its hash can no longer be signed."""
    return await gateway.update_case(
        case.id, AgreementWorkflow.withdraw_signature_request, key=key, actor=actor_of(case.actor)
    )


@router.post("/{case_id}/intake-corrections", name="case.intake_correction")
async def correct_intake(
    body: IntakeData, case: ScopedCase, gateway: GatewayDep, key: IdempotencyKey = None
) -> ActionResult:
    """The whole intake as corrected (after its completion, not while a document awaits
    signatures); the case's history records each changed field with its old and new value."""
    return await _act(gateway, case, AgreementWorkflow.correct_intake, body, key)


@router.post("/{case_id}/signatures", name="case.sign")
async def sign(
    body: Signature, case: ScopedCase, gateway: GatewayDep, key: IdempotencyKey = None
) -> ActionResult:
    return await _act(gateway, case, AgreementWorkflow.sign, body, key)


@router.post("/{case_id}/reviews", name="case.review")
async def record_review(
    body: Review, case: ScopedCase, gateway: GatewayDep, key: IdempotencyKey = None
) -> ActionResult:
    return await _act(gateway, case, AgreementWorkflow.record_review, body, key)


@router.post("/{case_id}/close", name="case.close")
async def close(
    body: Closure, case: ScopedCase, gateway: GatewayDep, key: IdempotencyKey = None
) -> ActionResult:
    return await _act(gateway, case, AgreementWorkflow.close, body, key)


@router.post("/{case_id}/reassign", name="case.reassign")
async def reassign(
    body: Reassignment,
    case: ScopedCase,
    gateway: GatewayDep,
    services: ServicesDep,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Hand the case to another counsellor of the same centre."""
    await casework.check_reassignment(services, case, body)
    return await _act(gateway, case, AgreementWorkflow.reassign, body, key)


@router.post("/{case_id}/transfer", name="case.transfer")
async def transfer(
    body: Transfer,
    case: ScopedCase,
    gateway: GatewayDep,
    services: ServicesDep,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Hand the case to another centre of the municipality (the case stays one workflow)."""
    completed = await casework.complete_transfer(services, case, body)
    return await _act(gateway, case, AgreementWorkflow.transfer, completed, key)


@router.post("/{case_id}/tasks/done", name="case.task_done")
async def complete_task(
    body: TaskDone, case: ScopedCase, gateway: GatewayDep, key: IdempotencyKey = None
) -> ActionResult:
    """Mark one of the case's tasks done (a follow-up checked, a permit renewed, ...)."""
    return await _act(gateway, case, AgreementWorkflow.complete_task, body, key)


@router.post("/{case_id}/measures/{measure_id}/completion", name="case.measure_completion")
async def complete_own_measure(
    body: MeasureCompletionDay,
    case: ScopedCase,
    measure_id: MeasurePath,
    gateway: GatewayDep,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Tick off a measure the client or the centre carries out itself, with the day it was
    done (not in the future, not before the agreement came into force). A partner's measure
    is completed by the partner (422 naming `measure_id`); a measure of another case answers
    404, like a missing one; only in an active case (409 otherwise)."""
    completion = OwnMeasureCompletion(measure_id=measure_id, done_on=body.done_on)
    return await _act(gateway, case, AgreementWorkflow.complete_own_measure, completion, key)


@router.post("/{case_id}/referrals/{referral_id}/withdraw", name="case.referral_withdraw")
async def withdraw_referral(
    body: WithdrawalReason,
    case: ScopedCase,
    referral_id: ReferralPath,
    gateway: GatewayDep,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Take an open referral of the case back, with the reason: it leaves the partner's inbox
    and its workflow ends; the measure rests until it is handed on or the agreement amended.
    `consent_withdrawn`: the client withdrew her consent for the measure; the case records it
    and the measure is not handed on again. A referral of another case answers 404, like a
    missing one."""
    change = ReferralWithdrawal(
        referral_id=referral_id, reason=body.reason, consent_withdrawn=body.consent_withdrawn
    )
    return await _act(gateway, case, AgreementWorkflow.withdraw_referral, change, key)


@router.post("/{case_id}/referrals/{referral_id}/reroute", name="case.referral_reroute")
async def reroute_referral(
    body: RerouteChoice,
    case: ScopedCase,
    referral_id: ReferralPath,
    gateway: GatewayDep,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Hand the measure of the latest referral (open, declined or expired) to another partner
    of the same kind: `partner_id`, or the next the directory offers. 422 naming `partner_id`
    when that partner does not fit."""
    change = ReferralReroute(
        referral_id=referral_id, partner_id=body.partner_id, reason=body.reason
    )
    return await _act(gateway, case, AgreementWorkflow.reroute_referral, change, key)


@router.post("/{case_id}/referrals/{referral_id}/set-aside", name="case.referral_set_aside")
async def set_aside_referral(
    body: SetAsideChoice,
    case: ScopedCase,
    referral_id: ReferralPath,
    gateway: GatewayDep,
    key: IdempotencyKey = None,
) -> ActionResult:
    """The measure of a referral that went nowhere (declined, expired, withdrawn) waits:
    `how` `rest` lets it rest, `coordination` reports it to the municipality's coordination
    for want of a partner (a task of theirs). 409 for a referral that is open or superseded."""
    change = ReferralSetAside(referral_id=referral_id, how=body.how, reason=body.reason)
    return await _act(gateway, case, AgreementWorkflow.set_aside_referral, change, key)
