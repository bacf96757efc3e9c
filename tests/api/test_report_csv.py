"""`GET /reports/evaluation.csv`: the evaluation as a file German spreadsheets open as it is.

Over HTTP, on SQLite and PostgreSQL (the app on a seeded store; the report's figures need no
Temporal): the file starts with a byte order mark, parses back with `csv` and `;`, has the
stable header and the period and scope on every line, is named by its period, and takes the
JSON report's parameters with its answers: 403 for a role without reports, 404 outside the
scope, and a German 4xx naming the field for every hostile value, never a 5xx. On a report
built by hand (api/evaluation_csv.py renders what it is given): shares and medians with a
decimal comma, suppressed figures empty, a directory name that a spreadsheet would run as a
formula defused.
"""

import csv
import io
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from api.evaluation import (
    ActorReferrals,
    Agreements,
    CentreCount,
    CentreSurvey,
    EvaluationReport,
    Goals,
    MonthCount,
    Period,
    Question,
    Referrals,
    ReportRequest,
    ReviewMonth,
    Reviews,
    Scope,
    Survey,
)
from api.evaluation_csv import COLUMNS, render
from api.evaluation_names import ReportNames
from domain.case import ClosureReason
from domain.enums import ActorKind
from store.models import Municipality
from tests.api_harness import StoreOnly, store_only
from tests.hostile_values import HUGE

HEADER = list(COLUMNS)
BOM = "\ufeff"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("csv")) as system:
        system.add(Municipality(id="beispielheim", name="Beispielheim", land="BY"))
        yield system


def _rows(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text.removeprefix(BOM)), delimiter=";"))


async def test_the_file_has_a_bom_the_stable_header_and_its_scope_on_every_line(
    system: StoreOnly,
) -> None:
    params = {"from": "2025-01-01", "to": "2025-03-31"}
    response = await system.call("koordination", "GET", "/reports/evaluation.csv", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="auswertung-2025-01-01-2025-03-31.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = _rows(response.content.decode("utf-8"))
    assert rows[0] == HEADER
    assert all(len(row) == len(HEADER) for row in rows)
    lines = [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]
    assert {(line["period_from"], line["period_to"]) for line in lines} == {
        ("2025-01-01", "2025-03-31")
    }
    assert {(line["municipality"], line["centre"]) for line in lines} == {("musterstadt", "")}
    first = lines[0]
    assert (first["section"], first["group"], first["group_label"]) == (
        "report",
        "scope",
        "Musterstadt",
    )
    assert (first["figure"], first["value"]) == ("min_group", "5")
    months = [line["group_label"] for line in lines if line["section"] == "agreements.per_month"]
    assert months == ["Januar 2025", "Februar 2025", "März 2025"]
    # The same figures as the JSON report, key for key.
    report = await system.api("koordination", "/reports/evaluation", **params)
    total = next(line for line in lines if line["section"] == "agreements")
    assert total["value"] == str(report["agreements"]["concluded"])
    assert {line["figure"] for line in lines if line["section"] == "reviews"} == {
        *(key for key in report["reviews"] if key != "per_month")
    }


async def test_a_centre_and_an_evaluator_s_municipalities_are_named_on_every_line(
    system: StoreOnly,
) -> None:
    centre = await system.call(
        "koordination", "GET", "/reports/evaluation.csv", params={"centre": "mbe-mitte"}
    )
    lines = _rows(centre.text)[1:]
    assert {(row[2], row[3]) for row in lines} == {("musterstadt", "mbe-mitte")}
    assert lines[0][6] == "MBE Musterstadt-Mitte (Musterstadt)"
    everywhere = await system.call("auswertung", "GET", "/reports/evaluation.csv")
    lines = _rows(everywhere.text)[1:]
    assert {row[2] for row in lines} == {"all"}
    assert lines[0][6] == "alle Kommunen"


async def test_the_csv_answers_like_the_json_report_for_roles_and_scope(
    system: StoreOnly,
) -> None:
    for username in ("berater1", "sprachkurs", "admin"):
        response = await system.call(username, "GET", "/reports/evaluation.csv")
        assert response.status_code == 403, username
    for params in ({"municipality": "beispielheim"}, {"centre": "nirgends"}):
        foreign = await system.call("koordination", "GET", "/reports/evaluation.csv", params=params)
        assert foreign.status_code == 404, params
        assert foreign.json() == {"detail": "Nicht gefunden."}
    anonymous = await system.http.get("/reports/evaluation.csv")
    assert anonymous.status_code == 401


HOSTILE: list[tuple[str, Any, str]] = [
    ("from", "gestern", "Datum"),
    ("from", "2025-02-30", "Datum"),
    ("from", "0001-01-01", "außerhalb des erlaubten Bereichs"),
    ("to", "2201-01-01", "außerhalb des erlaubten Bereichs"),
    ("to", "9" * 400, "Datum"),
    ("from", "2025-01-01\x00", "Datum"),
    ("municipality", "musterstadt\x00", "Steuerzeichen (U+0000"),
    ("municipality", "muster\u202estadt", "Schreibrichtung (U+202E"),
    ("municipality", HUGE, "Zu lang"),
    ("centre", "mbe\x1b[31m", "Steuerzeichen (U+001B"),
    ("centre", "mbe\nmitte", "Zeilenumbrüche"),
    ("centre", HUGE, "Zu lang"),
]


@pytest.mark.parametrize(("field", "value", "words"), HOSTILE)
async def test_a_hostile_parameter_is_a_german_4xx_naming_its_field(
    system: StoreOnly, field: str, value: str, words: str
) -> None:
    response = await system.call(
        "auswertung", "GET", "/reports/evaluation.csv", params={field: value}
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == [field]
    assert words in problem["errors"][0]["message"]


async def test_a_period_that_is_none_is_refused_naming_its_field(system: StoreOnly) -> None:
    for params, field in (
        ({"from": "2025-03-01", "to": "2025-02-28"}, "to"),
        ({"from": "1990-01-01", "to": "2025-01-01"}, "from"),
    ):
        response = await system.call("auswertung", "GET", "/reports/evaluation.csv", params=params)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field


def _question(yes: int | None, no: int | None, share: float | None) -> Question:
    return Question(yes=yes, no=no, unanswered=0, share_yes=share, suppressed=share is None)


def _report() -> EvaluationReport:
    """A report as api/evaluation.py shapes one, with a share, a median and suppressed
    figures (null)."""
    helped = _question(16, 11, 0.5926)
    return EvaluationReport(
        period=Period(from_=date(2025, 1, 1), to=date(2025, 2, 28)),
        scope=Scope(municipality_id="musterstadt", centre_id=None),
        min_group=5,
        agreements=Agreements(
            concluded=1234,
            per_month=[
                MonthCount(month="2025-01", concluded=1230),
                MonthCount(month="2025-02", concluded=None),
            ],
            per_centre=[CentreCount(centre_id="mbe-boese", concluded=27)],
        ),
        survey=Survey(
            clients_answered=27,
            agreement_helped=helped,
            easier_to_keep_at_it=_question(None, None, None),
            per_centre=[
                CentreSurvey(
                    centre_id="mbe-boese",
                    clients=27,
                    agreement_helped=helped,
                    easier_to_keep_at_it=_question(None, None, None),
                )
            ],
        ),
        reviews=Reviews(
            due=0,
            on_time=0,
            late=0,
            overdue_now=0,
            overdue_rate=None,
            per_month=[
                ReviewMonth(month="2025-01", due=0, late=0, overdue_now=0, overdue_rate=None),
                ReviewMonth(month="2025-02", due=10, late=3, overdue_now=2, overdue_rate=0.5),
            ],
        ),
        goals=Goals(achieved=5, in_progress=None, open=None, dropped=0),
        closures={ClosureReason.MOVED_AWAY: 6, ClosureReason.NO_CONTACT: None},
        referrals=Referrals(
            by_actor=[
                ActorReferrals(
                    actor=ActorKind.JOBCENTER,
                    dispatched=40,
                    acknowledged=30,
                    declined=None,
                    expired=None,
                    withdrawn=0,
                    completed=20,
                    achieved=12,
                    median_days_to_acknowledge=2.5,
                )
            ],
            inbound=[],
            partners_active=7,
        ),
        needs=[],
        rules=[],
    )


def test_numbers_have_a_decimal_comma_and_suppressed_figures_are_empty() -> None:
    request = ReportRequest(
        municipalities=("musterstadt",),
        municipality_id="musterstadt",
        centre_id=None,
        start=date(2025, 1, 1),
        end=date(2025, 2, 28),
    )
    names = ReportNames(
        centres={"mbe-boese": '=HYPERLINK("http://example.org")'},
        municipalities={"musterstadt": "Musterstadt"},
    )
    rows = _rows(render(_report(), request, names))
    assert rows[0] == HEADER
    value = {(row[4], row[5], row[7]): row[9] for row in rows[1:]}
    assert value[("agreements", "total", "concluded")] == "1234"
    assert value[("agreements.per_month", "2025-02", "concluded")] == ""
    assert value[("survey", "total", "agreement_helped.share_yes")] == "0,5926"
    assert value[("survey", "total", "easier_to_keep_at_it.share_yes")] == ""
    assert value[("reviews.per_month", "2025-02", "overdue_rate")] == "0,5000"
    assert value[("referrals.by_actor", "jobcenter", "median_days_to_acknowledge")] == "2,5"
    assert value[("referrals.by_actor", "jobcenter", "declined")] == ""
    assert value[("closures", "no_contact", "closed")] == ""
    labels = {(row[4], row[5]): row[6] for row in rows[1:]}
    assert labels[("closures", "moved_away")] == "weggezogen"
    assert labels[("referrals.by_actor", "jobcenter")] == "Jobcenter"
    # A spreadsheet must not run a centre's name as a formula.
    assert labels[("agreements.per_centre", "mbe-boese")] == '\'=HYPERLINK("http://example.org")'
