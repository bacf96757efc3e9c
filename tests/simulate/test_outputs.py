"""What `lotse simulate` writes under `--out DIR` (simulate/outputs.py): the evaluation report
as JSON that is the same bytes for the same seed, the API's CSV byte for byte, and the HTML
report, on a report counted from real read-model rows (bench/evaluation.py's generated cases,
a seeded store, api.evaluation.report with the default minimum group of 5)."""

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from api.evaluation import EvaluationReport, ReportRequest, report
from api.evaluation_csv import BOM, render
from api.evaluation_names import ReportNames, report_names
from bench.evaluation import Directory, load
from simulate.outputs import Written, evaluation_json, write_outputs
from store.testing import sqlite_store

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
REQUEST = ReportRequest(
    municipalities=None,
    municipality_id=None,
    centre_id=None,
    start=date(2025, 6, 1),
    end=date(2026, 11, 30),
)
SUMMARY: dict[str, object] = {"seed": 7, "scale": 0.1, "engine": "core", "agreements_opened": 412}
TOP_LEVEL = [
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
]


def _counted(data_dir: Path, seed: int) -> tuple[EvaluationReport, ReportNames]:
    """The report of 300 generated cases in a fresh store, and its names."""
    directory = Directory.build()
    with sqlite_store(data_dir) as engine:
        load({"sqlite": engine}, directory, 300, seed=seed, now=NOW)
        with Session(engine) as session:
            found = report(session, REQUEST, min_group=5)
            everywhere = [municipality for municipality, _share in directory.municipalities]
            return found, report_names(session, found, everywhere)


@pytest.fixture(scope="module")
def counted(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EvaluationReport, ReportNames]]:
    yield _counted(tmp_path_factory.mktemp("store"), seed=3)


def test_the_same_report_gives_the_same_bytes_of_valid_json(
    counted: tuple[EvaluationReport, ReportNames],
) -> None:
    found, _names = counted
    first = evaluation_json(found)
    assert first == evaluation_json(found)
    assert first == evaluation_json(EvaluationReport.model_validate_json(first))
    assert first.endswith(b"}\n")
    data = json.loads(first.decode("utf-8"))
    # The API's answer, key for key and in the schema's order (`period.from`, not `from_`).
    assert list(data) == TOP_LEVEL
    assert data == json.loads(found.model_dump_json(by_alias=True))
    assert data["period"] == {"from": "2025-06-01", "to": "2026-11-30"}
    assert EvaluationReport.model_validate(data) == found


def test_a_store_from_the_same_seed_gives_byte_identical_json(
    counted: tuple[EvaluationReport, ReportNames], tmp_path: Path
) -> None:
    found, _names = counted
    again, _ = _counted(tmp_path / "again", seed=3)
    other, _ = _counted(tmp_path / "other", seed=4)
    assert evaluation_json(again) == evaluation_json(found)
    assert evaluation_json(other) != evaluation_json(found)


def test_the_json_is_readable_german_utf8_with_suppressed_figures_as_null(
    counted: tuple[EvaluationReport, ReportNames],
) -> None:
    found, _names = counted
    text = evaluation_json(found).decode("utf-8")
    months = json.loads(text)["agreements"]["per_month"]
    assert None in [month["concluded"] for month in months], "expected a suppressed month"
    assert '"concluded": null' in text
    assert "\\u" not in text  # umlauts and the like stay readable, none escaped


def test_write_outputs_writes_the_json_the_api_csv_and_the_html(
    counted: tuple[EvaluationReport, ReportNames], tmp_path: Path
) -> None:
    found, names = counted
    out = tmp_path / "run" / "ergebnis"  # made when missing
    written = write_outputs(out, found, REQUEST, names, SUMMARY)

    assert written == Written(
        json=out / "evaluation.json", csv=out / "evaluation.csv", html=out / "evaluation.html"
    )
    assert sorted(path.name for path in out.iterdir()) == [
        "evaluation.csv",
        "evaluation.html",
        "evaluation.json",
    ]
    assert written.json.read_bytes() == evaluation_json(found)
    # Exactly the API's file: byte order mark, `;`, CRLF, nothing re-encoded on the way.
    csv_bytes = written.csv.read_bytes()
    assert csv_bytes == render(found, REQUEST, names).encode("utf-8")
    assert csv_bytes.startswith(BOM.encode("utf-8") + b"period_from;period_to;")
    assert b"\r\n" in csv_bytes and b"\r\r\n" not in csv_bytes
    html = written.html.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert '<html lang="de">' in html
    assert "Modellprojekt Integrationsvereinbarungen — Simulation" in html
    # The run is in the HTML, never in the JSON.
    assert "<dt>Vereinbarungen begonnen</dt><dd>412</dd>" in html
    assert str(tmp_path) not in written.json.read_text(encoding="utf-8")


def test_write_outputs_replaces_an_earlier_run_and_leaves_no_partial_file(
    counted: tuple[EvaluationReport, ReportNames], tmp_path: Path
) -> None:
    found, names = counted
    for name in ("evaluation.json", "evaluation.csv", "evaluation.html"):
        (tmp_path / name).write_text("von einem früheren Lauf", encoding="utf-8")
    written = write_outputs(tmp_path, found, REQUEST, names, {})
    assert written.json.read_bytes() == evaluation_json(found)
    assert "früheren Lauf" not in written.html.read_text(encoding="utf-8")
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "evaluation.csv",
        "evaluation.html",
        "evaluation.json",
    ]
