"""Sample payloads of one case (a 34-year-old with A2 German, unemployed, an engineering degree
with incomplete documents, permit expiring in about a year) shared by the stage-machine and
workflow tests. The routing result is written out by hand, so these tests do not depend on the
rule catalog."""

import hashlib
from datetime import UTC, date, datetime

from domain.actions import (
    AgreementDraft,
    Closure,
    DraftGoal,
    DraftMeasure,
    RenderedDocument,
    Signature,
)
from domain.case import CaseState, ClientName, ClosureReason, Party, Responsible, Stage
from domain.clocks import Clocks
from domain.enums import ActorKind, CentreKind, NeedKind
from domain.needs import Assessment, FollowUp, Need, Route, RoutingResult
from domain.partners import Partner
from domain.profile import IntakeData
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


def intake(expires_on: date | None = date(2026, 3, 1)) -> IntakeData:
    return IntakeData.model_validate(
        {
            "birth_date": "1990-05-17",
            "languages": ["ar", "en"],
            "german_level": "A2",
            "residence": {"status": "permit", "expires_on": expires_on},
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
            "goals": ["language", "employment", "recognition"],
        }
    )


def assessment() -> Assessment:
    return Assessment(
        needs=[
            Need(kind=NeedKind.LANGUAGE, note="möchte schnell Deutsch lernen", priority=1),
            Need(kind=NeedKind.EMPLOYMENT, priority=2),
            Need(kind=NeedKind.CREDENTIAL, priority=2),
        ]
    )


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


def draft(route_ids: tuple[str, ...] = ("r1", "r2")) -> AgreementDraft:
    """Goals for language and work; the given proposals taken into partner measures."""
    measures = [
        DraftMeasure(text=f"Maßnahme zu {rid}", responsible=Responsible.PARTNER, route_id=rid)
        for rid in route_ids
    ]
    measures.append(
        DraftMeasure(text="Unterlagen für die Anerkennung sammeln", responsible=Responsible.CLIENT)
    )
    return AgreementDraft(
        goals=[
            DraftGoal(text="Deutsch auf B1", target_date=date(2026, 3, 1)),
            DraftGoal(text="Arbeit als Bauzeichnerin"),
        ],
        measures=measures,
    )


def document(text: str = "Vereinbarung v1") -> RenderedDocument:
    return RenderedDocument(text=text, hash=hashlib.sha256(text.encode()).hexdigest())


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
    (in `drafting` before anything is drafted)."""
    state = opened()
    while state.stage is not stage:
        state = ok(_next_step(state))
    return state


def _next_step(state: CaseState) -> CaseState | Rejection:
    if state.stage is Stage.INTAKE:
        return complete_intake(state, intake(), NOW, CLOCKS)
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
