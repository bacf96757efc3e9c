"""The simulation's evaluation report as one self-contained HTML file (`evaluation.html` under
`lotse simulate --out DIR`): the page „Auswertung"'s four charts, each followed by its table,
then the other tables, headed as a simulation with assumed behaviour.

Self-contained means it is read from a disk, mailed or archived and still complete: the style
is in the head, each chart is pygal's SVG (api/ui/evaluation_charts.py, the page's own
drawing) embedded as a `data:` image, and nothing refers to any other file or origin: no
script, no font, no link. An `<img>` keeps each chart's inline `<style>` inside its own
document, as on the page, so pygal's CSS and the report's cannot meet.

The figures are said as the page says them (api/ui/evaluation_view.py: German numbers, the
mark of a suppressed figure; api/evaluation_names.py: months, places, kinds); this module adds
only the frame of a simulation run. It decides nothing about what is published: the report did.
"""

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from api.evaluation import EvaluationReport, ReportRequest
from api.evaluation_csv import scope_label
from api.evaluation_names import ReportNames
from api.ui import evaluation_charts
from api.ui.evaluation_view import EvaluationView, german_int
from api.ui.web import german_date

TEMPLATES = Path(__file__).with_name("templates")
TITLE = "Modellprojekt Integrationsvereinbarungen — Simulation"
# The page's order: each chart sits in the section of its figures.
CHART_ORDER = ("vereinbarungen", "umfrage", "ueberpruefungen", "vermittlungen")
# The run's summary as the driver prints it; a key not named here is shown by its code.
SUMMARY_LABELS = {
    "engine": "Engine",
    "seed": "Startwert (Seed)",
    "scale": "Maßstab",
    "opened": "Vereinbarungen begonnen",
    "concluded": "Vereinbarungen abgeschlossen",
    "agreements_opened": "Vereinbarungen begonnen",
    "agreements_concluded": "Vereinbarungen abgeschlossen",
    "target_agreements": "Ziel: abgeschlossene Vereinbarungen",
    "simulated_from": "Simuliert ab",
    "simulated_to": "Simuliert bis",
    "start": "Simuliert ab",
    "end": "Simuliert bis",
    "days": "Simulierte Tage",
    "simulated_days": "Simulierte Tage",
    "municipalities": "Kommunen",
    "centres": "Beratungsstellen",
    "interrupted": "Abgebrochen",
}


@dataclass(frozen=True)
class EmbeddedChart:
    """One chart as the report shows it: the page's title and description, and its SVG as a
    `data:` URL."""

    name: str
    title: str
    description: str
    src: str


def embedded_chart(name: str, report: EvaluationReport, names: ReportNames) -> EmbeddedChart:
    """The chart `name` (a key of api.ui.evaluation_charts.CHARTS), drawn as on the page."""
    drawn = evaluation_charts.CHARTS[name]
    document = evaluation_charts.svg(name, report, names)
    encoded = base64.b64encode(document).decode("ascii")
    return EmbeddedChart(
        name=name,
        title=drawn.title,
        description=drawn.description,
        src=f"data:{evaluation_charts.SVG_MEDIA_TYPE};base64,{encoded}",
    )


def summary_value(value: object) -> str:
    """A value of the run's summary in German: `1.234`, `0,25`, `ja`, `01.04.2011`."""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, int):
        return german_int(value)
    if isinstance(value, float):
        return str(value).replace(".", ",")
    if isinstance(value, date):
        return german_date(value)
    if isinstance(value, str):
        try:
            return german_date(date.fromisoformat(value))
        except ValueError:
            return value
    # Nested parts of the summary (per-engine timings and the like) as compact JSON.
    return json.dumps(value, ensure_ascii=False, default=str)


def summary_rows(summary: Mapping[str, object]) -> list[tuple[str, str]]:
    """The summary as (German label, German value) lines, in the driver's order."""
    return [(SUMMARY_LABELS.get(key, key), summary_value(value)) for key, value in summary.items()]


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        # A misspelt variable is an error in the tests, not an empty spot in the report.
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["date"] = german_date
    return environment


_ENVIRONMENT = _environment()


def render_report(
    report: EvaluationReport,
    request: ReportRequest,
    names: ReportNames,
    summary: Mapping[str, object],
) -> str:
    """The whole HTML document."""
    charts = {name: embedded_chart(name, report, names) for name in CHART_ORDER}
    municipalities = sorted(names.municipalities.values(), key=str.casefold)
    return _ENVIRONMENT.get_template("report.html").render(
        title=TITLE,
        view=EvaluationView(report, names),
        charts=charts,
        scope=scope_label(report, request, names),
        municipalities=municipalities,
        summary=summary_rows(summary),
        interrupted=bool(summary.get("interrupted", False)),
    )
