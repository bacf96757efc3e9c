"""Both front doors read the same lists (store/reads/): the pages and the JSON API show the same
cases, referrals and counts for the same filters, on SQLite and PostgreSQL, and the
coordination's dashboard reads a page of the late referrals in the same statements however
many there are (tests/ui/test_supervisor_lists.py has the coordination's lists in full). The
dashboard names partners, centres and counsellors from the directory, and lists the
referrals that found no partner, newest first, without the client's name.

The read model is filled directly (as the projection would), and the app runs without
Temporal: these pages and routes read only the store.
"""

import html
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from api.ui.web import german_date
from domain.case import CaseEventKind, Stage, TaskKind
from domain.enums import ActorKind, NeedKind
from domain.name_key import name_keys
from domain.referral import ReferralStatus
from store.models import Municipality, PartnerAgency, Role
from store.projections import (
    CaseEventRecord,
    CaseNameKey,
    CaseSummary,
    ReferralSummary,
    TaskRecord,
)
from store.reads.archive import signature_request
from store.seed import MUNICIPALITY_ID
from store.users import create_user
from tests.api_harness import StoreOnly, store_only
from tests.ui_harness import Browser

NOW = datetime.now(UTC).replace(microsecond=0)
LONG_AGO = NOW - timedelta(days=30)  # past every acknowledgement deadline (5 working days)
SCHOOL, SCHOOL_USER = "sprachschule-musterstadt", "sprachkurs"
ELSEWHERE = "anderswo"  # a municipality of its own: nothing of it may show up

CASE_LINK = re.compile(r'href="/(?:faelle|aufsicht/faelle)/(case-[0-9a-f-]{36})"')
INBOX_LINK = re.compile(r'href="/eingang/(case-[0-9a-f-]{36}-ref-\d+)"')


def _case_id(n: int) -> str:
    return f"case-00000000-0000-4000-8000-{n:012d}"


async def _browser(system: StoreOnly, username: str) -> Browser:
    browser = Browser(system.app)
    assert (await browser.login(username)).status_code == 303
    return browser


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("lists")) as system:
        system.add(Municipality(id=ELSEWHERE, name="Anderswo", land="BY"))
        system.add(
            PartnerAgency(
                id="schule-anderswo",
                name="Schule Anderswo",
                kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
                municipality_id=ELSEWHERE,
                measures=["integration_course"],
            )
        )
        yield system


def _case(
    n: int,
    *,
    centre: str = "mbe-mitte",
    counsellor: str = "berater1",
    stage: str = "active",
    overdue: bool = False,
    municipality: str = MUNICIPALITY_ID,
    name: str = "Klient",
) -> CaseSummary:
    return CaseSummary(
        case_id=_case_id(n),
        municipality_id=municipality,
        centre_id=centre,
        counsellor_id=counsellor,
        stage=stage,
        next_review_due=NOW - timedelta(days=20) if overdue else NOW + timedelta(days=60),
        review_overdue=overdue,
        client_display_name=f"{name} {n} M.",
        client_given_name=name,
        client_family_name="Muster",
        number=f"MUS-2026-{n:04d}",
        opened_at=LONG_AGO,
        # Distinct instants: the lists' order is then the same on both backends.
        updated_at=NOW - timedelta(minutes=n),
    )


def _keys(rows: list[CaseSummary]) -> list[CaseNameKey]:
    """The name keys the projector writes with each row (store/case_identity.py)."""
    return [
        CaseNameKey(case_id=row.case_id, key=key)
        for row in rows
        for key in name_keys(row.client_given_name, row.client_family_name)
    ]


def _referral(
    n: int,
    status: ReferralStatus,
    *,
    dispatched_at: datetime = LONG_AGO,
    partner: str = SCHOOL,
    municipality: str = MUNICIPALITY_ID,
    escalated: bool = False,
) -> ReferralSummary:
    return ReferralSummary(
        id=f"{_case_id(n)}-ref-1",
        case_id=_case_id(n),
        municipality_id=municipality,
        route_id="r1",
        partner_id=partner,
        actor_kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
        measure="integration_course",
        need_kind=NeedKind.LANGUAGE,
        status=status,
        dispatched_at=dispatched_at + timedelta(seconds=n),
        # The deadline the case computed at dispatch (five working days: a week here).
        acknowledge_by=dispatched_at + timedelta(days=7, seconds=n),
        acknowledged_at=NOW if status is ReferralStatus.ACKNOWLEDGED else None,
        escalated=escalated,
        client_first_name="Amina",
        updated_at=NOW,
    )


def _section(page: str, title_id: str) -> str:
    start = page.index(f'id="{title_id}"')
    return page[start : page.index("</section>", start)]


@contextmanager
def _statements(engine: Engine) -> Iterator[Callable[[], int]]:
    """How many SQL statements `engine` runs inside the block."""
    count = 0

    def counted(*_: Any) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "after_cursor_execute", counted)
    try:
        yield lambda: count
    finally:
        event.remove(engine, "after_cursor_execute", counted)


async def test_the_dashboard_reads_the_late_referrals_once_however_many(system: StoreOnly) -> None:
    late = [_referral(n, ReferralStatus.DISPATCHED) for n in range(1000, 1003)]
    escalated_recently = _referral(
        1003, ReferralStatus.DISPATCHED, dispatched_at=NOW, escalated=True
    )
    on_time = [
        _referral(1004, ReferralStatus.DISPATCHED, dispatched_at=NOW),
        _referral(1005, ReferralStatus.ACKNOWLEDGED),
        _referral(1006, ReferralStatus.COMPLETED),
        _referral(1007, ReferralStatus.DISPATCHED, municipality=ELSEWHERE, partner="x"),
    ]
    system.add(*late, escalated_recently, *on_time)
    supervisor = await _browser(system, "koordination")

    async def unanswered() -> tuple[list[str], int]:
        with _statements(system.engine) as statements:
            page = await supervisor.get("/aufsicht")
            assert page.status_code == 200
            return CASE_LINK.findall(_section(page.text, "unanswered-title")), statements()

    await unanswered()  # the first request may open connections; count from the second
    shown, few = await unanswered()
    # The least time left first: these rows carry no escalation date, so their dispatch.
    assert shown == [r.case_id for r in [*late, escalated_recently]]
    # Forty more late referrals: the first page of them, in not one statement more.
    more = [_referral(n, ReferralStatus.DISPATCHED) for n in range(1100, 1140)]
    system.add(*more)
    shown, many = await unanswered()
    assert shown == [r.case_id for r in [*late, *more]][:20]
    assert many == few
    # The same rows, in the same order, as the API's late referrals.
    listed = await system.api("koordination", "/supervision/late-referrals", page_size=20)
    assert shown == [item["case_id"] for item in listed["items"]] and listed["total"] == 44
    # The API's open referrals are all of them, oldest first.
    listed = await system.api("koordination", "/supervision/open-referrals", page_size=200)
    ids = [item["case_id"] for item in listed["items"]]
    acknowledged = on_time[1]  # dispatched as long ago as the late ones, a little after them
    expected = [*late, acknowledged, *more, escalated_recently, on_time[0]]
    assert ids == [r.case_id for r in expected] and listed["total"] == len(expected)
    await supervisor.aclose()


async def test_the_supervisors_case_list_counts_what_the_caseload_counts(system: StoreOnly) -> None:
    rows = [
        _case(2000, centre="mbe-mitte", counsellor="berater1", stage="active", overdue=True),
        _case(2001, centre="mbe-mitte", counsellor="berater1", stage="active"),
        _case(2002, centre="mbe-mitte", counsellor="berater1", stage="drafting"),
        _case(2003, centre="mbe-nord", counsellor="berater2", stage="active", overdue=True),
        _case(2004, centre="mbe-nord", counsellor="berater2", stage="intake"),
        _case(2005, centre="elsewhere", counsellor="fremd", municipality=ELSEWHERE, overdue=True),
    ]
    system.add(*rows)
    supervisor = await _browser(system, "koordination")

    async def listed(**filters: str) -> list[str]:
        page = await supervisor.get("/aufsicht/faelle", params=filters)
        assert page.status_code == 200
        return CASE_LINK.findall(page.text)

    caseload = await system.api("koordination", "/supervision/caseload")
    for count in caseload:
        if count["counsellor_id"] not in ("berater1", "berater2"):
            continue
        filters = {"berater": count["counsellor_id"], "stadium": count["stage"]}
        assert len(await listed(stelle=count["centre_id"], **filters)) == count["cases"]
        overdue = await listed(stelle=count["centre_id"], ueberfaellig="1", **filters)
        assert len(overdue) == count["overdue"]
    mine = [r.case_id for r in rows]
    assert [c for c in await listed(ueberfaellig="1") if c in mine] == [
        _case_id(2000),
        _case_id(2003),
    ]
    assert [c for c in await listed(stelle="mbe-nord") if c in mine] == [
        _case_id(2003),
        _case_id(2004),
    ]
    assert _case_id(2005) not in await listed()
    # The dashboard's overdue reviews and the API's are the same cases, in the same order.
    api = await system.api("koordination", "/supervision/overdue-reviews", page_size=20)
    dashboard = await supervisor.get("/aufsicht")
    shown = CASE_LINK.findall(_section(dashboard.text, "late-title"))
    assert shown == [item["case_id"] for item in api["items"]]
    assert _case_id(2000) in shown and _case_id(2003) in shown and _case_id(2005) not in shown
    await supervisor.aclose()


async def test_the_inbox_tabs_show_what_the_api_lists_per_status(system: StoreOnly) -> None:
    rows = [
        _referral(3000, ReferralStatus.DISPATCHED),  # late
        _referral(3001, ReferralStatus.DISPATCHED, dispatched_at=NOW),  # new, on time
        _referral(3002, ReferralStatus.ACKNOWLEDGED),
        _referral(3003, ReferralStatus.COMPLETED),
        _referral(3004, ReferralStatus.DECLINED),
        _referral(3005, ReferralStatus.DISPATCHED, partner="jobcenter-musterstadt"),
    ]
    system.add(*rows)
    partner = await _browser(system, SCHOOL_USER)
    mine = {r.id for r in rows}

    async def tab(view: str) -> list[str]:
        page = await partner.get("/eingang", params={"ansicht": view})
        assert page.status_code == 200
        return [i for i in dict.fromkeys(INBOX_LINK.findall(page.text)) if i in mine]

    async def api(*statuses: ReferralStatus) -> list[str]:
        ids: list[str] = []
        for status in statuses:
            found = await system.api(SCHOOL_USER, "/referrals", status=status.value, page_size=200)
            ids += [item["id"] for item in found["items"] if item["id"] in mine]
        # Both lists are newest first; a union of statuses is merged in that order.
        order = {r.id: r.dispatched_at for r in rows}
        return sorted(ids, key=lambda i: order[i], reverse=True)

    assert await tab("neu") == await api(ReferralStatus.DISPATCHED)
    assert await tab("neu") == [rows[1].id, rows[0].id]
    assert await tab("ueberfaellig") == [rows[0].id]
    assert await tab("angenommen") == await api(ReferralStatus.ACKNOWLEDGED) == [rows[2].id]
    closed = (ReferralStatus.COMPLETED, ReferralStatus.DECLINED, ReferralStatus.EXPIRED)
    assert await tab("erledigt") == await api(*closed) == [rows[4].id, rows[3].id]
    opened = await api(ReferralStatus.DISPATCHED, ReferralStatus.ACKNOWLEDGED)
    assert await tab("offen") == opened == [rows[1].id, rows[2].id, rows[0].id]
    assert rows[5].id not in await tab("offen")  # another agency's

    # One word per status in the list, on its tab and on the referral's own page.
    listed = html.unescape((await partner.get("/eingang", params={"ansicht": "neu"})).text)
    assert '>Übermittelt <span class="count">' in listed and "übermittelt</span>" in listed
    assert ">neu<" not in listed
    own = html.unescape((await partner.get(f"/eingang/{rows[1].id}")).text)
    assert "<dt>Status</dt><dd>übermittelt" in own
    # Each tab says how many it lists (every referral of the agency, not only these rows).
    for view in ("offen", "neu", "ueberfaellig", "angenommen", "erledigt"):
        page = (await partner.get("/eingang", params={"ansicht": view})).text
        counted = re.search(rf'ansicht={view}"[^>]*>[^<]+<span class="count">\((\d+)\)', page)
        assert counted is not None, view
        assert int(counted.group(1)) == len(set(INBOX_LINK.findall(page))), view
    await partner.aclose()


async def test_my_cases_page_and_get_cases_list_the_same_cases(system: StoreOnly) -> None:
    rows = [
        _case(4000 + n, stage="assessment", name="Suchbar" if n % 2 else "Anders") for n in range(6)
    ]
    rows.append(_case(4010, stage="assessment", counsellor="berater1x", name="Suchbar"))
    rows.append(_case(4011, stage="assessment", centre="mbe-nord", counsellor="berater2"))
    system.add(*rows, *_keys(rows))
    counsellor = await _browser(system, "berater1")

    async def page(**filters: str) -> list[str]:
        response = await counsellor.get("/faelle", params=filters)
        assert response.status_code == 200
        return list(dict.fromkeys(CASE_LINK.findall(response.text)))

    everyone = await system.api("berater1", "/cases", stage="assessment")
    api_ids = [item["id"] for item in everyone["items"]]
    assert await page(stadium="assessment", wer="alle") == api_ids
    assert _case_id(4010) in api_ids and _case_id(4011) not in api_ids  # the centre's only
    mine = await system.api("berater1", "/cases", stage="assessment", counsellor="berater1")
    assert await page(stadium="assessment") == [item["id"] for item in mine["items"]]
    findable = {r.case_id for r in rows if r.client_display_name.startswith("Suchbar")}
    searched = await page(stadium="assessment", wer="alle", q="suchbar")
    assert searched == [c for c in api_ids if c in findable] and len(searched) == 4
    await counsellor.aclose()


async def test_my_cases_finds_a_name_by_its_variant_and_shows_number_name_and_birth_date(
    system: StoreOnly,
) -> None:
    own = _case(4100, stage="drafting", name="Amal")
    own.client_family_name, own.client_display_name = "Haddad", "Amal H."
    own.client_birth_date = date(1991, 4, 2)
    colleagues = _case(4101, stage="drafting", counsellor="berater1x", name="Amal")
    colleagues.client_family_name, colleagues.client_display_name = "Hadad", "Amal H."
    colleagues.client_birth_date = date(1985, 1, 1)
    other_centre = _case(4102, stage="drafting", centre="mbe-nord", counsellor="berater2")
    other_centre.client_given_name, other_centre.client_family_name = "Amal", "Haddad"
    rows = [own, colleagues, other_centre]
    system.add(*rows, *_keys(rows))
    counsellor = await _browser(system, "berater1")
    response = await counsellor.get("/faelle", params={"q": "Hadad", "wer": "alle"})
    assert response.status_code == 200
    assert list(dict.fromkeys(CASE_LINK.findall(response.text))) == [
        own.case_id,
        colleagues.case_id,
    ]
    page = response.text
    # The own case: number, full name and date of birth; the colleague's: number and initials.
    assert "MUS-2026-4100" in page and "Amal Haddad" in page and "02.04.1991" in page
    assert "MUS-2026-4101" in page and "Amal Hadad" not in page and "01.01.1985" not in page
    assert "MUS-2026-4102" not in page
    by_number = await counsellor.get("/faelle", params={"q": "mus-2026-4101", "wer": "alle"})
    assert CASE_LINK.findall(by_number.text) == [colleagues.case_id]
    for pattern in ("%", "_", "\\"):
        nothing = await counsellor.get("/faelle", params={"q": pattern, "wer": "alle"})
        assert nothing.status_code == 200 and CASE_LINK.findall(nothing.text) == []
        assert "Keine Fälle für diese Auswahl." in nothing.text
    # A search that cannot be one says so beside the field, in German, and lists nothing.
    for wrong, says in (("Amal\x00", "Steuerzeichen"), ("x" * 101, "höchstens 100")):
        refused = await counsellor.get("/faelle", params={"q": wrong, "wer": "alle"})
        assert refused.status_code == 422
        assert 'id="f-q-error"' in refused.text and "Bitte prüfen Sie die Suche" in refused.text
        assert says in refused.text and CASE_LINK.findall(refused.text) == []
    await counsellor.aclose()


async def test_a_signature_request_is_read_back_from_the_archived_history(
    system: StoreOnly,
) -> None:
    # The document page and GET /cases/{id}/agreement ask it for a version the case no longer
    # carries (more than five versions back).
    case_id = _case_id(5000)

    def requested(seq: int, version: int, hash: str) -> CaseEventRecord:
        return CaseEventRecord(
            case_id=case_id,
            seq=seq,
            at=NOW + timedelta(minutes=seq),
            kind=CaseEventKind.SIGNATURE_REQUESTED.value,
            stage=Stage.AWAITING_SIGNATURE.value,
            data={"version": version, "hash": hash},
        )

    system.add(requested(3, 1, "a" * 64), requested(5, 1, "b" * 64), requested(8, 2, "c" * 64))
    assert signature_request(system.engine, case_id, 1) == ("b" * 64, NOW + timedelta(minutes=5))
    assert signature_request(system.engine, case_id, 2) == ("c" * 64, NOW + timedelta(minutes=8))
    assert signature_request(system.engine, case_id, 3) is None
    assert signature_request(system.engine, _case_id(5001), 1) is None


def _no_partner_task(
    n: int, case_n: int, *, age: timedelta, kind: TaskKind = TaskKind.REFERRAL_UNASSIGNED
) -> TaskRecord:
    return TaskRecord(
        id=f"{_case_id(case_n)}-t{n}",
        case_id=_case_id(case_n),
        referral_id=f"{_case_id(case_n)}-ref-1",
        kind=kind.value,
        assignee_role=Role.COUNSELLOR,
        assignee_id="berater1",
        title=f"Kein weiterer Partner für „Kinderbetreuung“ (Aufgabe {n}).",
        due_at=NOW - age,
        created_at=NOW - age,
    )


async def test_the_dashboard_lists_the_referrals_without_partner_newest_first(
    system: StoreOnly,
) -> None:
    mitte = _case(6000, centre="mbe-mitte", name="Verborgen")
    nord = _case(6001, centre="mbe-nord", counsellor="berater2", name="Verborgen")
    elsewhere = _case(6002, centre="elsewhere", municipality=ELSEWHERE, name="Verborgen")
    # The declined Kita referral behind the first task; the second task's referral has no
    # row (the section then says "—" for need and kind, and still lists it).
    kita = _referral(6000, ReferralStatus.DECLINED, partner="jugendamt-musterstadt")
    kita.actor_kind, kita.need_kind = ActorKind.CHILDCARE_OFFICE, NeedKind.CHILDCARE
    kita.measure = "childcare_place"
    older = _no_partner_task(1, 6000, age=timedelta(days=9))
    newer = _no_partner_task(1, 6001, age=timedelta(days=2))
    left_out = [
        _no_partner_task(2, 6001, age=timedelta(days=1), kind=TaskKind.REFERRAL_DECLINED),
        _no_partner_task(1, 6002, age=timedelta(days=1)),  # another municipality's
    ]
    done = _no_partner_task(3, 6000, age=timedelta(hours=1))
    done.done = True
    system.add(mitte, nord, elsewhere, kita, older, newer, *left_out, done)
    supervisor = await _browser(system, "koordination")

    async def section() -> tuple[str, int]:
        with _statements(system.engine) as statements:
            page = await supervisor.get("/aufsicht")
            assert page.status_code == 200
            assert "Verborgen" not in page.text  # the coordination sees no client's name
            return _section(page.text, "unassigned-title"), statements()

    await section()
    shown, few = await section()
    assert CASE_LINK.findall(shown) == [nord.case_id, mitte.case_id]
    rows = shown.split("<tr>")[2:]
    assert "MBE Musterstadt-Nord" in rows[0] and "(Aufgabe 1)" in rows[0] and "—" in rows[0]
    for words in ("Kinderbetreuung", "Kita-Servicestelle", "MBE Musterstadt-Mitte"):
        assert words in rows[1], words
    assert german_date(older.created_at) in rows[1] and german_date(newer.created_at) in rows[0]
    assert ">mbe-mitte<" not in shown
    # Thirty more: listed in the same number of statements.
    system.add(*[_no_partner_task(10 + n, 6000, age=timedelta(days=20)) for n in range(30)])
    shown, many = await section()
    assert len(CASE_LINK.findall(shown)) == 32 and many == few
    await supervisor.aclose()


async def test_the_dashboard_names_partners_centres_and_counsellors(system: StoreOnly) -> None:
    # A counsellor without a display name is shown by her username.
    with Session(system.engine) as session:
        create_user(session, "berater7", Role.COUNSELLOR, password_hash="-", centre_id="mbe-nord")
        session.commit()
    late = _case(7000, centre="mbe-nord", counsellor="berater7", overdue=True)
    named = _case(7001, centre="mbe-mitte", counsellor="berater1", overdue=True)
    system.add(late, named, _referral(7000, ReferralStatus.DISPATCHED))
    supervisor = await _browser(system, "koordination")
    page = (await supervisor.get("/aufsicht")).text
    unanswered = _section(page, "unanswered-title")
    assert "Sprachschule Musterstadt (Integrationskursträger)" in unanswered
    assert f">{SCHOOL}<" not in unanswered
    reviews = _section(page, "late-title")
    assert ">Katrin Schulte</a>" in reviews and ">berater7</a>" in reviews
    assert ">MBE Musterstadt-Nord</a>" in reviews
    # The links keep the ids: the filters of the case list.
    assert 'href="/aufsicht/faelle?berater=berater1&amp;ueberfaellig=1"' in reviews
    counsellors = _section(page, "counsellors-title")
    assert ">Katrin Schulte</a>" in counsellors and ">berater1<" not in counsellors
    listed = (await supervisor.get("/aufsicht/faelle", params={"berater": "berater1"})).text
    assert "Berater:in Katrin Schulte" in listed and "MBE Musterstadt-Mitte" in listed
    await supervisor.aclose()
