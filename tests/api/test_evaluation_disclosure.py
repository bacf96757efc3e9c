"""The evaluation report on SQLite and on PostgreSQL over facts written straight into the read
model (no Temporal): the same SQL on both backends, German months at their boundaries, and the
disclosure rules on groups large enough to show them: a group of four suppressed together with
its complement, small centres folded into "other", and no client's data in the answer. The
figures of cases built through the workflows are tests/api/test_evaluation.py."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.case import ClosureReason
from domain.enums import ActorKind, NeedKind
from domain.referral import OutcomeResult, ReferralStatus
from store.facts import AgreementVersionFact, ClosureFact, NeedFact, RuleHitFact
from store.models import Municipality
from store.projections import CaseSummary, ReferralSummary, ReviewRecord
from store.testing import BACKENDS
from tests.api_harness import StoreOnly, store_only

# 23:30 UTC on 31 January is 00:30 on 1 February in Germany: a February agreement.
FEB_FIRST_GERMAN = datetime(2025, 1, 31, 23, 30, tzinfo=UTC)
JANUARY = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
PERIOD = {"from": "2025-01-01", "to": "2025-02-28"}


def _case(number: int) -> str:
    return f"case-00000000-0000-4000-8000-{number:012d}"


def _agreement(number: int, centre: str, at: datetime) -> AgreementVersionFact:
    return AgreementVersionFact(
        case_id=_case(number),
        version=1,
        municipality_id="musterstadt",
        centre_id=centre,
        activated_at=at,
    )


def _review(number: int, centre: str, helped: bool | None) -> ReviewRecord:
    return ReviewRecord(
        case_id=_case(number),
        seq=10,
        recorded_at=JANUARY + timedelta(days=5),
        agreement_helped=helped,
        easier_to_keep_at_it=True,
        due_at=JANUARY + timedelta(days=1),
        next_review_due=JANUARY + timedelta(days=180),
        municipality_id="musterstadt",
        centre_id=centre,
        goals_open=1,
        goals_achieved=1,
        days_late=4,
    )


@pytest.fixture(params=BACKENDS)
async def lotse(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path) as system:
        rows: list[Any] = []
        # Agreements: mbe-mitte 9, mbe-nord 6, jmd-musterstadt 4 (January), and one in
        # February by German time.
        centres = ["mbe-mitte"] * 9 + ["mbe-nord"] * 6 + ["jmd-musterstadt"] * 4
        for number, centre in enumerate(centres, start=1):
            rows.append(_agreement(number, centre, JANUARY))
        rows.append(_agreement(20, "mbe-mitte", FEB_FIRST_GERMAN))
        # Ten clients reviewed at mbe-mitte: six said it helped, four did not.
        for number in range(1, 11):
            rows.append(_review(number, "mbe-mitte", number <= 6))
        for number, reason in enumerate([ClosureReason.MOVED_AWAY] * 6, start=1):
            rows.append(
                ClosureFact(
                    case_id=_case(number),
                    municipality_id="musterstadt",
                    centre_id="mbe-mitte",
                    closed_at=JANUARY,
                    reason=reason,
                )
            )
        for number in range(1, 8):
            rows.append(
                NeedFact(
                    case_id=_case(number),
                    need_index=0,
                    municipality_id="musterstadt",
                    centre_id="mbe-mitte",
                    at=JANUARY,
                    need_kind=NeedKind.LANGUAGE,
                )
            )
            rows.append(
                RuleHitFact(
                    case_id=_case(number),
                    route_id="r1",
                    municipality_id="musterstadt",
                    centre_id="mbe-mitte",
                    at=JANUARY,
                    rule="lang-course",
                    need_kind=NeedKind.LANGUAGE,
                    actor_kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
                )
            )
            rows.append(
                ReferralSummary(
                    id=f"{_case(number)}-ref-1",
                    case_id=_case(number),
                    municipality_id="musterstadt",
                    route_id="r1",
                    partner_id="sprachschule-musterstadt",
                    actor_kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
                    measure="integration_course",
                    need_kind=NeedKind.LANGUAGE,
                    status=ReferralStatus.COMPLETED,
                    dispatched_at=JANUARY,
                    acknowledged_at=JANUARY + timedelta(hours=24 * number),
                    acknowledge_hours=24 * number,
                    ended_at=JANUARY + timedelta(days=20),
                    result=OutcomeResult.ACHIEVED,
                    centre_id="mbe-mitte",
                    client_first_name="",
                    updated_at=JANUARY,
                )
            )
        # A case of another municipality: never in musterstadt's figures.
        rows.append(Municipality(id="anderswo", name="Anderswo", land="NI"))
        rows.append(
            AgreementVersionFact(
                case_id=_case(99),
                version=1,
                municipality_id="anderswo",
                centre_id="mbe-anderswo",
                activated_at=JANUARY,
            )
        )
        rows.append(
            CaseSummary(
                case_id=_case(30),
                municipality_id="musterstadt",
                centre_id="mbe-nord",
                counsellor_id="berater2",
                stage="active",
                next_review_due=JANUARY,
                review_overdue=True,
                client_display_name="Amina K.",
                opened_at=JANUARY,
                updated_at=JANUARY,
            )
        )
        system.add(*rows)
        yield system


async def test_a_group_of_four_is_suppressed_with_its_complement(lotse: StoreOnly) -> None:
    report = await lotse.api("koordination", "/reports/evaluation", **PERIOD)
    assert report["min_group"] == 5
    # Four said no: suppressed; six said yes, but 10 - 6 would give the four away: suppressed.
    helped = report["survey"]["agreement_helped"]
    assert (helped["yes"], helped["no"], helped["share_yes"], helped["suppressed"]) == (
        None,
        None,
        None,
        True,
    )
    assert helped["unanswered"] == 0  # a zero rests on nobody
    easier = report["survey"]["easier_to_keep_at_it"]
    assert easier == {
        "yes": 10,
        "no": 0,
        "unanswered": 0,
        "share_yes": 1.0,
        "suppressed": False,
    }
    assert report["survey"]["clients_answered"] == 10


async def test_small_centres_are_folded_and_months_are_german(lotse: StoreOnly) -> None:
    report = await lotse.api("koordination", "/reports/evaluation", **PERIOD)
    agreements = report["agreements"]
    assert agreements["concluded"] == 20
    # The JMD's four are folded into "other", and the next smallest (Nord, six) with them.
    assert agreements["per_centre"] == [
        {"centre_id": "mbe-mitte", "concluded": 10},
        {"centre_id": "other", "concluded": 10},
    ]
    # 23:30 UTC on 31 January is February in Germany; a single February agreement is a small
    # group, and January's 19 would give it away: both suppressed.
    assert agreements["per_month"] == [
        {"month": "2025-01", "concluded": None},
        {"month": "2025-02", "concluded": None},
    ]
    january = await lotse.api(
        "koordination", "/reports/evaluation", **{"from": "2025-01-01", "to": "2025-01-31"}
    )
    assert january["agreements"]["concluded"] == 19


async def test_every_other_figure_on_both_backends(lotse: StoreOnly) -> None:
    report = await lotse.api("koordination", "/reports/evaluation", **PERIOD)
    assert report["closures"]["moved_away"] == 6
    assert report["closures"]["withdrawn"] == 0
    assert report["goals"] == {"achieved": 10, "in_progress": 0, "open": 10, "dropped": 0}
    reviews = report["reviews"]
    # Ten recorded four days late (on time) and one overdue case: the single overdue one is
    # suppressed, and the on-time ones with it.
    assert (reviews["due"], reviews["on_time"], reviews["late"], reviews["overdue_now"]) == (
        11,
        None,
        0,
        None,
    )
    [language] = report["referrals"]["by_actor"]
    assert language["actor"] == "language_course_provider"
    assert (language["dispatched"], language["acknowledged"], language["completed"]) == (7, 7, 7)
    assert language["achieved"] == 7
    assert language["median_days_to_acknowledge"] == 4.0  # 1..7 days: the fourth
    assert report["referrals"]["partners_active"] == 1
    assert report["needs"] == [{"kind": "language", "count": 7}]
    assert report["rules"] == [{"rule": "lang-course", "count": 7}]
    text = str(report)
    assert "case-" not in text and "Amina" not in text


async def test_the_evaluator_sees_every_municipality_the_supervisor_her_own(
    lotse: StoreOnly,
) -> None:
    everything = await lotse.api("auswertung", "/reports/evaluation", **PERIOD)
    assert everything["agreements"]["concluded"] == 21
    assert everything["scope"] == {"municipality_id": None, "centre_id": None}
    own = await lotse.api("koordination", "/reports/evaluation", **PERIOD)
    assert own["agreements"]["concluded"] == 20
    outside = await lotse.call(
        "koordination", "GET", "/reports/evaluation", params={"municipality": "anderswo"}
    )
    assert outside.status_code == 404
