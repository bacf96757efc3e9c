"""What `lotse simulate` leaves under `--out DIR`: the evaluation report (api/evaluation.py) of
the simulated model project as JSON, as the API's CSV and as a self-contained HTML report.

`evaluation.json` is the report exactly as `GET /reports/evaluation` answers it (the model's
keys and order, its aliases: `period.from`) and nothing else: no timestamp, duration or path of
the run, so the same seed gives the same bytes and two runs can be compared with `cmp` or
`diff`. `evaluation.csv` is the API's file (api/evaluation_csv.py), byte for byte.
`evaluation.html` (simulate/report_html.py) may say how the run went (the summary); it is for
reading, not for comparing. This module computes and suppresses nothing: the report did.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from api.evaluation import EvaluationReport, ReportRequest
from api.evaluation_csv import render as render_csv
from api.evaluation_names import ReportNames
from simulate.report_html import render_report

JSON_NAME = "evaluation.json"
CSV_NAME = "evaluation.csv"
HTML_NAME = "evaluation.html"


@dataclass(frozen=True)
class Written:
    """The three files written, in `--out DIR`."""

    json: Path
    csv: Path
    html: Path


def evaluation_json(report: EvaluationReport) -> bytes:
    """The report as UTF-8 JSON, byte-stable: the same report gives the same bytes.

    The model's key order is kept (it is the OpenAPI schema's order, and every list and the
    closures' mapping come in a fixed order from api/evaluation.py), so no key sorting is
    needed; umlauts stay readable (`ensure_ascii=False`)."""
    data = report.model_dump(mode="json", by_alias=True)
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_outputs(
    out: Path,
    report: EvaluationReport,
    request: ReportRequest,
    names: ReportNames,
    summary: Mapping[str, object],
) -> Written:
    """Write evaluation.json, evaluation.csv and evaluation.html into `out` (made if missing;
    files of an earlier run are replaced)."""
    out.mkdir(parents=True, exist_ok=True)
    written = Written(json=out / JSON_NAME, csv=out / CSV_NAME, html=out / HTML_NAME)
    _replace(written.json, evaluation_json(report))
    # newline="" in spirit: the CSV's CRLF line ends are part of its text, written as bytes.
    _replace(written.csv, render_csv(report, request, names).encode("utf-8"))
    _replace(written.html, render_report(report, request, names, summary).encode("utf-8"))
    return written


def _replace(path: Path, content: bytes) -> None:
    """Write beside the target and rename: an interrupted run leaves the old file or the new
    one, never half of one."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    partial.replace(path)
