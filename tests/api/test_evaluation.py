"""The evaluation report over cases built through the real workflows (HTTP API, workflows and
activities on a time-skipping server of the module's own, the seeded SQLite store), with
known answers for every figure: a client with three reviews counted once, a late review and an
overdue one after time has passed, a declined referral handed on to another partner, inbound
referrals accepted and declined, a closure, goals at their last review, and the period's
boundaries. Exact figures are checked with a minimum group of 1, suppression at the default
(5); tests/api/test_evaluation_disclosure.py checks suppression on larger groups.

The scenario (musterstadt; `mitte` = berater1 at MBE Mitte, `nord` = berater2 at MBE Nord):
- five agreements concluded on day 0, each with one referral to the language school: mitte A,
  B, G; nord D, E; the school completes A's (achieved), B's (partly) and D's (not achieved);
- on day 0, reviews: A three times (helped yes, yes, no; easier yes, no, no), B and D once;
- then 110 days pass: E's and G's referrals expire unanswered, E becomes overdue, and G records
  its first review late;
- on that late day agreement N is concluded (mitte; language school and Jobcenter): the
  Jobcenter declines, the measure goes on to a second Jobcenter; the language school
  completes with „erreicht"; a case is closed in the intake; one referral to the centre is
  accepted, one declined.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.testing import WorkflowEnvironment

from api.evaluation import ReportRequest, scope_of
from domain.months import add_months, german_day, start_of_german_day
from store.evaluation_cells import EvaluationStaleMonth
from store.reads.evaluation import ReportScope, fact_counts
from store.reads.evaluation_cells import evaluation_counts
from tests.api_harness import Lotse, eventually, running_lotse, time_skipping_server
from tests.samples import INTAKE, draft_body

CLOSED = {"reason": "withdrawn"}
SECOND_JOBCENTER = {
    "id": "jobcenter-musterstadt-sued",
    "name": "Jobcenter Musterstadt, Standort Süd",
    "kind": "jobcenter",
    "municipality_id": "musterstadt",
    "measures": ["placement"],
    "contact_email": "sued@jobcenter.example",
}


@dataclass
class Scenario:
    lotse: Lotse
    day0: date  # the German day every agreement was concluded
    late_day: date  # the German day G1 and G2 recorded late
    rules: dict[str, int]  # rule id: routes proposed, as the cases' routes say


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as environment:
        yield environment


async def _review(
    lotse: Lotse,
    counsellor: str,
    case_id: str,
    helped: bool | None,
    easier: bool | None,
    progress: tuple[tuple[int, str], ...] = (),
) -> None:
    state = await lotse.ok(counsellor, "GET", f"/cases/{case_id}")
    goals = [goal["id"] for goal in state["goals"]]
    body = {
        "goal_progress": [{"goal_id": goals[i], "status": status} for i, status in progress],
        "survey": {"agreement_helped": helped, "easier_to_keep_at_it": easier},
    }
    result = await lotse.ok(counsellor, "POST", f"/cases/{case_id}/reviews", json=body)
    await lotse.projected(case_id, result["sequence"])


async def _referral(
    lotse: Lotse, case_id: str, referral_id: str, counsellor: str
) -> dict[str, Any]:
    state = await lotse.ok(counsellor, "GET", f"/cases/{case_id}")
    found: dict[str, Any] = next(r for r in state["referrals"] if r["id"] == referral_id)
    return found


async def _inbound(lotse: Lotse, given: str) -> str:
    body = {
        "centre_id": "mbe-mitte",
        "client": {"given_name": given, "family_name": "Haddad"},
        "contact": {"email": "kontakt@example.org"},
        "reason": "Möchte eine Integrationsvereinbarung abschließen.",
        "client_consents": True,
    }
    created = await lotse.ok("jobcenter", "POST", "/inbound-referrals", json=body)
    referral_id: str = created["id"]
    return referral_id


async def _active(lotse: Lotse, counsellor: str, *needs: str) -> str:
    """A case through both signatures, with these needs (one referral each)."""
    case_id = await lotse.open_case(counsellor)
    await lotse.ok(counsellor, "POST", f"/cases/{case_id}/intake", json=INTAKE)
    assessment = {"needs": [{"kind": kind, "priority": 2} for kind in needs]}
    await lotse.ok(counsellor, "POST", f"/cases/{case_id}/assessment", json=assessment)
    state = await lotse.ok(counsellor, "GET", f"/cases/{case_id}")
    await lotse.ok(
        counsellor, "POST", f"/cases/{case_id}/agreement", json=draft_body(state["routes"])
    )
    requested = await lotse.ok(counsellor, "POST", f"/cases/{case_id}/signature-request")
    for party in ("client", "counsellor"):
        signature = {"party": party, "document_hash": requested["document_hash"]}
        await lotse.ok(counsellor, "POST", f"/cases/{case_id}/signatures", json=signature)
    return case_id


async def _rules(lotse: Lotse, counsellor: str, case_id: str, rules: dict[str, int]) -> None:
    for route in (await lotse.ok(counsellor, "GET", f"/cases/{case_id}"))["routes"]:
        rules[route["rule"]] = rules.get(route["rule"], 0) + 1


async def _complete(lotse: Lotse, case_id: str, result: str, counsellor: str = "berater1") -> None:
    """The language school acknowledges and completes the case's referral; the case has
    heard it."""
    school = await lotse.open_referral(case_id, "sprachschule-musterstadt", counsellor)
    await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/acknowledge")
    outcome = {"result": result, "note": "Kurs beendet"}
    await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/complete", json=outcome)

    async def completed() -> bool | None:
        found = await _referral(lotse, case_id, school["id"], counsellor)
        return True if found["status"] == "completed" else None

    await eventually(completed)


@pytest.fixture(scope="module")
async def scenario(
    env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Scenario]:
    async with running_lotse(env, tmp_path_factory.mktemp("lotse")) as lotse:
        day0 = german_day(await env.get_current_time())
        mitte = {name: await _active(lotse, "berater1", "language") for name in ("A", "B", "G")}
        nord = {name: await _active(lotse, "berater2", "language") for name in ("D", "E")}
        assert german_day(await env.get_current_time()) == day0, "built across midnight"
        rules: dict[str, int] = {}
        for case_id in mitte.values():
            await _rules(lotse, "berater1", case_id, rules)
        for case_id in nord.values():
            await _rules(lotse, "berater2", case_id, rules)

        # The language school completes A's (achieved), B's (partly) and D's (not achieved)
        # before their reviews: a referral child still running when its case continues as new
        # (each review does) stops the time-skipping test server from skipping again.
        await _complete(lotse, mitte["A"], "achieved")
        await _complete(lotse, mitte["B"], "partly")
        await _complete(lotse, nord["D"], "not_achieved", "berater2")

        # Reviews on day 0; A three times: only its last answers count.
        a = mitte["A"]
        await _review(lotse, "berater1", a, True, True, ((0, "in_progress"),))
        await _review(lotse, "berater1", a, True, False)
        await _review(lotse, "berater1", a, False, False, ((0, "achieved"),))
        await _review(lotse, "berater1", mitte["B"], True, True, ((0, "achieved"), (1, "achieved")))
        await _review(lotse, "berater2", nord["D"], False, None, ((0, "dropped"),))

        # The whole month of day 0 counted into its monthly cells now; the events below
        # change what it counts (test_the_monthly_cells_follow_later_events).
        with Session(lotse.engine) as session:
            evaluation_counts(session, _month_scope(day0, day0))
        assert _stale(lotse, day0) == 0

        # 110 days: every referral expires unanswered, E becomes overdue; G records late.
        await _skip(env, timedelta(days=110))
        for case_id in (*nord.values(), *mitte.values()):
            await lotse.projected(case_id)
        late_day = german_day(await env.get_current_time())
        await _review(lotse, "berater1", mitte["G"], True, True)

        async def overdue() -> bool | None:
            summary = lotse.summary(nord["E"])
            return True if summary is not None and summary.review_overdue else None

        await eventually(overdue)

        # The network, on an agreement concluded now (no time is skipped after this: a busy
        # time-skipping server takes long for every skip). The Jobcenter declines N's
        # referral, which goes on to a second Jobcenter (it joins only now: routing spreads a
        # kind over its partners); the language school acknowledges and completes N's.
        n = await _active(lotse, "berater1", "language", "employment")
        assert german_day(await env.get_current_time()) == late_day, "built across midnight"
        await _rules(lotse, "berater1", n, rules)
        await lotse.ok("admin", "POST", "/admin/partners", json=SECOND_JOBCENTER)
        placement = await lotse.open_referral(n, "jobcenter-musterstadt")
        await lotse.ok(
            "jobcenter", "POST", f"/referrals/{placement['id']}/decline", json={"reason": "voll"}
        )
        # A partner of the kind is left: the case hands the measure on by itself.
        await lotse.open_referral(n, SECOND_JOBCENTER["id"])
        await _complete(lotse, n, "achieved")

        # A case closed in the intake; a referral to the centre accepted, one declined.
        closing = await lotse.open_case("berater1")
        await lotse.ok("berater1", "POST", f"/cases/{closing}/intake", json=INTAKE)
        await lotse.ok("berater1", "POST", f"/cases/{closing}/close", json=CLOSED)
        accepted = await _inbound(lotse, "Amal")
        await lotse.ok("berater1", "POST", f"/inbound-referrals/{accepted}/accept")
        declined = await _inbound(lotse, "Yusuf")
        await lotse.ok(
            "berater1",
            "POST",
            f"/inbound-referrals/{declined}/decline",
            json={"reason": "Wohnt in einer anderen Stadt."},
        )
        await lotse.projected(n)
        assert _stale(lotse, day0) >= 1  # day 0's month, marked by what happened since
        yield Scenario(lotse=lotse, day0=day0, late_day=late_day, rules=rules)


async def _skip(env: WorkflowEnvironment, duration: timedelta) -> None:
    """`env.sleep` with a longer deadline: skipping wakes every timer of 20 cases and their
    referrals (clocks, reminders, expiries, notices) and waits for each to be handled, which
    outlasts the call's default deadline on a busy machine."""
    request = SleepRequest()
    request.duration.FromTimedelta(duration)
    await env.client.service_client.test_service.unlock_time_skipping_with_sleep(
        request, timeout=timedelta(minutes=5)
    )


def _month_scope(first: date, last: date) -> ReportScope:
    """Every municipality, from the first of `first`'s month to the end of `last`'s month."""
    start = date(first.year, first.month, 1)
    end = add_months(date(last.year, last.month, 1), 1) - timedelta(days=1)
    return scope_of(ReportRequest(None, None, None, start, end), datetime.now(UTC))


def _stale(lotse: Lotse, day: date) -> int:
    """How many municipalities' months of `day` are marked to be counted again."""
    month = start_of_german_day(date(day.year, day.month, 1))
    with Session(lotse.engine) as session:
        return len(
            session.exec(
                select(EvaluationStaleMonth).where(EvaluationStaleMonth.month == month)
            ).all()
        )


def _whole(scenario: Scenario) -> dict[str, str]:
    return {
        "from": (scenario.day0 - timedelta(days=1)).isoformat(),
        "to": scenario.late_day.isoformat(),
    }


async def _report(
    scenario: Scenario, min_group: int, user: str = "koordination", **params: str
) -> dict[str, Any]:
    scenario.lotse.settings.report_min_group = min_group
    try:
        report: dict[str, Any] = await scenario.lotse.ok(
            user, "GET", "/reports/evaluation", params=params
        )
    finally:
        scenario.lotse.settings.report_min_group = 5
    return report


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


async def test_every_figure_of_the_whole_period(scenario: Scenario) -> None:
    # A minimum group of 1 suppresses nothing (the settings refuse it; the report takes it):
    # every figure exactly.
    report = await _report(scenario, 1, **_whole(scenario))
    assert set(report) == {
        "period",
        "scope",
        "min_group",
        "agreements",
        "survey",
        "reviews",
        "goals",
        "closures",
        "referrals",
        "needs",
        "rules",
    }
    assert report["scope"] == {"municipality_id": None, "centre_id": None}

    agreements = report["agreements"]
    assert agreements["concluded"] == 6
    per_month = {row["month"]: row["concluded"] for row in agreements["per_month"]}
    assert per_month[_month(scenario.day0)] == 5
    assert per_month[_month(scenario.late_day)] == 1
    assert sum(per_month.values()) == 6
    assert agreements["per_centre"] == [
        {"centre_id": "mbe-mitte", "concluded": 4},
        {"centre_id": "mbe-nord", "concluded": 2},
    ]

    survey = report["survey"]
    # Four clients reviewed; A's three reviews count once, with its last answers (no, no):
    # per review, "helped" would have two more yes.
    assert survey["clients_answered"] == 4
    assert survey["agreement_helped"] == {
        "yes": 2,
        "no": 2,
        "unanswered": 0,
        "share_yes": 0.5,
        "suppressed": False,
    }
    assert survey["easier_to_keep_at_it"] == {
        "yes": 2,
        "no": 1,
        "unanswered": 1,
        "share_yes": 0.6667,
        "suppressed": False,
    }
    per_centre = {row["centre_id"]: row for row in survey["per_centre"]}
    assert per_centre["mbe-mitte"]["clients"] == 3  # A, B, G
    assert per_centre["mbe-mitte"]["agreement_helped"]["share_yes"] == round(2 / 3, 4)
    assert per_centre["mbe-nord"]["agreement_helped"]["no"] == 1  # D

    # Due in the period: A's first, B's and D's (recorded early: on time), G's (late), E's
    # (overdue now). A's second and third answered dates after the period.
    reviews = report["reviews"]
    assert (reviews["due"], reviews["on_time"], reviews["late"], reviews["overdue_now"]) == (
        5,
        3,
        1,
        1,
    )
    assert reviews["overdue_rate"] == 0.4

    # Goals at each client's last review (two per agreement): A achieved one (in progress at
    # its first review), B two, D dropped one; the rest never mentioned: open.
    assert report["goals"] == {"achieved": 3, "in_progress": 0, "open": 4, "dropped": 1}
    assert report["closures"] == {
        "goals_achieved": 0,
        "moved_away": 0,
        "withdrawn": 1,
        "no_contact": 0,
        "transferred": 0,
    }

    by_actor = {row["actor"]: row for row in report["referrals"]["by_actor"]}
    # A's, B's, D's and N's acknowledged and completed (A's and N's achieved); E's and G's
    # expired unanswered.
    assert by_actor["language_course_provider"] == {
        "actor": "language_course_provider",
        "dispatched": 6,
        "acknowledged": 4,
        "declined": 0,
        "expired": 2,
        "withdrawn": 0,
        "completed": 4,
        "achieved": 2,
        "median_days_to_acknowledge": 0.0,
    }
    # N's declined and handed on to the second Jobcenter (dispatched, not answered yet).
    assert by_actor["jobcenter"] == {
        "actor": "jobcenter",
        "dispatched": 2,
        "acknowledged": 0,
        "declined": 1,
        "expired": 0,
        "withdrawn": 0,
        "completed": 0,
        "achieved": 0,
        "median_days_to_acknowledge": None,
    }
    # The demo data's own referral to the centre (Olena) is still open.
    assert report["referrals"]["inbound"] == [
        {"from_actor": "jobcenter", "accepted": 1, "declined": 1, "open": 1}
    ]
    # The language school (acknowledged, completed) and the Jobcenter (declined, referred).
    assert report["referrals"]["partners_active"] == 2
    assert {row["kind"]: row["count"] for row in report["needs"]} == {
        "language": 6,
        "employment": 1,
    }
    assert {row["rule"]: row["count"] for row in report["rules"]} == scenario.rules


async def test_the_default_minimum_group_suppresses_small_groups_and_their_complements(
    scenario: Scenario,
) -> None:
    report = await _report(scenario, 5, **_whole(scenario))
    assert report["min_group"] == 5
    # Four clients answered: no figure of the survey is published.
    assert report["survey"]["clients_answered"] is None
    for question in ("agreement_helped", "easier_to_keep_at_it"):
        assert report["survey"][question] == {
            "yes": None,
            "no": None,
            "unanswered": None,
            "share_yes": None,
            "suppressed": True,
        }
    # Mitte's four agreements and Nord's two are each too few: one "other" row of six.
    assert report["agreements"]["concluded"] == 6
    assert report["agreements"]["per_centre"] == [{"centre_id": "other", "concluded": 6}]
    reviews = report["reviews"]
    assert (reviews["due"], reviews["on_time"], reviews["late"], reviews["overdue_now"]) == (
        5,
        None,
        None,
        None,
    )
    assert reviews["overdue_rate"] is None
    assert report["closures"]["withdrawn"] is None
    text = str(report)
    for word in ("case-", "Amina", "Karimi", "Haddad", str(INTAKE["birth_date"])):
        assert word not in text


async def test_the_period_boundaries(scenario: Scenario) -> None:
    before = (scenario.day0 - timedelta(days=1)).isoformat()
    nothing = await _report(scenario, 1, **{"from": before, "to": before})
    assert nothing["agreements"]["concluded"] == 0
    assert nothing["survey"]["clients_answered"] == 0
    assert nothing["reviews"]["due"] == 0

    day0 = scenario.day0.isoformat()
    first_day = await _report(scenario, 1, **{"from": day0, "to": day0})
    assert first_day["agreements"]["concluded"] == 5
    assert first_day["reviews"]["due"] == 0  # every date lies later
    # G recorded only later: three clients reviewed on day 0.
    assert first_day["survey"]["clients_answered"] == 3

    after = (scenario.day0 + timedelta(days=1)).isoformat()
    last = scenario.late_day.isoformat()
    later = await _report(scenario, 1, **{"from": after, "to": last})
    assert later["agreements"]["concluded"] == 1  # N
    assert later["reviews"]["due"] == 5
    assert later["survey"]["clients_answered"] == 1  # G
    assert later["period"] == {"from": after, "to": last}


async def test_a_centre_and_the_evaluator(scenario: Scenario) -> None:
    nord = await _report(scenario, 1, centre="mbe-nord", **_whole(scenario))
    assert nord["scope"] == {"municipality_id": "musterstadt", "centre_id": "mbe-nord"}
    assert nord["agreements"]["concluded"] == 2
    assert nord["survey"]["clients_answered"] == 1
    assert (nord["reviews"]["due"], nord["reviews"]["overdue_now"]) == (2, 1)
    land = await _report(scenario, 1, user="auswertung", municipality="musterstadt")
    assert land["scope"]["municipality_id"] == "musterstadt"
    everything = await _report(scenario, 1, user="auswertung", **_whole(scenario))
    assert everything["agreements"]["concluded"] == 6


async def test_scope_and_input_are_checked(scenario: Scenario) -> None:
    lotse = scenario.lotse
    for user in ("berater1", "sprachkurs", "admin"):
        assert (await lotse.get(user, "/reports/evaluation")).status_code == 403
    # Another municipality and an unknown centre: 404, as for a missing one.
    for params in ({"municipality": "anderswo"}, {"centre": "mbe-anderswo"}):
        response = await lotse.get("koordination", "/reports/evaluation", params=params)
        assert response.status_code == 404, params
    hostile = {
        "from": ["gestern", "2025-02-30", "1800-01-01", "9" * 5000, "2025-01-01\x00"],
        "to": ["x", "2300-01-01", "2025-13-01"],
        "municipality": ["\x00", "m" * 5000, "\u202e"],
        "centre": ["\x07", "c" * 70],
    }
    for field, values in hostile.items():
        for value in values:
            response = await lotse.get("koordination", "/reports/evaluation", params={field: value})
            assert 400 <= response.status_code < 500, (field, value, response.text)
            if response.status_code == 422:
                errors = response.json()["errors"]
                assert any(field in e["field"] for e in errors), (field, errors)
    reversed_period = await lotse.get(
        "koordination", "/reports/evaluation", params={"from": "2025-02-01", "to": "2025-01-01"}
    )
    assert reversed_period.status_code == 422
    assert reversed_period.json()["errors"][0]["field"] == "to"
    long = await lotse.get(
        "koordination", "/reports/evaluation", params={"from": "2000-01-01", "to": "2025-01-01"}
    )
    assert long.status_code == 422 and long.json()["errors"][0]["field"] == "from"
    # Nothing wedged: the report still answers.
    assert (await lotse.get("koordination", "/reports/evaluation")).status_code == 200


async def test_the_monthly_cells_follow_later_events(scenario: Scenario) -> None:
    """Day 0's month was counted into its cells on day 0. Later its referrals expired and were
    handed on, G recorded its review late, partners acted: the projector marked the month,
    and the report's counts (the cells, counted again where marked) are what the facts say,
    for day 0's month and every month to the late day."""
    lotse = scenario.lotse
    for first in (scenario.day0, scenario.day0 + timedelta(days=40)):
        scope = _month_scope(first, scenario.late_day)
        with Session(lotse.engine) as session:
            cells = evaluation_counts(session, scope)
            facts = fact_counts(session.connection(), scope)
        assert cells == facts
        assert cells.concluded >= 1
    assert _stale(lotse, scenario.day0) == 0


async def test_the_backfill_rebuilds_the_same_facts(scenario: Scenario) -> None:
    """Facts deleted and rebuilt from the archive (the needs from the workflows' states) give
    the same report: what `lotse db backfill-evaluation` does for cases from before."""
    from sqlalchemy import delete, update
    from sqlmodel import Session

    from store.evaluation_cells_build import mark_everything_stale
    from store.facts import AgreementVersionFact, ClosureFact, NeedFact, RuleHitFact
    from store.projections import ReferralSummary, ReviewRecord
    from worker.evaluation_backfill import backfill

    lotse = scenario.lotse
    projected = await _report(scenario, 1, **_whole(scenario))
    with Session(lotse.engine) as session:
        for table in (AgreementVersionFact, ClosureFact, NeedFact, RuleHitFact):
            session.execute(delete(table))
        session.execute(
            update(ReviewRecord).values(
                municipality_id="", centre_id="", goals_open=0, goals_achieved=0, days_late=None
            )
        )
        session.execute(
            update(ReferralSummary).values(
                centre_id="", ended_at=None, result=None, acknowledge_hours=None
            )
        )
        # As migration 0011 leaves a store: every month to be counted from the facts.
        mark_everything_stale(session)
        session.commit()
    emptied = await _report(scenario, 1, **_whole(scenario))
    assert emptied["agreements"]["concluded"] == 0
    first = await backfill(lotse.settings, lotse.engine, with_workflows=True, keys=lotse.keys)
    # A, B, G, D, E, N, the closed one and the accepted referral's case.
    assert (first.cases, first.without_needs) == (8, 0)
    assert await _report(scenario, 1, **_whole(scenario)) == projected
    # Idempotent: a second run changes nothing.
    await backfill(lotse.settings, lotse.engine, with_workflows=True, keys=lotse.keys)
    assert await _report(scenario, 1, **_whole(scenario)) == projected
