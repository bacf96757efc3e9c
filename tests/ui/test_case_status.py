"""The case page's words for where a case stands, without a server (api/ui/case_status.py):
the primary action is the furthest step the stage offers, never closing; the review is due
from its reminder on; the activation message and the measures' chips."""

from datetime import UTC, datetime, timedelta

from api.ui.case_status import activation_message, measure_state, primary_action, review_due
from domain.case import CaseState, Responsible, Stage
from domain.enums import CentreKind
from domain.stage_table import Action
from tests.samples import active, in_stage

NOW = datetime(2027, 2, 20, 9, tzinfo=UTC)


def _state(**changes: object) -> CaseState:
    base = CaseState(
        id="c1",
        municipality_id="musterstadt",
        centre_id="mbe-mitte",
        centre_kind=CentreKind.MBE,
        counsellor_id="berater1",
        land="NW",
        opened_at=NOW - timedelta(days=200),
    )
    return base.model_copy(update=changes)


def test_the_furthest_offered_step_is_primary_and_closing_never_is() -> None:
    drafted = primary_action([Action.DRAFT_AGREEMENT, Action.REQUEST_SIGNATURE, Action.CLOSE], "c1")
    assert drafted is not None and drafted.label == "Zur Unterschrift vorlegen"
    assert drafted.href == "#aktion-request_signature"
    # In force: the review, not the amendment beside it.
    active = primary_action([Action.DRAFT_AGREEMENT, Action.RECORD_REVIEW, Action.CLOSE], "c1")
    assert active is not None and active.action is Action.RECORD_REVIEW
    assert active.href == "/faelle/c1?ueberpruefung=1#aktion-record_review"
    assert primary_action([Action.CLOSE, Action.REASSIGN], "c1") is None


def test_a_review_is_due_from_its_reminder_or_its_date_not_on_the_day_of_signing() -> None:
    assert not review_due(_state(), NOW)
    signed_today = _state(next_review_due=NOW + timedelta(days=180))
    assert not review_due(signed_today, NOW)
    assert review_due(signed_today.model_copy(update={"review_reminded": True}), NOW)
    assert review_due(_state(next_review_due=NOW - timedelta(hours=1)), NOW)
    assert review_due(_state(next_review_due=NOW, review_overdue=True), NOW)


def test_the_activation_message_names_each_referral_of_the_signature_and_nothing_else() -> None:
    state = active()
    sent = state.referrals
    message = activation_message(state, lambda partner: f"Partner {partner}")
    assert message is not None
    assert message.startswith(f"Die Vereinbarung gilt ab heute. {len(sent)} Vermittlungen ")
    assert all(f"Partner {r.partner_id} für " in message for r in sent)
    # Before both signed, or a case without a document: nothing to say.
    assert activation_message(in_stage(Stage.AWAITING_SIGNATURE), str) is None
    assert activation_message(_state(), str) is None


def test_a_measures_chip_says_its_state() -> None:
    state = active()
    partner = next(m for m in state.measures if m.responsible is Responsible.PARTNER)
    referral = next(r for r in state.referrals if r.measure_id == partner.id)
    assert measure_state(partner, referral, True) == ("übermittelt", "open")
    own = next(m for m in state.measures if m.responsible is Responsible.CLIENT)
    # The client's own measure is open once the agreement is in force, planned before.
    assert measure_state(own, None, True) == ("offen", "open")
    assert measure_state(own, None, False) == ("geplant", "planned")
    assert measure_state(own.model_copy(update={"done": True}), None, True) == ("erledigt", "done")
    # A proposal's measure an unsigned amendment added: planned.
    added = partner.model_copy(update={"activated_at": None})
    assert measure_state(added, None, True) == ("geplant", "planned")
