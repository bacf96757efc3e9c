"""The demo cases of `lotse up` (worker/demo_cases.py) without a server: their intakes are
valid on any day they may be played (a leap day too), the rules route each need to the partner
kinds the plan has work for, only the two cases that show a missed deadline run on shortened
clocks, no key names a client (keys reach the worker's log as update ids), and production
refuses them, as does `LOTSE_DEMO_CASES=false`. That the cases really play through the
workflows is tests/system/test_up_e2e.py's.
"""

from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.settings import Settings
from domain.case import Stage
from domain.clocks import Clocks
from domain.enums import CentreKind
from rules import evaluator_for
from store.seed import SeedRefused
from tests.key_harness import MASTER_KEY_B64
from worker.demo import is_pending, mark_pending, play_demo_cases, play_pending
from worker.demo_cases import DEMO_CASES, LATE_REFERRAL_CLOCKS, REVIEW_OVERDUE_CLOCKS, born

DAYS = [date(2026, 12, 1), date(2028, 2, 29), date(2031, 1, 1)]


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_every_demo_intake_is_valid_on_the_day_it_is_played(today: date) -> None:
    for case in DEMO_CASES:
        if case.intake is not None:
            profile = case.intake(today)
            assert profile.birth_date < today
            if profile.residence.expires_on is not None:
                assert profile.residence.expires_on > today


def test_an_age_stays_the_same_whatever_the_day() -> None:
    for today in DAYS:
        birth = born(today, 34)
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        assert age == 34


def test_the_rules_route_every_planned_partner_kind() -> None:
    today = DAYS[0]
    evaluator = evaluator_for("musterstadt")
    for case in DEMO_CASES:
        if case.intake is None or not case.needs:
            continue
        result = evaluator.route(
            case.intake(today), list(case.needs), today=today, centre_kind=CentreKind.MBE
        )
        assert result.unrouted == [], case.key
        routed = {route.actor for route in result.routes}
        assert {plan.kind for plan in case.partners} <= routed, case.key


def test_only_the_missed_deadline_cases_run_on_short_clocks() -> None:
    shortened = {case.key: case.clocks for case in DEMO_CASES if case.clocks is not None}
    assert shortened == {
        "review-overdue": REVIEW_OVERDUE_CLOCKS,
        "late-referral": LATE_REFERRAL_CLOCKS,
    }
    real = Clocks()
    assert REVIEW_OVERDUE_CLOCKS.overdue_after < timedelta(minutes=1) < real.overdue_after
    # Later reviews keep the real interval, so the counsellor can record one as usual.
    assert REVIEW_OVERDUE_CLOCKS.max_review_interval_months == real.max_review_interval_months
    # The late referral stays on the coordination's list for about as long as a real one.
    assert LATE_REFERRAL_CLOCKS.working_day_override is not None
    expiry = LATE_REFERRAL_CLOCKS.working_day_override * (
        LATE_REFERRAL_CLOCKS.expire_after_working_days
    )
    assert timedelta(days=14) <= expiry <= timedelta(days=30)


def test_the_demo_covers_every_stage_and_every_counsellor() -> None:
    assert {case.stage for case in DEMO_CASES} == set(Stage)
    assert {case.counsellor for case in DEMO_CASES} == {"berater1", "berater2"}
    assert len({case.key for case in DEMO_CASES}) == len(DEMO_CASES)


def test_no_key_names_its_client() -> None:
    for case in DEMO_CASES:
        names = {case.client.given_name.lower(), case.client.family_name.lower()}
        assert not any(name and name in case.key for name in names), case.key


async def test_production_refuses_demo_cases(tmp_path: Path) -> None:
    settings = Settings(env="production", data_dir=tmp_path, master_key=SecretStr(MASTER_KEY_B64))
    with pytest.raises(SeedRefused):
        await play_demo_cases(settings)


async def test_nothing_is_played_without_the_mark_or_with_demo_cases_off(tmp_path: Path) -> None:
    # Neither asks Temporal (the address leads nowhere): both end before the first case.
    settings = Settings(data_dir=tmp_path, temporal_address="127.0.0.1:1")
    assert await play_pending(settings) is None
    mark_pending(tmp_path)
    off = settings.model_copy(update={"demo_cases": False})
    assert await play_pending(off) is None
    assert is_pending(tmp_path)  # left for a start with demo cases on
