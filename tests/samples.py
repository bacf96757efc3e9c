"""The one sample case of the tests, in every shape they need: a 34-year-old with A2 German,
unemployed, with an engineering degree whose documents are incomplete and a permit. Her intake
and assessment as JSON (what the API and the pages receive) and as the models (what the stage
functions and workflows take), a draft, a routing result written out by hand (so the stage and
workflow tests do not depend on the rule catalog), a directory, a case walked along the happy
path by the pure stage functions, batches of a case as the read model receives them, and the
request of issue 10's crash.

A test that needs other values says so where it uses them, as an override of the sample
(`intake(expires_on=None)`, `INTAKE | {"children": [...]}`), so every difference is visible in
the test. Not a test module itself.
"""

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.actions import (
    AgreementDraft,
    Closure,
    RenderedDocument,
    Signature,
)
from domain.case import (
    CaseEvent,
    CaseEventKind,
    CaseState,
    ClientName,
    ClosureReason,
    Party,
    Stage,
)
from domain.clocks import Clocks
from domain.enums import ActorKind, CentreKind, NeedKind
from domain.needs import Assessment, FollowUp, Need, Route, RoutingResult
from domain.partners import Partner
from domain.profile import IntakeData
from domain.projection import CaseEventBatch, CaseProjection
from domain.rejections import Rejection
from domain.stages import (
    complete_assessment,
    complete_intake,
    open_case,
    request_signature,
    sign,
)
from domain.stages_draft import draft_agreement
from domain.stages_review import close

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
CLIENT = ClientName(given_name="Amina", family_name="Karimi")
MUNICIPALITY = "musterstadt"

# --- the client's intake and assessment ---------------------------------------------------

# Ages, dates and languages fit the default rule catalog: her language and employment needs
# are routed to demo partners. The permit stays valid for years, so the API takes it on any
# day the suite runs.
PERMIT_EXPIRES_ON = date(2030, 3, 1)
INTAKE: dict[str, Any] = {
    "birth_date": "1990-05-17",
    "languages": ["ar", "en"],
    "german_level": "A2",
    "residence": {"status": "permit", "expires_on": PERMIT_EXPIRES_ON.isoformat()},
    "receives_citizens_benefit": True,
    "employment": "unemployed",
    "qualifications": [
        {
            "title": "Bauingenieurin",
            "country": "SY",
            "kind": "academic",
            "regulated": False,
            "documents_complete": False,
        }
    ],
    "goals": ["language", "employment"],
}
ASSESSMENT: dict[str, Any] = {
    "needs": [
        {"kind": "language", "note": "möchte schnell Deutsch lernen", "priority": 1},
        {"kind": "employment", "priority": 2},
    ]
}
# The third need of the stage and workflow tests (routed by `routing()` to a counselling
# without a partner in the directory); a case opened over the API has only the first two.
CREDENTIAL_NEED: dict[str, Any] = {"kind": "credential", "priority": 2}


def intake(expires_on: date | None = PERMIT_EXPIRES_ON, **changes: Any) -> IntakeData:
    """INTAKE as the model, its permit expiring on `expires_on` (None: no date), other fields
    replaced by `changes`."""
    residence = INTAKE["residence"] | {"expires_on": expires_on}
    return IntakeData.model_validate(INTAKE | {"residence": residence} | changes)


def assessment() -> Assessment:
    """ASSESSMENT and CREDENTIAL_NEED as the model."""
    return Assessment.model_validate({"needs": [*ASSESSMENT["needs"], CREDENTIAL_NEED]})


# --- her agreement --------------------------------------------------------------------------

GOALS: list[dict[str, Any]] = [{"text": "Deutsch auf B1"}, {"text": "Arbeit finden"}]


def draft_body(routes: list[dict[str, Any]]) -> dict[str, Any]:
    """The agreement the API is sent for a case with these `routes` (as `GET /cases/{id}`
    shows them): GOALS, and a partner measure for each route that has a partner."""
    measures = [
        {"text": f"Maßnahme {route['measure']}", "responsible": "partner", "route_id": route["id"]}
        for route in routes
        if route["partner_id"] is not None
    ]
    return {"goals": GOALS, "measures": measures}


def draft(route_ids: tuple[str, ...] = ("r1", "r2")) -> AgreementDraft:
    """GOALS as the model, the first with a target date; the given proposals taken into partner
    measures, and one measure of the client's."""
    measures: list[dict[str, Any]] = [
        {"text": f"Maßnahme zu {rid}", "responsible": "partner", "route_id": rid}
        for rid in route_ids
    ]
    measures.append({"text": "Unterlagen für die Anerkennung sammeln", "responsible": "client"})
    goals = [GOALS[0] | {"target_date": date(2026, 3, 1)}, *GOALS[1:]]
    return AgreementDraft.model_validate({"goals": goals, "measures": measures})


def document(text: str = "Vereinbarung v1") -> RenderedDocument:
    return RenderedDocument(text=text, hash=hashlib.sha256(text.encode()).hexdigest())


# --- routing, the directory, and the case along the happy path ------------------------------


def routing(needs: list[Need] | None = None) -> RoutingResult:
    """Language -> course provider, employment -> Jobcenter, credential -> counselling (no
    partner in the directory)."""
    routes = [
        Route(
            need=NeedKind.LANGUAGE,
            need_index=0,
            actor=ActorKind.LANGUAGE_COURSE_PROVIDER,
            measure="integration_course",
            partner_id="sprachkurs",
            rule="lang-integration",
            reason="Deutsch A2 (unter B1), Integrationskurs nicht abgeschlossen.",
            follow_ups=[FollowUp(after_days=42, action="Anmeldung zum Kurs prüfen")],
        ),
        Route(
            need=NeedKind.EMPLOYMENT,
            need_index=1,
            actor=ActorKind.JOBCENTER,
            measure="placement",
            partner_id="jobcenter",
            rule="emp-sgb2",
            reason="Bezieht Bürgergeld (SGB II).",
            follow_ups=[FollowUp(after_days=56, action="Kontakt zur Vermittlung prüfen")],
        ),
        Route(
            need=NeedKind.CREDENTIAL,
            need_index=2,
            actor=ActorKind.RECOGNITION_COUNSELLING,
            measure="recognition_counselling",
            partner_id=None,
            rule="cred-counselling",
            reason="Unterlagen unvollständig.",
            unassigned_reason="Kein Partner der Art „Anerkennungsberatung“ im Verzeichnis.",
        ),
    ]
    if needs is not None:
        kinds = [need.kind for need in needs]
        routes = [
            route.model_copy(update={"need_index": kinds.index(route.need)})
            for route in routes
            if route.need in kinds
        ]
    return RoutingResult(ruleset_version="test-1", routes=routes)


PARTNERS = [
    Partner(
        id="sprachkurs",
        name="VHS Musterstadt",
        kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
        municipality=MUNICIPALITY,
        measures=["integration_course", "job_language_course"],
    ),
    Partner(
        id="sprachkurs-2",
        name="Sprachschule Nord",
        kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
        municipality=MUNICIPALITY,
        measures=["integration_course"],
        open_referrals=3,
    ),
    Partner(
        id="jobcenter",
        name="Jobcenter Musterstadt",
        kind=ActorKind.JOBCENTER,
        municipality=MUNICIPALITY,
        measures=["placement"],
    ),
]


CLOCKS = Clocks()


def ok(result: CaseState | Rejection) -> CaseState:
    assert isinstance(result, CaseState), result
    return result


def opened() -> CaseState:
    return open_case(
        case_id="case-1",
        municipality_id=MUNICIPALITY,
        centre_id="mbe-mitte",
        centre_kind=CentreKind.MBE,
        counsellor_id="berater1",
        land="NW",
        client=CLIENT,
        now=NOW,
    )


def in_stage(stage: Stage) -> CaseState:
    """A case taken along the happy path by the pure stage functions until it is in `stage`
    (in `drafting` before anything is drafted). Her permit expires on 1 March 2026, within the
    case's first year, so its warning fires on the way."""
    state = opened()
    while state.stage is not stage:
        state = ok(_next_step(state))
    return state


def _next_step(state: CaseState) -> CaseState | Rejection:
    if state.stage is Stage.INTAKE:
        return complete_intake(state, intake(expires_on=date(2026, 3, 1)), NOW, CLOCKS)
    if state.stage is Stage.ASSESSMENT:
        return complete_assessment(state, assessment(), routing(), NOW)
    if state.stage is Stage.DRAFTING:
        if state.goals:
            return request_signature(state, document(), NOW)
        return draft_agreement(state, draft(), NOW)
    if state.stage is Stage.AWAITING_SIGNATURE:
        party = Party.COUNSELLOR if state.signatures else Party.CLIENT
        return sign(state, Signature(party=party, document_hash=document().hash), NOW, CLOCKS)
    return close(state, Closure(reason=ClosureReason.WITHDRAWN), NOW)


def active() -> CaseState:
    return in_stage(Stage.ACTIVE)


# --- a dry run of routing ------------------------------------------------------------------

# The request of issue 10's crash, verbatim (not derived from INTAKE: a change of the sample
# must not change the reproduction): a family whose only child is 7, one need, childcare, and
# no qualifications. Every item of the batch (the need and the case-level age-jmd slot, the
# client being 36) matches no rule.
ISSUE_REQUEST: dict[str, Any] = {
    "profile": {
        "birth_date": "1990-05-17",
        "languages": ["ar"],
        "german_level": "A2",
        "residence": {"status": "permit", "expires_on": "2028-03-01"},
        "receives_citizens_benefit": True,
        "employment": "unemployed",
        "children": [{"birth_date": "2019-01-01", "has_childcare": False}],
        "goals": ["childcare"],
    },
    "needs": [{"kind": "childcare", "priority": 1}],
    "today": "2026-11-30",
}


# --- her case as the read model receives it --------------------------------------------------

BATCH_CASE = "case-00000000-0000-4000-8000-000000000001"
BATCH_REFERRAL = f"{BATCH_CASE}-ref-1"


def batch_event(seq: int, kind: CaseEventKind, stage: Stage, **data: Any) -> CaseEvent:
    """Event `seq` of the batch case, `seq` minutes after NOW."""
    return CaseEvent(
        sequence=seq, at=NOW + timedelta(minutes=seq), kind=kind, stage=stage, data=data
    )


def batch_projection(stage: Stage, **changes: Any) -> CaseProjection:
    """The batch case's summary in `stage`, with `changes`."""
    fields: dict[str, Any] = {
        "case_id": BATCH_CASE,
        "municipality_id": MUNICIPALITY,
        "centre_id": "mbe-mitte",
        "counsellor_id": "berater1",
        "stage": stage,
        "opened_at": NOW,
        "next_review_due": None,
        "review_overdue": False,
        "open_task_count": 0,
        "client_given_name": CLIENT.given_name,
        "client_family_name": CLIENT.family_name,
        "client_languages": INTAKE["languages"],
    }
    return CaseProjection(**(fields | changes))


OPENED_BATCH = CaseEventBatch(
    case=batch_projection(Stage.INTAKE),
    events=[
        batch_event(
            1,
            CaseEventKind.CASE_OPENED,
            Stage.INTAKE,
            municipality_id="musterstadt",
            centre_id="mbe-mitte",
            centre_kind="MBE",
            counsellor_id="berater1",
        )
    ],
)
REVIEW_DUE = NOW + timedelta(days=90)
ACTIVATED_BATCH = CaseEventBatch(
    case=batch_projection(Stage.ACTIVE, next_review_due=REVIEW_DUE, open_task_count=1),
    events=[
        # As the first version wrote it (domain/events.py `IntakeCompleted`).
        batch_event(2, CaseEventKind.INTAKE_COMPLETED, Stage.ASSESSMENT, permit_warning_at=None),
        batch_event(
            3,
            CaseEventKind.AGREEMENT_ACTIVATED,
            Stage.ACTIVE,
            version=1,
            next_review_due=REVIEW_DUE.isoformat(),
        ),
        batch_event(
            4,
            CaseEventKind.REFERRAL_DISPATCHED,
            Stage.ACTIVE,
            referral_id=BATCH_REFERRAL,
            route_id="r1",
            measure_id="m1",
            partner_id="sprachschule-musterstadt",
            actor="language_course_provider",
            measure="integration_course",
            need="language",
            previous_referral_id=None,
        ),
        batch_event(
            5,
            CaseEventKind.TASK_CREATED,
            Stage.ACTIVE,
            task_id="t7",
            task_kind="follow_up",
            role="counsellor",
            title="Anmeldung zum Kurs prüfen",
            due_at=(NOW + timedelta(days=42)).isoformat(),
            referral_id=BATCH_REFERRAL,
        ),
    ],
)
LATER_BATCH = CaseEventBatch(
    case=batch_projection(
        Stage.ACTIVE, next_review_due=REVIEW_DUE, review_overdue=True, open_task_count=1
    ),
    events=[
        batch_event(
            6,
            CaseEventKind.REFERRAL_STATUS_CHANGED,
            Stage.ACTIVE,
            referral_id=BATCH_REFERRAL,
            partner_id="sprachschule-musterstadt",
            status="acknowledged",
        ),
        batch_event(
            7,
            CaseEventKind.TASK_CREATED,
            Stage.ACTIVE,
            task_id="t8",
            task_kind="referral_escalation",
            role="supervisor",
            title="Vermittlung eskaliert",
            due_at=None,
            referral_id=BATCH_REFERRAL,
        ),
        batch_event(8, CaseEventKind.TASK_DONE, Stage.ACTIVE, task_id="t7"),
        batch_event(
            9,
            CaseEventKind.REVIEW_RECORDED,
            Stage.ACTIVE,
            review_id="v9",
            due_at=REVIEW_DUE.isoformat(),
            next_review_due=(REVIEW_DUE + timedelta(days=180)).isoformat(),
            agreement_helped=True,
            easier_to_keep_at_it=None,
            new_needs=0,
            goals_achieved=1,
        ),
        batch_event(10, CaseEventKind.REASSIGNED, Stage.ACTIVE, counsellor_id="berater3"),
    ],
)
