"""The status header's rules without a server (api/ui/case_status.py): the primary action is
the furthest step the stage offers, never closing; the review is due from its reminder on."""

from datetime import UTC, datetime, timedelta

from api.ui.case_status import primary_action, review_due
from domain.case import CaseState
from domain.enums import CentreKind
from domain.stage_table import Action

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
