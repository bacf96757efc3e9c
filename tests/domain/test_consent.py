"""What each partner kind receives (domain/consent.py), and how the case hands it to the read
model: only for referrals dispatched in the batch, only under the consent clause that names it,
never in an event."""

import hashlib
import json
from datetime import date, timedelta

import pytest

from domain.actions import RenderedDocument, Signature
from domain.case import CaseState, Party, Stage
from domain.consent import (
    COMMON_MINIMUM,
    DATUM_LABELS,
    KIND_TERMS,
    PartnerDatum,
    PartnerView,
    partner_data,
    partner_view,
)
from domain.enums import ActorKind, NeedKind
from domain.projection import CaseProjection
from domain.referral import ReferralReport, ReportKind
from domain.stages import request_signature, sign
from domain.stages_draft import draft_agreement
from domain.stages_referral import consent_terms_in_force, on_referral_report, reroute
from tests.samples import CLOCKS, NOW, draft, in_stage, intake, ok

ON = date(2025, 3, 3)
PROFILE = intake(
    birth_date="1990-05-17",
    qualifications=[
        {
            "title": "Ärztin",
            "country": "SY",
            "kind": "academic",
            "regulated": True,
            "documents_complete": True,
        },
        {
            "title": "Bauzeichnerin",
            "country": "TR",
            "kind": "vocational",
            "regulated": False,
            "documents_complete": False,
        },
    ],
    children=[
        {"birth_date": "2022-01-10", "has_childcare": False},
        {"birth_date": "2019-06-01", "has_childcare": True},
        {"birth_date": "2024-12-24", "has_childcare": False},
    ],
)


def view(kind: ActorKind, need: NeedKind, qualification: str | None = None) -> dict[str, object]:
    return partner_view(
        kind,
        need,
        terms=2,
        family_name="Karimi",
        profile=PROFILE,
        qualification=qualification,
        on=ON,
    ).stored()


def test_every_partner_kind_has_a_row_and_every_fact_a_german_name() -> None:
    assert set(KIND_TERMS) == set(ActorKind)
    assert set(DATUM_LABELS) == set(PartnerDatum)
    # The view holds exactly the facts beyond the common minimum, under the same keys.
    beyond = {datum.value for datum in PartnerDatum} - {datum.value for datum in COMMON_MINIMUM}
    assert set(PartnerView.model_fields) == beyond


@pytest.mark.parametrize(
    ("kind", "need", "qualification", "expected"),
    [
        (ActorKind.LANGUAGE_COURSE_PROVIDER, NeedKind.LANGUAGE, None, {"german_level": "A2"}),
        (
            ActorKind.JOBCENTER,
            NeedKind.EMPLOYMENT,
            None,
            {"family_name": "Karimi", "birth_date": "1990-05-17"},
        ),
        (
            ActorKind.EMPLOYMENT_AGENCY,
            NeedKind.TRAINING,
            None,
            {"family_name": "Karimi", "birth_date": "1990-05-17"},
        ),
        (
            ActorKind.FOREIGNERS_AUTHORITY,
            NeedKind.RESIDENCE,
            None,
            {"family_name": "Karimi", "birth_date": "1990-05-17"},
        ),
        # Only the qualification the route is about, never the other one.
        (
            ActorKind.RECOGNITION_OFFICE,
            NeedKind.CREDENTIAL,
            "Ärztin",
            {
                "qualification_title": "Ärztin",
                "qualification_country": "SY",
                "qualification_documents_complete": True,
            },
        ),
        (
            ActorKind.RECOGNITION_COUNSELLING,
            NeedKind.CREDENTIAL,
            "Bauzeichnerin",
            {
                "qualification_title": "Bauzeichnerin",
                "qualification_country": "TR",
                "qualification_documents_complete": False,
            },
        ),
        # A recognition partner for another need learns of no qualification.
        (ActorKind.RECOGNITION_COUNSELLING, NeedKind.OTHER, "Ärztin", {}),
        # The children without a place, by age in years (the one in a Kita is left out).
        (ActorKind.CHILDCARE_OFFICE, NeedKind.CHILDCARE, None, {"children_ages": [0, 3]}),
        (ActorKind.YOUTH_MIGRATION_SERVICE, NeedKind.OTHER, None, {"age": 34}),
        (ActorKind.MIGRATION_COUNSELLING, NeedKind.CHILDCARE, None, {}),
    ],
)
def test_each_kind_receives_what_it_needs_to_act_and_nothing_more(
    kind: ActorKind, need: NeedKind, qualification: str | None, expected: dict[str, object]
) -> None:
    assert view(kind, need, qualification) == expected
    # The clause names the same facts, after the common minimum.
    named = partner_data(kind, need)
    assert named[: len(COMMON_MINIMUM)] == COMMON_MINIMUM
    assert {datum.value for datum in named[len(COMMON_MINIMUM) :]} >= set(expected)


def test_a_childcare_office_learns_nothing_more_of_a_family_without_children_to_place() -> None:
    assert (
        partner_view(
            ActorKind.CHILDCARE_OFFICE,
            NeedKind.CHILDCARE,
            terms=2,
            family_name="Karimi",
            profile=intake(),
            qualification=None,
            on=ON,
        ).stored()
        == {}
    )


def test_under_the_first_clause_every_partner_gets_the_common_minimum_only() -> None:
    for kind in ActorKind:
        old = partner_view(
            kind,
            NeedKind.CREDENTIAL,
            terms=1,
            family_name="Karimi",
            profile=PROFILE,
            qualification="Ärztin",
            on=ON,
        )
        assert old.stored() == {}
        assert partner_data(kind, NeedKind.CREDENTIAL, terms=1) == COMMON_MINIMUM


def test_a_view_is_cut_to_what_a_kind_receives() -> None:
    wide = PartnerView(family_name="Karimi", german_level="B1", age=34)  # type: ignore[arg-type]
    kept = wide.only((PartnerDatum.GERMAN_LEVEL,))
    assert kept.stored() == {"german_level": "B1"}


# --- the case hands the views over --------------------------------------------------------


def rendered(text: str, terms: int) -> RenderedDocument:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return RenderedDocument(hash=digest, consent_terms=terms)


def signed(state: CaseState, document: RenderedDocument) -> CaseState:
    state = ok(request_signature(state, document, NOW))
    for party in (Party.CLIENT, Party.COUNSELLOR):
        signature = Signature(party=party, document_hash=document.hash)
        state = ok(sign(state, signature, NOW, CLOCKS))
    return state


def active_under(terms: int) -> CaseState:
    """The sample case signed under consent clause `terms` (sprachkurs r1, jobcenter r2)."""
    drafting = in_stage(Stage.DRAFTING)
    state = ok(draft_agreement(drafting, draft(), NOW))
    return signed(state, rendered("Vereinbarung", terms))


def test_the_batch_carries_each_new_referrals_view_and_no_event_carries_one() -> None:
    state = active_under(2)
    assert [r.consent_terms for r in state.referrals] == [2, 2]
    projection = CaseProjection.of(state)
    assert {key: v.stored() for key, v in projection.partner_views.items()} == {
        "case-1-ref-1": {"german_level": "A2"},
        "case-1-ref-2": {"family_name": "Karimi", "birth_date": "1990-05-17"},
    }
    events = json.dumps([event.model_dump(mode="json") for event in state.events])
    assert "Karimi" not in events and "1990-05-17" not in events
    # Once the read model has the dispatches, the summary stops sending them.
    done = state.model_copy(update={"emitted_through": state.last_sequence})
    assert CaseProjection.of(done).partner_views == {}


def test_an_agreement_signed_under_the_first_clause_sends_nothing_more_even_after_a_reroute() -> (
    None
):
    state = active_under(1)
    assert CaseProjection.of(state).partner_views == {}
    declined = on_referral_report(
        state.model_copy(update={"emitted_through": state.last_sequence}),
        _declined("case-1-ref-2", "jobcenter"),
        NOW + timedelta(days=1),
    )
    moved = reroute(declined, "case-1-ref-2", "jobcenter-2", None, NOW, CLOCKS)
    assert moved.referrals[-1].consent_terms == 1
    assert CaseProjection.of(moved).partner_views == {}


def test_a_reroute_during_an_amendment_follows_the_version_in_force() -> None:
    state = active_under(2)
    # An amendment rendered (here: as if under the old clause) but not signed yet.
    amending = ok(draft_agreement(state, draft(), NOW))
    amending = ok(request_signature(amending, rendered("Änderung", 1), NOW))
    assert amending.stage is Stage.AWAITING_SIGNATURE
    assert consent_terms_in_force(amending) == 2
    declined = on_referral_report(
        amending, _declined("case-1-ref-2", "jobcenter"), NOW + timedelta(days=1)
    )
    moved = reroute(declined, "case-1-ref-2", "jobcenter-2", None, NOW, CLOCKS)
    new = moved.referrals[-1]
    assert (new.partner_id, new.consent_terms) == ("jobcenter-2", 2)
    assert CaseProjection.of(moved).partner_views[new.id].stored() == {
        "family_name": "Karimi",
        "birth_date": "1990-05-17",
    }


def _declined(referral_id: str, partner_id: str) -> ReferralReport:
    return ReferralReport(
        referral_id=referral_id,
        route_id="r2",
        partner_id=partner_id,
        kind=ReportKind.DECLINED,
        at=NOW + timedelta(days=1),
        note="keine Termine",
    )
