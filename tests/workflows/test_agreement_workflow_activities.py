"""The case activities on their own (ActivityEnvironment, no server): routing with the real
rules and an in-memory directory, the rendered agreement and its consent clause, partner
resolution for re-routing, and idempotent event delivery."""

from datetime import date, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.agreement_text import AgreementDocumentInput, sha256
from activities.case import CaseActivities, ResolvePartnerInput, RouteNeedsInput
from activities.case_events import CaseEventBatch, CaseProjection, InMemoryCaseEventSink
from activities.directory import InMemoryDirectory
from domain.actions import RenderedDocument
from domain.case import (
    CaseEvent,
    CaseEventKind,
    CaseRoute,
    CaseState,
    Measure,
    Responsible,
    Stage,
)
from domain.clocks import Clocks
from domain.enums import ActorKind, CentreKind, NeedKind
from domain.partners import Partner
from domain.stages import request_signature
from domain.stages_draft import draft_agreement
from tests.samples import (
    MUNICIPALITY,
    NOW,
    PARTNERS,
    active,
    assessment,
    document,
    draft,
    in_stage,
    intake,
)
from workflows import agreement_calls

ENV = ActivityEnvironment()


RECOGNITION_OFFICE = Partner(
    id="anerkennung",
    name="Anerkennungsstelle Musterstadt",
    kind=ActorKind.RECOGNITION_OFFICE,
    municipality=MUNICIPALITY,
    measures=["recognition_procedure"],
)


def activities(sink: InMemoryCaseEventSink | None = None) -> CaseActivities:
    directory = InMemoryDirectory(
        [*PARTNERS, RECOGNITION_OFFICE],
        {MUNICIPALITY: "Musterstadt"},
        {"mbe-mitte": "MBE Musterstadt-Mitte"},
    )
    return CaseActivities(directory, sink or InMemoryCaseEventSink())


def document_input(state: CaseState) -> AgreementDocumentInput:
    # What the workflow sends, with the default clocks.
    return agreement_calls.document_input(state, Clocks())


async def test_route_needs_routes_by_the_rules_and_picks_partners_from_the_directory() -> None:
    input = RouteNeedsInput(
        case_id="case-1",
        municipality_id=MUNICIPALITY,
        centre_kind=CentreKind.MBE,
        profile=intake(),
        needs=assessment().needs,
        today=date(2025, 3, 3),
    )
    result = await ENV.run(activities().route_needs, input)
    assert [(r.rule, r.partner_id) for r in result.routes] == [
        ("lang-integration", "sprachkurs"),
        ("emp-sgb2", "jobcenter"),
        ("cred-counselling", None),
    ]
    assert result.routes[2].unassigned_reason and result.ruleset_version


async def test_route_needs_with_a_bad_municipality_id_fails_for_good() -> None:
    input = RouteNeedsInput(
        case_id="case-1",
        municipality_id="../etc",
        centre_kind=CentreKind.MBE,
        profile=intake(),
        needs=assessment().needs,
        today=date(2025, 3, 3),
    )
    with pytest.raises(ApplicationError) as failed:
        await ENV.run(activities().route_needs, input)
    assert failed.value.type == "RulesInvalid" and failed.value.non_retryable


async def rendered(input: AgreementDocumentInput) -> tuple[RenderedDocument, str]:
    """The activity's answer (the hash only) and the text it archived before answering."""
    sink = InMemoryCaseEventSink()
    document = await ENV.run(activities(sink).render_agreement, input)
    assert document.text == ""  # the case keeps the hash; the text lives in the read model
    text = sink.documents[(input.case_id, input.version, document.hash)]
    assert sha256(text) == document.hash
    return document, text


async def test_the_rendered_agreement_is_deterministic_and_names_what_partners_receive() -> None:
    state = in_stage(Stage.AWAITING_SIGNATURE)
    input = document_input(state)
    first, text = await rendered(input)
    again, _ = await rendered(input)
    assert first == again
    assert "Amina Karimi" in text and "Deutsch auf B1 (bis 01.03.2026)" in text
    # The centre and the municipality by their names, not their directory ids.
    assert (
        "der Beratungsstelle „MBE Musterstadt-Mitte“ (Migrationsberatung für erwachsene "
        "Zugewanderte) in Musterstadt." in text
    )
    assert "mbe-mitte" not in text
    assert (
        "Sprachkursträger „VHS Musterstadt“" in text and "Jobcenter „Jobcenter Musterstadt“" in text
    )
    assert first.consent_terms == 2  # the case learns which clause it holds
    consent = text[text.index("4. Einwilligung") :]
    # One entry per partner measure, none for the client's; each names its kind's data.
    assert consent.count("    Daten: ") == 2
    assert (
        "Daten: Vorname, Sprachen, Art des Bedarfs, vorgesehene Maßnahme, Deutschkenntnisse.\n"
        in (consent)
    )
    assert (
        "Daten: Vorname, Sprachen, Art des Bedarfs, vorgesehene Maßnahme, Familienname, "
        "Geburtsdatum.\n"
    ) in consent
    assert "Anerkennungsberatung" not in consent  # not taken into a measure: not named
    assert "3 Monate nach Unterzeichnung" in text
    # A different draft is a different document.
    changed = input.model_copy(update={"goals": input.goals[:1]})
    assert (await ENV.run(activities().render_agreement, changed)).hash != first.hash


async def test_the_consent_clause_names_the_kind_the_partner_now_and_exactly_its_data() -> None:
    state = in_stage(Stage.AWAITING_SIGNATURE)
    input = document_input(state)
    recognition = CaseRoute(
        id="r9",
        need=NeedKind.CREDENTIAL,
        actor=ActorKind.RECOGNITION_OFFICE,
        measure="recognition_procedure",
        partner_id="anerkennung",
        rule="cred-regulated",
        reason="reglementierter Beruf, Unterlagen vollständig",
        qualification="Ärztin",
    )
    input.routes = [*(r for r in input.routes if r.id == "r1"), recognition]
    input.measures = [
        Measure(
            id="m1",
            text="Integrationskurs besuchen",
            responsible=Responsible.PARTNER,
            route_id="r1",
            partner_id="sprachkurs",
        ),
        Measure(
            id="m2",
            text="Anerkennung als Ärztin beantragen",
            responsible=Responsible.PARTNER,
            route_id="r9",
            partner_id="anerkennung",
        ),
        Measure(id="m3", text="Zeugnisse übersetzen lassen", responsible=Responsible.CLIENT),
    ]
    _, text = await rendered(input)
    consent = text[text.index("4. Einwilligung") : text.index("Unterschriften")]
    assert consent.splitlines()[4:8] == [
        "  - „Integrationskurs besuchen“ (Bedarf: Sprache): an einen Träger von Integrations- "
        "oder Berufssprachkursen in Musterstadt, derzeit: VHS Musterstadt.",
        "    Daten: Vorname, Sprachen, Art des Bedarfs, vorgesehene Maßnahme, Deutschkenntnisse.",
        "  - „Anerkennung als Ärztin beantragen“ (Bedarf: Anerkennung ausländischer Abschlüsse): "
        "an eine für die Anerkennung zuständige Stelle in Musterstadt, derzeit: "
        "Anerkennungsstelle Musterstadt.",
        "    Daten: Vorname, Sprachen, Art des Bedarfs, vorgesehene Maßnahme, Bezeichnung der "
        "Qualifikation, Herkunftsland der Qualifikation, Stand der Unterlagen – nur zur "
        "Qualifikation „Ärztin“.",
    ]
    assert "Zeugnisse übersetzen" not in consent  # the client's own measure shares nothing
    # Nothing a language school or a recognition office does not receive is named.
    for never in ("Familienname", "Geburtsdatum", "Aufenthalt", "Kinder", "Alter"):
        assert never not in consent, never
    flowing = " ".join(line.strip() for line in consent.splitlines())
    # A re-route within the kind is covered, another kind needs new signatures, and a
    # withdrawal is the counsellor taking the referral back.
    assert (
        "Übernimmt eine andere Stelle derselben Art in Musterstadt eine Maßnahme (zum "
        "Beispiel weil die jetzige Stelle ablehnt), bekommt sie dieselben Daten."
    ) in flowing
    assert (
        "Eine Stelle anderer Art bekommt Daten erst, wenn wir diese Vereinbarung ändern und "
        "beide Seiten neu unterschreiben."
    ) in flowing
    assert (
        "Dann holt die Beratungsstelle die laufende Vermittlung zurück. Die Stelle sieht "
        "danach in Lotse zu dieser Maßnahme keine Daten mehr von mir"
    ) in flowing
    # No longer promised: that only the named partner receives data, or that no other
    # "Stelle" does (a case moved to another counselling centre goes with its data).
    assert "an die genannte Stelle" not in flowing and "Andere Stellen" not in flowing


async def test_a_partner_of_another_kind_than_the_proposal_is_refused_for_good() -> None:
    state = in_stage(Stage.AWAITING_SIGNATURE)
    input = document_input(state)
    input.measures[0] = input.measures[0].model_copy(update={"partner_id": "jobcenter"})
    with pytest.raises(ApplicationError) as failed:
        await ENV.run(activities().render_agreement, input)
    assert failed.value.type == "Invalid" and failed.value.non_retryable
    assert failed.value.details == ("measures.0.partner_id",)


async def test_without_partner_measures_nobody_receives_data() -> None:
    state = in_stage(Stage.AWAITING_SIGNATURE)
    input = document_input(state)
    input.measures = [m for m in input.measures if m.partner_id is None]
    _, text = await rendered(input)
    assert "keine Daten an Partner" in text


async def test_resolve_partner_skips_partners_that_already_had_the_referral() -> None:
    state = active()
    route = state.routes[0].as_route()
    input = ResolvePartnerInput(
        case_id=state.id,
        referral_id="case-1-ref-1",
        municipality_id=MUNICIPALITY,
        route=route,
        exclude_partner_ids=["sprachkurs"],
    )
    choice = await ENV.run(activities().resolve_partner, input)
    assert choice.partner_id == "sprachkurs-2"
    input.exclude_partner_ids.append("sprachkurs-2")
    choice = await ENV.run(activities().resolve_partner, input)
    assert choice.partner_id is None and choice.unassigned_reason


async def test_events_are_delivered_once_per_case_and_sequence() -> None:
    sink = InMemoryCaseEventSink()
    state = ok_request(in_stage(Stage.DRAFTING))
    batch = CaseEventBatch(case=CaseProjection.of(state), events=state.events)
    assert await ENV.run(activities(sink).emit_case_events, batch) == len(state.events)
    assert await ENV.run(activities(sink).emit_case_events, batch) == 0
    assert [e.sequence for e in sink.history(state.id)] == [e.sequence for e in state.events]
    projection = sink.cases[state.id]
    assert projection.client_given_name == "Amina" and projection.client_languages == ["ar", "en"]
    # A late repeat of an older batch does not roll the summary back.
    stale = projection.model_copy(update={"stage": Stage.INTAKE})
    older = CaseEventBatch(case=stale, events=state.events[:1])
    await ENV.run(activities(sink).emit_case_events, older)
    assert sink.cases[state.id].stage is state.stage


async def test_events_out_of_order_are_refused_for_good() -> None:
    state = in_stage(Stage.ASSESSMENT)
    events = list(reversed(state.events))
    batch = CaseEventBatch(case=CaseProjection.of(state), events=events)
    with pytest.raises(ApplicationError) as failed:
        await ENV.run(activities().emit_case_events, batch)
    assert failed.value.type == "Invalid" and failed.value.non_retryable


def ok_request(state: CaseState) -> CaseState:
    """A drafted case with a document requested (more events to deliver)."""
    drafted = draft_agreement(state, draft(), NOW)
    assert isinstance(drafted, CaseState)
    requested = request_signature(drafted, document(), NOW + timedelta(minutes=5))
    assert isinstance(requested, CaseState)
    return requested


def test_the_event_kinds_the_read_model_projects_keep_their_names() -> None:
    # The read model projects by these kinds (store/projector.py): renaming one breaks it.
    assert {kind.value for kind in CaseEventKind} >= {
        "referral_dispatched",
        "referral_status_changed",
        "task_created",
        "task_done",
        "review_recorded",
        "reassigned",
        "transferred",
    }
    assert CaseEvent.model_fields.keys() == {"sequence", "at", "kind", "stage", "data"}
