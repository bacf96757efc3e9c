"""Which case events tell whom (domain/case_notices.py), and the review reminder seven days
before a review is due (domain/stages_clock.py, behind the patch `review-reminder`): plain
functions, no Temporal."""

from datetime import timedelta

from domain.case import CaseEvent, CaseEventKind, CaseState
from domain.case_notices import notices_for
from domain.months import german_day
from domain.notifications import AddresseeKind, NoticeKind
from domain.referral import ReferralReport, ReportKind
from domain.stages_clock import next_deadline, on_clock
from domain.stages_referral import on_referral_report
from tests.samples import CLIENT, CLOCKS, NOW, active

LATER = NOW + timedelta(days=3)
CASE = "case-0b6c2f0e-8d1a-4b7e-9c3f-5a2e7d9b1c40"


def active_case() -> CaseState:
    """The samples' active case under a real case id (a notice takes only ids of the form a
    workflow id has: `case-<uuid>`, `case-<uuid>-ref-<n>`)."""
    return CaseState.model_validate_json(active().model_dump_json().replace('"case-1', f'"{CASE}'))


def _report(kind: ReportKind, referral: int = 1, **extra: object) -> ReferralReport:
    referral_id = f"{CASE}-ref-{referral}"
    partner = "sprachkurs" if referral_id.endswith("-1") else "jobcenter"
    return ReferralReport.model_validate(
        {
            "referral_id": referral_id,
            "route_id": "r1",
            "partner_id": partner,
            "kind": kind,
            "at": LATER,
            **extra,
        }
    )


def _new_events(before: CaseState, after: CaseState) -> list[CaseEvent]:
    return [e for e in after.events if e.sequence > before.last_sequence]


def test_each_dispatched_referral_tells_its_partner_with_the_deadline() -> None:
    state = active_case()
    notices = [n for n in notices_for(state, state.events) if n.kind is NoticeKind.REFERRAL_NEW]
    assert [(n.to.kind, n.to.id, n.referral_id) for n in notices] == [
        (AddresseeKind.PARTNER, "sprachkurs", f"{CASE}-ref-1"),
        (AddresseeKind.PARTNER, "jobcenter", f"{CASE}-ref-2"),
    ]
    deadlines = state.referrals[0].deadlines
    assert deadlines is not None
    assert notices[0].deadline == german_day(deadlines.acknowledge_by)
    # The same events give the same keys: a batch sent again starts no second notice.
    assert [n.event_key for n in notices_for(state, state.events)] == [
        n.event_key for n in notices_for(state, state.events)
    ]
    keys = [n.event_key for n in notices_for(state, state.events)]
    assert len(keys) == len(set(keys))


def test_partner_steps_tell_the_counsellor_and_clocks_tell_partner_and_coordination() -> None:
    state = active_case()
    steps = [
        _report(ReportKind.REMINDER, 2),
        _report(ReportKind.ESCALATED, 2),
        _report(ReportKind.ACKNOWLEDGED),
        _report(ReportKind.PROGRESS, note="Kurs ab Mai"),
        _report(ReportKind.DECLINED, note="voll"),
    ]
    told = []
    for step in steps:
        after = on_referral_report(state, step, LATER)
        told += [
            (n.kind, n.to.kind, n.to.id) for n in notices_for(after, _new_events(state, after))
        ]
        state = after
    assert told == [
        (NoticeKind.REFERRAL_REMINDER, AddresseeKind.PARTNER, "jobcenter"),
        (NoticeKind.ESCALATION, AddresseeKind.SUPERVISORS, state.municipality_id),
        (NoticeKind.PROGRESS_NOTE, AddresseeKind.COUNSELLOR, "berater1"),
        (NoticeKind.REFERRAL_DECLINED, AddresseeKind.COUNSELLOR, "berater1"),
    ]
    # No notice carries a word about the client: a notice has no field for one.
    for notice in notices_for(state, state.events):
        dumped = notice.model_dump_json()
        assert CLIENT.given_name not in dumped and CLIENT.family_name not in dumped
        assert "voll" not in dumped and "Kurs ab Mai" not in dumped


def test_a_case_without_a_counsellor_tells_only_partners_and_coordination() -> None:
    state = active_case()
    state.counsellor_id = None
    after = on_referral_report(state, _report(ReportKind.DECLINED, note="voll"), LATER)
    assert notices_for(after, _new_events(state, after)) == []
    escalated = on_referral_report(state, _report(ReportKind.ESCALATED, 2), LATER)
    [notice] = notices_for(escalated, _new_events(state, escalated))
    assert notice.kind is NoticeKind.ESCALATION


def _review_clock_only() -> CaseState:
    """The active case with no clock but the review's (its rules' follow-ups come sooner)."""
    state = active_case()
    state.follow_ups = []
    state.permit_warning_at = None
    return state


def test_the_counsellor_is_reminded_seven_days_before_a_review_is_due_once() -> None:
    state = _review_clock_only()
    due = state.next_review_due
    assert due is not None
    # Without the patch: the first clock is the due date, as before.
    assert next_deadline(state, CLOCKS) == due
    reminder = due - timedelta(days=7)
    assert next_deadline(state, CLOCKS, remind=True) == reminder
    assert on_clock(state, reminder - timedelta(minutes=1), CLOCKS, remind=True) == state

    reminded = on_clock(state, reminder, CLOCKS, remind=True)
    [event] = _new_events(state, reminded)
    assert event.kind is CaseEventKind.REVIEW_DUE_SOON and reminded.review_reminded
    [notice] = notices_for(reminded, [event])
    assert (notice.kind, notice.to.id, notice.deadline) == (
        NoticeKind.REVIEW_DUE_SOON,
        "berater1",
        german_day(due),
    )
    # Once: the next clock is the due date itself.
    assert next_deadline(reminded, CLOCKS, remind=True) == due
    assert on_clock(reminded, reminder + timedelta(hours=1), CLOCKS, remind=True) == reminded


def test_a_review_already_due_gets_no_reminder_after_the_fact() -> None:
    state = _review_clock_only()
    due = state.next_review_due
    assert due is not None
    late = on_clock(state, due + timedelta(hours=1), CLOCKS, remind=True)
    kinds = [e.kind for e in _new_events(state, late)]
    assert CaseEventKind.REVIEW_DUE in kinds and CaseEventKind.REVIEW_DUE_SOON not in kinds
