"""The stage machine, from opening a case to the signed agreement: one pure function per
counsellor action, `(state, payload, [what an activity computed], now) -> CaseState | Rejection`.

    intake --complete_intake--> assessment --complete_assessment--> drafting
    drafting --draft_agreement--> drafting --request_signature--> awaiting_signature
    awaiting_signature --sign (client and counsellor)--> active
    active --draft_agreement + request_signature--> awaiting_signature (an amendment)
    awaiting_signature --withdraw_signature_request (nobody signed)--> drafting, or active
        for an amendment
    assessment | drafting | active --correct_intake--> the same stage (refused while a
        document awaits signatures: withdraw it first)

Each action has a `check_*` twin that the workflow's update validator calls: it looks only at
the state and the payload (never at what an activity will compute), so a refusal is decided
before anything enters history. The functions never change their input; they return a copy.
Drafting lives in stages_draft.py, reviews, closing and ownership in stages_review.py, clocks
in stages_clock.py, referral reports in stages_referral.py, intake corrections and the
withdrawal of a signature request in stages_correction.py.
"""

from datetime import datetime

from pydantic import ValidationError

from domain.actions import RenderedDocument, Signature
from domain.case import (
    CaseRoute,
    CaseState,
    ClientName,
    DocumentVersion,
    Party,
    Responsible,
    SignatureRecord,
    Stage,
    TaskKind,
)
from domain.case_log import finish_tasks, new_id, record
from domain.clocks import Clocks
from domain.compaction import next_document_version
from domain.enums import CentreKind
from domain.events import (
    AgreementActivated,
    AssessmentCompleted,
    CaseOpened,
    IntakeCompleted,
    RoutesProposed,
    SignatureRequested,
    Signed,
)
from domain.months import german_day, later_by, start_of_german_day
from domain.needs import Assessment, Need, RoutingResult
from domain.profile import IntakeData, validate_intake
from domain.rejections import Invalid, Rejection, from_validation_error, require_allowed
from domain.stage_table import Action
from domain.stages_referral import dispatch_measure, schedule_follow_ups


def open_case(
    *,
    case_id: str,
    municipality_id: str,
    centre_id: str,
    centre_kind: CentreKind,
    counsellor_id: str,
    land: str,
    client: ClientName | None,
    now: datetime,
    number: str | None = None,
) -> CaseState:
    state = CaseState(
        id=case_id,
        municipality_id=municipality_id,
        centre_id=centre_id,
        centre_kind=centre_kind,
        counsellor_id=counsellor_id,
        land=land,
        client=client,
        opened_at=now,
        number=number,
    )
    record(
        state,
        CaseOpened(
            municipality_id=municipality_id,
            centre_id=centre_id,
            centre_kind=centre_kind,
            counsellor_id=counsellor_id,
        ),
        now,
    )
    return state


def check_complete_intake(state: CaseState, data: IntakeData, now: datetime) -> Rejection | None:
    if wrong := require_allowed(state, Action.COMPLETE_INTAKE):
        return wrong
    # The payload arrived without "today": run the checks that need it (birth date in the
    # future, permit already expired) once more with it.
    try:
        validate_intake(data.model_dump(), today=german_day(now))
    except ValidationError as err:
        return from_validation_error(err)
    return None


def complete_intake(
    state: CaseState, data: IntakeData, now: datetime, clocks: Clocks
) -> CaseState | Rejection:
    if rejection := check_complete_intake(state, data, now):
        return rejection
    new = state.fork()
    new.profile = data
    expires_on = data.residence.expires_on
    if expires_on is not None:
        new.permit_warning_at = start_of_german_day(expires_on) - clocks.permit_warning_before
    new.stage = Stage.ASSESSMENT
    # No dates of the profile in the event: the warning date would reveal the permit's expiry.
    record(new, IntakeCompleted(), now)
    return new


def check_complete_assessment(
    state: CaseState, assessment: Assessment, now: datetime
) -> Rejection | None:
    return require_allowed(state, Action.COMPLETE_ASSESSMENT)


def complete_assessment(
    state: CaseState, assessment: Assessment, routing: RoutingResult, now: datetime
) -> CaseState | Rejection:
    if rejection := check_complete_assessment(state, assessment, now):
        return rejection
    new = state.fork()
    add_needs(new, assessment.needs, routing, now)
    new.stage = Stage.DRAFTING
    record(new, AssessmentCompleted(needs=len(assessment.needs)), now)
    return new


def add_needs(state: CaseState, needs: list[Need], routing: RoutingResult, at: datetime) -> None:
    """Store needs and their routing proposals; a route's `need_index` then points into
    `state.needs` (the rules counted from 0 in the list they were given)."""
    offset = len(state.needs)
    state.needs.extend(needs)
    added: list[str] = []
    for route in routing.routes:
        fields = route.model_dump() | {"need_index": route.need_index + offset}
        proposal = CaseRoute(**fields, id=new_id(state, "r"))
        state.routes.append(proposal)
        added.append(proposal.id)
    state.unrouted.extend(
        item.model_copy(update={"need_index": item.need_index + offset})
        for item in routing.unrouted
    )
    state.ruleset_version = routing.ruleset_version
    record(
        state,
        RoutesProposed(
            ruleset_version=routing.ruleset_version,
            routes=len(routing.routes),
            unrouted=len(routing.unrouted),
            route_ids=",".join(added),
        ),
        at,
    )


def check_request_signature(state: CaseState, now: datetime) -> Rejection | None:
    if wrong := require_allowed(state, Action.REQUEST_SIGNATURE):
        return wrong
    if state.stage is Stage.DRAFTING and not state.goals:
        return Invalid("agreement", "Es gibt noch keinen Entwurf der Vereinbarung.")
    if state.stage is Stage.ACTIVE and not state.amendment_pending:
        return Invalid(
            "agreement",
            "Die Vereinbarung ist unverändert unterschrieben; erst einen geänderten Entwurf "
            "speichern.",
        )
    return None


def request_signature(
    state: CaseState, document: RenderedDocument, now: datetime
) -> CaseState | Rejection:
    if rejection := check_request_signature(state, now):
        return rejection
    new = state.fork()
    version = next_document_version(state)
    new.documents.append(
        DocumentVersion(
            version=version,
            hash=document.hash,
            text=document.text,
            created_at=now,
            consent_terms=document.consent_terms,
            language=document.language,
        )
    )
    new.stage = Stage.AWAITING_SIGNATURE
    record(new, SignatureRequested(version=version, hash=document.hash), now)
    return new


def check_sign(state: CaseState, signature: Signature, now: datetime) -> Rejection | None:
    if wrong := require_allowed(state, Action.SIGN):
        return wrong
    current = state.documents[-1]
    if any(d.hash == signature.document_hash and d.withdrawn_at for d in state.documents):
        return Invalid(
            "document_hash",
            "Diese Fassung wurde zurückgezogen und kann nicht mehr unterschrieben werden. "
            "Bitte die Vereinbarung neu laden.",
        )
    if signature.document_hash != current.hash:
        return Invalid(
            "document_hash",
            f"Unterschrieben werden kann nur die aktuelle Fassung (Version {current.version}); "
            "das Dokument hat sich seitdem geändert. Bitte die Vereinbarung neu laden.",
        )
    if any(s.party is signature.party and s.version == current.version for s in state.signatures):
        return Invalid("party", "Diese Fassung ist von dieser Seite bereits unterschrieben.")
    return None


def sign(
    state: CaseState, signature: Signature, now: datetime, clocks: Clocks
) -> CaseState | Rejection:
    if rejection := check_sign(state, signature, now):
        return rejection
    new = state.fork()
    current = new.documents[-1]
    new.signatures.append(
        SignatureRecord(party=signature.party, version=current.version, hash=current.hash, at=now)
    )
    record(new, Signed(party=signature.party, version=current.version), now)
    signed_by = {s.party for s in new.signatures if s.version == current.version}
    if signed_by == set(Party):
        _activate(new, now, clocks)
    return new


def _activate(state: CaseState, now: datetime, clocks: Clocks) -> None:
    """Both signed: the agreement is in force. The client's signature is the consent to share
    with the partner kinds the document names, so only now are referrals dispatched."""
    state.stage = Stage.ACTIVE
    state.amendment_pending = False
    # An amendment a corrected intake made due (domain/stages_correction.py) is now signed.
    finish_tasks(state, now, kinds=frozenset({TaskKind.AMENDMENT_DUE}))
    if state.activated_at is None:
        state.activated_at = now
        state.next_review_due = later_by(
            now, clocks.first_review_months, clocks.review_interval_override
        )
        state.review_due_noticed = False
        state.review_reminded = False
    routes = {route.id: route for route in state.routes}
    for measure in state.measures:
        if measure.route_id is None or measure.activated_at is not None:
            continue
        measure.activated_at = now
        route = routes[measure.route_id]
        if measure.responsible is Responsible.PARTNER and measure.partner_id is not None:
            dispatch_measure(state, measure, route, measure.partner_id, now, clocks, previous=None)
        else:
            schedule_follow_ups(state, route, None, now)
    record(
        state,
        AgreementActivated(
            version=state.documents[-1].version, next_review_due=state.next_review_due
        ),
        now,
    )
