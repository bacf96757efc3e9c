"""The API's read-model endpoints on SQLite and on PostgreSQL (skipped when
LOTSE_TEST_POSTGRES_URL is unset): lists, filters and pages of `GET /cases`, the partner inbox,
the supervisor's lists and the evaluation report, over rows the projection wrote. These
endpoints never ask Temporal, so the app here has none (its address leads nowhere)."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from activities.case_events import CaseEventBatch, CaseProjection
from api.main import create_app
from domain.case import CaseEvent, CaseEventKind, Stage
from store.projector import SqlCaseEventSink
from store.seed import seed_demo
from store.testing import BACKENDS, migrated_store
from tests.api_harness import settings_for
from tests.hostile_values import variants
from tests.process_harness import free_port

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _case(
    n: int,
    *,
    centre: str = "mbe-mitte",
    counsellor: str = "berater1",
    stage: Stage = Stage.ACTIVE,
    overdue: bool = False,
    survey: tuple[bool | None, bool | None] | None = None,
    referral_to: str | None = None,
    name: tuple[str, str] | None = None,
    birth_date: date | None = None,
) -> CaseEventBatch:
    case_id = f"case-00000000-0000-4000-8000-{n:012d}"
    at = T0 + timedelta(hours=n)
    events = [
        CaseEvent(
            sequence=1,
            at=at,
            kind=CaseEventKind.CASE_OPENED,
            stage=Stage.INTAKE,
            data={
                "municipality_id": "musterstadt",
                "centre_id": centre,
                "centre_kind": "MBE",
                "counsellor_id": counsellor,
            },
        )
    ]
    if referral_to is not None:
        events.append(
            CaseEvent(
                sequence=len(events) + 1,
                at=at,
                kind=CaseEventKind.REFERRAL_DISPATCHED,
                stage=stage,
                data={
                    "referral_id": f"{case_id}-ref-1",
                    "route_id": "r1",
                    "measure_id": "m1",
                    "partner_id": referral_to,
                    "actor": "language_course_provider",
                    "measure": "integration_course",
                    "need": "language",
                    "previous_referral_id": None,
                },
            )
        )
    if survey is not None:
        events.append(
            CaseEvent(
                sequence=len(events) + 1,
                at=at,
                kind=CaseEventKind.REVIEW_RECORDED,
                stage=stage,
                data={
                    "review_id": "v1",
                    "due_at": None,
                    "next_review_due": (at + timedelta(days=180)).isoformat(),
                    "agreement_helped": survey[0],
                    "easier_to_keep_at_it": survey[1],
                    "new_needs": 0,
                    "goals_achieved": 0,
                },
            )
        )
    projection = CaseProjection(
        case_id=case_id,
        municipality_id="musterstadt",
        centre_id=centre,
        counsellor_id=counsellor,
        stage=stage,
        opened_at=at,
        next_review_due=at + timedelta(days=90),
        review_overdue=overdue,
        open_task_count=0,
        client_given_name=name[0] if name else f"Client{n}",
        client_family_name=name[1] if name else "Muster",
        client_birth_date=birth_date,
        client_languages=["uk"],
    )
    return CaseEventBatch(case=projection, events=events)


@pytest.fixture(params=BACKENDS)
async def http(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    with migrated_store(request.param, tmp_path, url) as engine:
        seed_demo(engine, environment="development")
        sink = SqlCaseEventSink(engine)
        for n in range(1, 8):  # 7 active cases of berater1, two overdue
            sink.append(
                _case(
                    n,
                    overdue=n in (2, 5),
                    referral_to="sprachschule-musterstadt",
                )
            )
        sink.append(
            _case(8, stage=Stage.INTAKE, name=("Amal", "Haddad"), birth_date=date(1991, 4, 2))
        )
        sink.append(_case(9, counsellor="berater1b", name=("Amal", "Hadad")))
        sink.append(
            _case(
                10, centre="mbe-nord", counsellor="berater2", overdue=True, name=("Amal", "Haddad")
            )
        )
        sink.append(_case(11, survey=(True, True)))
        sink.append(_case(12, survey=(False, None)))
        sink.append(_case(13, survey=(True, False), referral_to="jobcenter-musterstadt"))
        app = create_app(settings_for(tmp_path, "none", f"127.0.0.1:{free_port()}"), engine=engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lotse.test") as client:
            yield client


async def _get(http: httpx.AsyncClient, user: str, path: str, **params: Any) -> Any:
    login = await http.post("/auth/token", data={"username": user, "password": "demo"})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    response = await http.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _ids(page: dict[str, Any]) -> list[int]:
    return [int(item.get("id", item.get("case_id", ""))[-12:]) for item in page["items"]]


async def test_case_list_is_the_centres_newest_first_in_pages(http: httpx.AsyncClient) -> None:
    first = await _get(http, "berater1", "/cases", page_size=5)
    assert _ids(first) == [13, 12, 11, 9, 8] and first["has_more"]
    second = await _get(http, "berater1", "/cases", page_size=5, page=2)
    assert _ids(second) == [7, 6, 5, 4, 3] and second["has_more"]
    last = await _get(http, "berater1", "/cases", page_size=5, page=3)
    assert _ids(last) == [2, 1] and not last["has_more"]
    assert first["items"][0]["client"] == "Client13 M."


async def test_case_list_filters(http: httpx.AsyncClient) -> None:
    assert _ids(await _get(http, "berater1", "/cases", stage="intake")) == [8]
    assert _ids(await _get(http, "berater1", "/cases", overdue="true")) == [5, 2]
    assert _ids(await _get(http, "berater1", "/cases", counsellor="berater1b")) == [9]
    # Another centre's cases are not in the list, whatever the filter.
    assert _ids(await _get(http, "berater1", "/cases", counsellor="berater2")) == []
    assert _ids(await _get(http, "berater2", "/cases")) == [10]


async def test_case_list_searches_names_by_variant_and_numbers_in_the_centre_only(
    http: httpx.AsyncClient,
) -> None:
    found = await _get(http, "berater1", "/cases", q="Hadad")
    assert _ids(found) == [9, 8]  # not case 10: another centre's Amal Haddad
    colleagues, own = found["items"]
    # The counsellor's own case shows the full name and date of birth; a colleague's initials.
    assert (own["client_name"], own["birth_date"], own["client"]) == (
        "Amal Haddad",
        "1991-04-02",
        "Amal H.",
    )
    assert (colleagues["client_name"], colleagues["birth_date"]) == (None, None)
    assert colleagues["client"] == "Amal H."
    # Numbered in projection order (seed_demo's municipality is MUS); T0 is in 2025.
    assert own["number"] == "MUS-2025-0008" and colleagues["number"] == "MUS-2025-0009"
    assert _ids(await _get(http, "berater1", "/cases", q="amal haddad", stage="active")) == [9]
    assert _ids(await _get(http, "berater1", "/cases", q="mus-2025-9")) == [9]
    assert _ids(await _get(http, "berater1", "/cases", q="MUS-2025-0010")) == []
    assert _ids(await _get(http, "berater2", "/cases", q="MUS-2025-0010")) == [10]
    assert _ids(await _get(http, "berater2", "/cases", q="Haddad")) == [10]
    assert _ids(await _get(http, "berater1", "/cases", q="   ")) == _ids(
        await _get(http, "berater1", "/cases")
    )


@pytest.mark.parametrize("q", ["%", "_", "\\", "%_%", "' OR 1=1 --", "a\\%", "XYZ-2025-%"])
async def test_case_list_search_takes_no_pattern_from_the_user(
    http: httpx.AsyncClient, q: str
) -> None:
    assert _ids(await _get(http, "berater1", "/cases", q=q)) == []


async def test_a_number_with_a_pattern_character_is_a_search_for_its_words(
    http: httpx.AsyncClient,
) -> None:
    # Not a number, so its words: "MUS" finds the names that begin so, "%" adds nothing.
    found = _ids(await _get(http, "berater1", "/cases", q="MUS-2025-%"))
    assert found == _ids(await _get(http, "berater1", "/cases", q="Mus"))


@pytest.mark.parametrize(
    ("q", "says"),
    [("x" * 101, "höchstens 100"), *((value, says) for _label, value, says in variants("line"))],
)
async def test_case_list_refuses_an_invalid_search_naming_q(
    http: httpx.AsyncClient, q: str, says: str
) -> None:
    login = await http.post("/auth/token", data={"username": "berater1", "password": "demo"})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    response = await http.get("/cases", params={"q": q}, headers=headers)
    assert response.status_code == 422
    body = response.json()
    [error] = body["errors"]
    assert error["field"] == "q" and says in error["message"], body
    assert body["detail"].startswith("Ungültige Eingabe – Suche (Name oder Fall-Nr.): ")


async def test_partner_inbox_holds_only_its_own_referrals(http: httpx.AsyncClient) -> None:
    inbox = await _get(http, "sprachkurs", "/referrals")
    assert len(inbox["items"]) == 7
    names = {item["client_first_name"] for item in inbox["items"]}
    assert names == {f"Client{n}" for n in range(1, 8)}
    assert all(item["languages"] == ["uk"] for item in inbox["items"])
    jobcenter = await _get(http, "jobcenter", "/referrals")
    assert [item["id"][-18:-6] for item in jobcenter["items"]] == ["000000000013"]
    assert (await _get(http, "kita", "/referrals"))["items"] == []


async def test_supervisor_lists(http: httpx.AsyncClient) -> None:
    overdue = await _get(http, "koordination", "/supervision/overdue-reviews")
    assert _ids(overdue) == [2, 5, 10]  # most overdue (earliest due) first
    assert "client" not in overdue["items"][0]
    open_referrals = await _get(http, "koordination", "/supervision/open-referrals")
    assert len(open_referrals["items"]) == 8
    caseload = await _get(http, "koordination", "/supervision/caseload")
    rows = {(r["centre_id"], r["counsellor_id"], r["stage"]): r for r in caseload}
    mitte = rows[("mbe-mitte", "berater1", "active")]
    assert (mitte["cases"], mitte["overdue"]) == (10, 2)
    assert rows[("mbe-nord", "berater2", "active")]["overdue"] == 1


async def test_evaluation_report_counts_each_client_once_and_hides_small_groups(
    http: httpx.AsyncClient,
) -> None:
    january = {"from": "2025-01-01", "to": "2025-01-31"}
    report = await _get(http, "koordination", "/reports/evaluation", **january)
    # Three clients answered: fewer than the minimum group of five, nothing is published.
    assert report["survey"]["clients_answered"] is None
    assert report["survey"]["agreement_helped"] == {
        "yes": None,
        "no": None,
        "unanswered": None,
        "share_yes": None,
        "suppressed": True,
    }
    assert report["period"] == {"from": "2025-01-01", "to": "2025-01-31"}
    # Eight referrals (all of the kind language course) were dispatched in January.
    [referrals] = report["referrals"]["by_actor"]
    assert (referrals["actor"], referrals["dispatched"]) == ("language_course_provider", 8)
