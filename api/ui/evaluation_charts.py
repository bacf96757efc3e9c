"""The four charts of the page „Auswertung" as SVG documents, drawn on the server by pygal from
an `EvaluationReport`: agreements per month, the survey's two shares per centre, the referral
funnel per partner kind, and the share of late or overdue reviews per month.

Each chart is its own `image/svg+xml` answer, which the page shows with `<img>`
(api/ui/evaluation_pages.py). pygal styles a chart with an inline `<style>`, which the pages'
Content-Security-Policy (`style-src 'self'`) would refuse inside the page; an image is a
document of its own, answered with its own policy (`SVG_POLICY`: its inline style and nothing
else), and runs no script in any browser. pygal's configuration `<script>` is dropped all the
same, no script or stylesheet is referenced (`js=[]`, no web fonts), and nothing is loaded
from anywhere: the charts are drawn from the numbers alone.

A chart is a picture of a table the page shows under it (the accessible and printable
source); it has a German `<title>` and `<desc>`. A suppressed figure draws no bar; its label
says so („unterdrückt (< 5)").
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pygal
from pygal.style import Style

from api.evaluation import EvaluationReport
from api.evaluation_names import ReportNames, actor_label, short_month_label
from api.ui.evaluation_view import german_int, german_percent, suppressed_text

SVG_MEDIA_TYPE = "image/svg+xml"
# The chart's own document: its inline <style> only; no script, no request, no framing.
SVG_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
)

FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif'
BLUE, LIGHT_BLUE, GREEN, LIGHT_GREEN = "#0b5cad", "#6f9fd8", "#1d6b35", "#6aa97a"
RED, AMBER, GREY = "#a4161a", "#b07a10", "#5a6470"


def _style(*colors: str) -> Style:
    return Style(
        background="transparent",
        plot_background="#ffffff",
        foreground="#1b1f24",
        foreground_strong="#1b1f24",
        foreground_subtle="#5a6470",
        font_family=FONT,
        title_font_size=18,
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=13,
        value_font_size=12,
        no_data_font_size=22,
        opacity=".9",
        opacity_hover=".9",
        colors=colors,
    )


def _config(title: str, *colors: str, **options: Any) -> dict[str, Any]:
    return {
        "title": title,
        "style": _style(*colors),
        "js": [],  # pygal's default is a script from a CDN
        "width": 900,
        "height": 420,
        "no_data_text": "Keine Daten im Zeitraum",
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 3,
        "truncate_legend": -1,
        "truncate_label": -1,
        "print_values": True,
        "print_zeroes": False,
        "include_x_axis": True,
        **options,
    }


def _count_ticks(values: Sequence[int | None]) -> list[int]:
    """Whole numbers on the count axis (pygal would draw 0.5 steps for small counts)."""
    top = max([value for value in values if value is not None], default=0)
    step = max(1, -(-top // 8))
    return list(range(0, top + step + 1, step))


PERCENT_TICKS = list(range(0, 101, 20))


def _percent(value: float | None) -> str:
    return "" if value is None else german_percent(value / 100)


def _percent_tick(value: float | None) -> str:
    return "" if value is None else f"{value:.0f} %"


def _count(value: float | None) -> str:
    return "" if value is None else german_int(int(value))


@dataclass(frozen=True)
class Chart:
    """One chart of the page: its German title (also the `<img>`'s text) and its drawing."""

    title: str
    description: str
    draw: Callable[[EvaluationReport, ReportNames], Any]


def _agreements(report: EvaluationReport, names: ReportNames) -> Any:
    months = report.agreements.per_month
    hidden = suppressed_text(report.min_group)
    chart = pygal.Bar(
        **_config(
            CHARTS["vereinbarungen"].title,
            BLUE,
            x_label_rotation=-40 if len(months) > 6 else 0,
            y_labels=_count_ticks([month.concluded for month in months]),
            value_formatter=_count,
            show_legend=False,
        )
    )
    chart.x_labels = [
        short_month_label(month.month) + ("" if month.concluded is not None else f" – {hidden}")
        for month in months
    ]
    chart.add("abgeschlossene Vereinbarungen", [month.concluded for month in months])
    return chart


def _survey(report: EvaluationReport, names: ReportNames) -> Any:
    # pygal draws the first row at the bottom: reversed, the chart reads like the table.
    rows = list(reversed(report.survey.per_centre))
    hidden = suppressed_text(report.min_group)
    chart = pygal.HorizontalBar(
        **_config(
            CHARTS["umfrage"].title,
            BLUE,
            GREEN,
            height=max(260, 110 + 70 * len(rows)),
            range=(0, 100),
            y_labels=PERCENT_TICKS,
            value_formatter=_percent_tick,
            formatter=_percent,
            legend_at_bottom_columns=1,
        )
    )

    def label(centre: str, *shares: float | None) -> str:
        name = names.centre(centre)
        return f"{name} – {hidden}" if any(share is None for share in shares) else name

    chart.x_labels = [
        label(
            row.centre_id,
            row.agreement_helped.share_yes,
            row.easier_to_keep_at_it.share_yes,
        )
        for row in rows
    ]
    for key, text in (
        ("agreement_helped", "Vereinbarung hat geholfen (Anteil ja)"),
        ("easier_to_keep_at_it", "leichter, am Ball zu bleiben (Anteil ja)"),
    ):
        shares = [getattr(row, key).share_yes for row in rows]
        chart.add(text, [None if share is None else round(share * 100, 1) for share in shares])
    return chart


FUNNEL = (
    ("dispatched", "vermittelt", BLUE),
    ("acknowledged", "bestätigt", LIGHT_BLUE),
    ("completed", "abgeschlossen", GREEN),
    ("achieved", "davon „erreicht“", LIGHT_GREEN),
    ("declined", "abgelehnt", RED),
    ("expired", "abgelaufen", AMBER),
    ("withdrawn", "zurückgezogen", GREY),
)


def _referrals(report: EvaluationReport, names: ReportNames) -> Any:
    rows = report.referrals.by_actor
    values = [getattr(row, key) for row in rows for key, _, _ in FUNNEL]
    chart = pygal.Bar(
        **_config(
            CHARTS["vermittlungen"].title,
            *(color for _, _, color in FUNNEL),
            x_label_rotation=-20 if len(rows) > 3 else 0,
            y_labels=_count_ticks(values),
            value_formatter=_count,
            legend_at_bottom_columns=4,
        )
    )
    chart.x_labels = [actor_label(row.actor) for row in rows]
    for key, text, _ in FUNNEL:
        chart.add(text, [getattr(row, key) for row in rows])
    return chart


def _overdue(report: EvaluationReport, names: ReportNames) -> Any:
    months = report.reviews.per_month
    chart = pygal.Bar(
        **_config(
            CHARTS["ueberpruefungen"].title,
            RED,
            x_label_rotation=-40 if len(months) > 6 else 0,
            range=(0, 100),
            y_labels=PERCENT_TICKS,
            value_formatter=_percent_tick,
            formatter=_percent,
            show_legend=False,
        )
    )
    chart.x_labels = [short_month_label(month.month) for month in months]
    chart.add(
        "verspätet oder überfällig",
        [
            None if month.overdue_rate is None else round(month.overdue_rate * 100, 1)
            for month in months
        ],
    )
    return chart


CHARTS: dict[str, Chart] = {
    "vereinbarungen": Chart(
        "Abgeschlossene Vereinbarungen je Monat",
        "Säulendiagramm: Zahl der Vereinbarungen, die je Monat in Kraft traten.",
        _agreements,
    ),
    "umfrage": Chart(
        "Befragung: Anteil „ja“ je Beratungsstelle",
        "Balkendiagramm: je Beratungsstelle der Anteil der Klient:innen, denen die "
        "Vereinbarung half, und derer, denen es leichter fiel, am Ball zu bleiben.",
        _survey,
    ),
    "vermittlungen": Chart(
        "Vermittlungen je Art der Partnerstelle",
        "Säulendiagramm: je Art der Partnerstelle vermittelt, bestätigt, abgeschlossen, "
        "davon erreicht, abgelehnt, abgelaufen und zurückgezogen.",
        _referrals,
    ),
    "ueberpruefungen": Chart(
        "Überprüfungen: Anteil verspätet oder überfällig je Monat",
        "Säulendiagramm: je Monat des Termins der Anteil der Überprüfungen, die mehr als "
        "14 Tage nach dem Termin oder noch gar nicht erfasst sind.",
        _overdue,
    ),
}


def svg(name: str, report: EvaluationReport, names: ReportNames) -> bytes:
    """The chart `name` (a key of `CHARTS`) as a standalone SVG document."""
    chart = CHARTS[name]
    drawn = chart.draw(report, names)
    # Applied by pygal to its tree before serialising, lxml's or the standard library's alike.
    drawn.xml_filters = [lambda root: _cleaned(root, chart)]
    document = drawn.render()
    assert isinstance(document, bytes)
    return document


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _cleaned(root: Any, chart: Chart) -> Any:
    """pygal's tree without its script, comments and processing instructions, with the
    German title (pygal's `<title>`) followed by a description: what an SVG reader says."""
    for parent in list(root.iter()):
        for child in list(parent):
            # A comment's or processing instruction's tag is a function, not a name.
            if not isinstance(child.tag, str) or _local(child.tag) == "script":
                parent.remove(child)
    title = next(child for child in root if _local(child.tag) == "title")
    title.text = chart.title
    description = root.makeelement(title.tag[: -len("title")] + "desc", {})
    description.text = chart.description
    root.insert(list(root).index(title) + 1, description)
    root.set("role", "img")
    root.set("aria-label", chart.title)
    return root
