"""The coordination's daily lists, complete: the referrals late past their deadline (unanswered,
escalated, and acknowledged but stalled) with the least time left first, the overdue reviews
and the supervisors' open tasks, each paged with its total on the dashboard, on its own page
(„Seite 2 von 7“, `?page=`) and in the JSON API, on SQLite and PostgreSQL.

Each test has a municipality of its own (its supervisor, centre and rows), so its totals are
exact. The read model is filled directly, as the projection would, and the app runs without
Temporal: these pages and routes read only the store.
"""

import html
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from api.ui.web import german_date
from domain.case import TaskKind
from domain.enums import ActorKind, CentreKind, NeedKind
from domain.late_referrals import stall_deadline
from domain.referral import ReferralStatus
from store.models import Centre, Municipality, Role
from store.projections import CaseSummary, ReferralStepRecord, ReferralSummary, TaskRecord
from store.seed import DEMO_PASSWORD
from store.users import create_user, hash_password
from tests.api_harness import StoreOnly, store_only
from tests.ui_harness import Browser

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
CASE_LINK = re.compile(r'href="/aufsicht/faelle/(case-[0-9a-f-]{36})"')
PAGE_SIZE = 20  # api.ui.supervisor_lists.PAGE_SIZE


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("lists")) as system:
        yield system


def _municipality(system: StoreOnly, key: str) -> str:
    """A municipality `key` (Land NW) with one centre, `mbe-<key>`, and its supervisor,
    `koordination-<key>` (the demo password): returns the supervisor's username."""
    with Session(system.engine) as session:
        session.add(Municipality(id=key, name=f"Stadt {key}", land="NW"))
        session.flush()
        session.add(
            Centre(
                id=f"mbe-{key}", name=f"MBE {key.title()}", kind=CentreKind.MBE, municipality_id=key
            )
        )
        session.flush()
        create_user(
            session,
            f"koordination-{key}",
            Role.SUPERVISOR,
            password_hash=hash_password(DEMO_PASSWORD),
            municipality_id=key,
        )
        session.commit()
    return f"koordination-{key}"


def _case_id(key: int) -> str:
    return f"case-00000000-0000-4000-8000-{key:012d}"


def _referral(
    municipality: str,
    n: int,
    status: ReferralStatus,
    *,
    acknowledge_by: datetime | None = None,
    escalate_at: datetime | None = None,
    expires_at: datetime | None = None,
    acknowledged_at: datetime | None = None,
    escalated: bool = False,
    dispatched_at: datetime = NOW - 60 * DAY,
) -> ReferralSummary:
    return ReferralSummary(
        id=f"{_case_id(n)}-ref-1",
        case_id=_case_id(n),
        municipality_id=municipality,
        route_id="r1",
        partner_id="sprachschule-musterstadt",
        actor_kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
        measure="integration_course",
        need_kind=NeedKind.LANGUAGE,
        status=status,
        dispatched_at=dispatched_at,
        acknowledge_by=acknowledge_by or dispatched_at + 7 * DAY,
        escalate_at=escalate_at or dispatched_at + 14 * DAY,
        expires_at=expires_at or dispatched_at + 21 * DAY,
        acknowledged_at=acknowledged_at,
        escalated=escalated,
        client_first_name="Verborgen",
        updated_at=NOW,
    )


def _step(referral: ReferralSummary, seq: int, at: datetime, note: str = "") -> ReferralStepRecord:
    return ReferralStepRecord(
        case_id=referral.case_id,
        seq=seq,
        referral_id=referral.id,
        at=at,
        status=ReferralStatus.ACKNOWLEDGED,
        note=note,
    )


def _case(municipality: str, n: int, *, overdue_days: int | None = None) -> CaseSummary:
    return CaseSummary(
        case_id=_case_id(n),
        municipality_id=municipality,
        centre_id=f"mbe-{municipality}",
        counsellor_id="berater1",
        stage="active",
        next_review_due=NOW - overdue_days * DAY if overdue_days else NOW + 30 * DAY,
        review_overdue=overdue_days is not None,
        client_display_name="Verborgen V.",
        opened_at=NOW - 400 * DAY,
        updated_at=NOW - timedelta(minutes=n % 1000),
    )


def _task(
    municipality: str,
    case_n: int,
    n: int,
    kind: TaskKind,
    due_at: datetime,
    *,
    role: Role = Role.SUPERVISOR,
    referral: bool = False,
) -> TaskRecord:
    return TaskRecord(
        id=f"{_case_id(case_n)}-t{n}",
        case_id=_case_id(case_n),
        referral_id=f"{_case_id(case_n)}-ref-1" if referral else None,
        kind=kind.value,
        assignee_role=role,
        assignee_id=municipality if role is Role.SUPERVISOR else "berater1",
        title=f"Aufgabe {n} der Art {kind.value}.",
        due_at=due_at,
        created_at=due_at - DAY,
    )


async def _browser(system: StoreOnly, username: str) -> Browser:
    browser = Browser(system.app)
    assert (await browser.login(username)).status_code == 303
    return browser


def _section(page: str, title_id: str) -> str:
    start = page.index(f'id="{title_id}"')
    return page[start : page.index("</section>", start)]


def _badge(section: str) -> str:
    found = re.search(r'<span class="badge[^"]*">([^<]*)</span>', section)
    assert found, section[:300]
    return found.group(1)


@contextmanager
def _statements(engine: Engine) -> Iterator[Callable[[], int]]:
    count = 0

    def counted(*_: Any) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "after_cursor_execute", counted)
    try:
        yield lambda: count
    finally:
        event.remove(engine, "after_cursor_execute", counted)


async def test_late_referrals_put_the_stalled_first_then_the_least_time_left(
    system: StoreOnly,
) -> None:
    supervisor = _municipality(system, "spaet")
    m = "spaet"
    unanswered = _referral(
        m, 101, ReferralStatus.DISPATCHED, acknowledge_by=NOW - DAY, escalate_at=NOW + 3 * DAY
    )
    escalated_soon = _referral(
        m, 102, ReferralStatus.DISPATCHED, escalated=True, expires_at=NOW + DAY
    )
    on_time = _referral(
        m, 103, ReferralStatus.DISPATCHED, dispatched_at=NOW - DAY, acknowledge_by=NOW + 4 * DAY
    )
    silent = _referral(m, 104, ReferralStatus.ACKNOWLEDGED, acknowledged_at=NOW - 60 * DAY)
    active = _referral(m, 105, ReferralStatus.ACKNOWLEDGED, acknowledged_at=NOW - 60 * DAY)
    quiet = _referral(m, 106, ReferralStatus.ACKNOWLEDGED, acknowledged_at=NOW - 90 * DAY)
    done = _referral(m, 107, ReferralStatus.COMPLETED, acknowledged_at=NOW - 90 * DAY)
    escalated_later = _referral(
        m, 108, ReferralStatus.DISPATCHED, escalated=True, expires_at=NOW + 5 * DAY
    )
    elsewhere = _referral("musterstadt", 109, ReferralStatus.DISPATCHED, escalated=True)
    system.add(
        unanswered, escalated_soon, on_time, silent, active, quiet, done, escalated_later, elsewhere
    )
    system.add(
        _step(active, 1, NOW - 60 * DAY),
        _step(active, 2, NOW - 2 * DAY, "Kurs läuft"),  # a progress note two days ago
        _step(quiet, 1, NOW - 90 * DAY),
        _step(quiet, 2, NOW - 45 * DAY, "Kurs begonnen"),  # silent since
        _step(quiet, 3, NOW - 50 * DAY),  # an older step recorded later: the newest counts
    )
    expected = [silent, quiet, escalated_soon, unanswered, escalated_later]

    listed = await system.api(supervisor, "/supervision/late-referrals")
    assert [item["id"] for item in listed["items"]] == [r.id for r in expected]
    assert (listed["total"], listed["has_more"]) == (5, False)
    by_id = {item["id"]: item for item in listed["items"]}
    assert [by_id[r.id]["lateness"] for r in expected] == [
        "stalled",
        "stalled",
        "escalated",
        "unanswered",
        "escalated",
    ]
    assert by_id[unanswered.id]["deadline"] == by_id[unanswered.id]["escalate_at"]
    assert by_id[escalated_soon.id]["deadline"] == by_id[escalated_soon.id]["expires_at"]
    assert datetime.fromisoformat(by_id[quiet.id]["last_step_at"]) == NOW - 45 * DAY
    stalled_at = datetime.fromisoformat(by_id[quiet.id]["deadline"])
    assert stalled_at == stall_deadline(NOW - 45 * DAY, "NW") and stalled_at < NOW
    assert "client_first_name" not in by_id[quiet.id]
    # Paged: page 2 of three pages of two.
    second = await system.api(supervisor, "/supervision/late-referrals", page=2, page_size=2)
    assert [item["id"] for item in second["items"]] == [escalated_soon.id, unanswered.id]
    assert (second["total"], second["has_more"], second["page"]) == (5, True, 2)
    third = await system.api(supervisor, "/supervision/late-referrals", page=3, page_size=2)
    assert [item["id"] for item in third["items"]] == [escalated_later.id]
    assert third["has_more"] is False
    beyond = await system.api(supervisor, "/supervision/late-referrals", page=9, page_size=2)
    assert (beyond["items"], beyond["total"]) == ([], 5)

    browser = await _browser(system, supervisor)
    dashboard = html.unescape((await browser.get("/aufsicht")).text)
    section = _section(dashboard, "unanswered-title")
    assert CASE_LINK.findall(section) == [r.case_id for r in expected]
    assert _badge(section) == "5" and "Seite" not in section  # one page: no pager
    rows = section.split("<tr>")[2:]
    assert "ohne Rückmeldung" in rows[0] and "Rückmeldung fällig seit" in rows[0]
    assert german_date(NOW - 45 * DAY) in rows[1] and german_date(stalled_at) in rows[1]
    assert "eskaliert" in rows[2] and f"läuft ab am {german_date(NOW + DAY)}" in rows[2]
    assert f'href="/aufsicht/vermittlungen/{escalated_soon.id}"' in rows[2]
    assert "erinnert" in rows[3] and f"eskaliert am {german_date(NOW + 3 * DAY)}" in rows[3]
    assert "Verborgen" not in dashboard
    own = html.unescape((await browser.get("/aufsicht/vermittlungen")).text)
    assert CASE_LINK.findall(own.split("<main")[1]) == [r.case_id for r in expected]
    await browser.aclose()


async def test_a_long_late_list_is_paged_in_the_same_statements(system: StoreOnly) -> None:
    supervisor = _municipality(system, "lang")
    rows = [
        _referral(
            "lang",
            200 + n,
            ReferralStatus.DISPATCHED,
            acknowledge_by=NOW - DAY,
            escalate_at=NOW + timedelta(hours=n + 1),
        )
        for n in range(45)
    ]
    system.add(*rows[:25])
    browser = await _browser(system, supervisor)

    async def dashboard() -> tuple[str, int]:
        with _statements(system.engine) as statements:
            page = await browser.get("/aufsicht")
            assert page.status_code == 200
            return html.unescape(_section(page.text, "unanswered-title")), statements()

    await dashboard()
    shown, few = await dashboard()
    assert _badge(shown) == "25" and "Seite 1 von 2" in shown
    system.add(*rows[25:])
    shown, many = await dashboard()
    assert many == few
    assert _badge(shown) == "45" and "Seite 1 von 3" in shown
    assert CASE_LINK.findall(shown) == [r.case_id for r in rows[:PAGE_SIZE]]
    assert 'href="/aufsicht/vermittlungen?page=2"' in shown

    pages: list[str] = []
    for number in (1, 2, 3):
        page = html.unescape((await browser.get(f"/aufsicht/vermittlungen?page={number}")).text)
        main = page.split("<main")[1]
        assert f"Seite {number} von 3" in main
        assert ('rel="prev"' in main) == (number > 1) and ('rel="next"' in main) == (number < 3)
        pages += CASE_LINK.findall(main)
    api = await system.api(supervisor, "/supervision/late-referrals", page_size=200)
    assert pages == [item["case_id"] for item in api["items"]] == [r.case_id for r in rows]
    gone = html.unescape((await browser.get("/aufsicht/vermittlungen?page=7")).text)
    assert "Diese Seite gibt es nicht mehr: die Liste hat 3 Seiten." in gone
    assert 'href="/aufsicht/vermittlungen?page=3"' in gone
    await browser.aclose()


async def test_overdue_reviews_count_all_and_page_like_the_api(system: StoreOnly) -> None:
    supervisor = _municipality(system, "pruef")
    overdue = [_case("pruef", 300 + n, overdue_days=60 - n) for n in range(23)]
    system.add(*overdue, _case("pruef", 330), _case("pruef", 331))
    api = await system.api(supervisor, "/supervision/overdue-reviews", page_size=PAGE_SIZE)
    assert (api["total"], api["has_more"], len(api["items"])) == (23, True, PAGE_SIZE)
    rest = await system.api(supervisor, "/supervision/overdue-reviews", page=2, page_size=PAGE_SIZE)
    assert (rest["total"], rest["has_more"], len(rest["items"])) == (23, False, 3)
    in_order = [c.case_id for c in overdue]  # most overdue first
    assert [i["case_id"] for i in api["items"] + rest["items"]] == in_order

    browser = await _browser(system, supervisor)
    section = html.unescape(_section((await browser.get("/aufsicht")).text, "late-title"))
    assert _badge(section) == "23" and "Seite 1 von 2" in section
    assert CASE_LINK.findall(section) == in_order[:PAGE_SIZE]
    second = html.unescape((await browser.get("/aufsicht/ueberpruefungen?page=2")).text)
    main = second.split("<main")[1]
    assert CASE_LINK.findall(main) == in_order[PAGE_SIZE:] and "Seite 2 von 2" in main
    assert 'href="/aufsicht/ueberpruefungen?page=1"' in main and "MBE Pruef" in main
    await browser.aclose()


async def test_the_supervisors_tasks_are_listed_soonest_due_first(system: StoreOnly) -> None:
    supervisor = _municipality(system, "auf")
    system.add(_case("auf", 400), _case("auf", 401))
    unassigned = _task("auf", 400, 1, TaskKind.CASE_UNASSIGNED, NOW - DAY)
    escalation = _task("auf", 401, 2, TaskKind.REFERRAL_ESCALATION, NOW - 3 * DAY, referral=True)
    review = _task("auf", 401, 3, TaskKind.REVIEW_OVERDUE, NOW + 2 * DAY)
    reported = _task("auf", 402, 4, TaskKind.REFERRAL_REPORTED, NOW, referral=True)  # no row
    done = _task("auf", 400, 5, TaskKind.REVIEW_OVERDUE, NOW - 9 * DAY)
    done.done = True
    counsellors = _task("auf", 400, 6, TaskKind.FOLLOW_UP, NOW - 9 * DAY, role=Role.COUNSELLOR)
    elsewhere = _task("musterstadt", 403, 7, TaskKind.CASE_UNASSIGNED, NOW - 9 * DAY)
    system.add(unassigned, escalation, review, reported, done, counsellors, elsewhere)
    expected = [escalation, unassigned, reported, review]

    listed = await system.api(supervisor, "/supervision/tasks")
    assert [item["id"] for item in listed["items"]] == [t.id for t in expected]
    assert listed["total"] == 4
    first = listed["items"][0]
    assert (first["kind"], first["referral_id"], first["centre_id"]) == (
        "referral_escalation",
        escalation.referral_id,
        "mbe-auf",
    )
    assert listed["items"][2]["centre_id"] is None  # its case is not projected
    paged = await system.api(supervisor, "/supervision/tasks", page=2, page_size=3)
    assert [item["id"] for item in paged["items"]] == [review.id]
    assert (paged["total"], paged["has_more"]) == (4, False)

    browser = await _browser(system, supervisor)
    for path, title_id in (("/aufsicht", "tasks-title"), ("/aufsicht/aufgaben", None)):
        page = html.unescape((await browser.get(path)).text)
        shown = _section(page, title_id) if title_id else page.split("<main")[1]
        assert CASE_LINK.findall(shown) == [t.case_id for t in expected], path
        rows = shown.split("<tr>")[2:]
        assert (
            "Vermittlung eskaliert" in rows[0]
            and f'/aufsicht/vermittlungen/{escalation.referral_id}"' in rows[0]
        )
        assert (
            "Fall ohne Berater:in" in rows[1]
            and f'/aufsicht/faelle/{unassigned.case_id}#zuweisen"' in rows[1]
        )
        assert "MBE Auf" in rows[1] and "—" in rows[2]
        for row, task in zip(rows, expected, strict=True):
            assert task.title in row and german_date(task.due_at) in row
        assert "Verborgen" not in page
    dashboard = _section(html.unescape((await browser.get("/aufsicht")).text), "tasks-title")
    assert _badge(dashboard) == "4"
    await browser.aclose()


@pytest.mark.parametrize(
    "path",
    [
        "/supervision/overdue-reviews",
        "/supervision/open-referrals",
        "/supervision/late-referrals",
        "/supervision/tasks",
    ],
)
async def test_bad_page_numbers_are_refused_in_german_naming_the_field(
    system: StoreOnly, path: str
) -> None:
    for params, field, words in (
        ({"page": "0"}, "page", "mindestens 1"),
        ({"page": "-1"}, "page", "mindestens 1"),
        ({"page": "abc"}, "page", "ganze Zahl"),
        ({"page": "1\x00"}, "page", "ganze Zahl"),
        ({"page": "\u202e1"}, "page", "ganze Zahl"),
        ({"page": "9" * 40}, "page", "höchstens"),
        ({"page": "x" * 5000}, "page", "ganze Zahl"),
        ({"page": "50001"}, "page", "höchstens 50000"),
        ({"page_size": "1000"}, "page_size", "höchstens 200"),
        ({"page_size": "0"}, "page_size", "mindestens 1"),
    ):
        response = await system.call("koordination", "GET", path, params=params)
        assert response.status_code == 422, (path, params, response.text[:200])
        error = response.json()["errors"][0]
        assert error["field"] == field and words in error["message"], (params, error)


async def test_the_list_pages_refuse_bad_page_numbers_and_other_roles(system: StoreOnly) -> None:
    supervisor = await _browser(system, "koordination")
    for path in ("/aufsicht/aufgaben", "/aufsicht/ueberpruefungen", "/aufsicht/vermittlungen"):
        for value in ("0", "-3", "abc", "1\x00", "9" * 40, "x" * 5000, "50001", ""):
            response = await supervisor.get(path, params={"page": value})
            assert response.status_code == 422, (path, value[:10], response.status_code)
            assert "Ungültige Seitenzahl (page)" in html.unescape(response.text)
        assert (await supervisor.get(path, params={"page": "50000"})).status_code == 200
        for username in ("berater1", "sprachkurs", "admin"):
            other = await _browser(system, username)
            refused = await other.get(path)
            assert refused.status_code == 404, (username, path)
            await other.aclose()
    await supervisor.aclose()
