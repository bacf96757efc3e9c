"""The evaluation report as a CSV file for German spreadsheets: `GET /reports/evaluation.csv`
and the page's download (`/auswertung.csv`). Renders an `EvaluationReport`; counts nothing
itself and decides nothing about what may be published (api/evaluation.py did).

The format (docs/architecture.md, "The evaluation page and CSV"):
- UTF-8 with a byte order mark, `;` between fields, CRLF line ends: German Excel and
  LibreOffice open it by a double click with umlauts intact and each field in its column.
- One header line, always the same ten columns (`COLUMNS`), then one line per group and
  figure: `section`, `group` and `figure` are the stable codes of the JSON report's keys
  (`agreements.per_month`, `2025-03`, `concluded`), `group_label` and `figure_label` say them
  in German. Every line repeats the period and the scope, so a file stands alone; the first
  line of figures is the smallest published group (`report`, `scope`, `min_group`).
- `value`: a count as plain digits (no thousands separator), a share with a decimal comma and
  four places (`0,5925`), a median of days with one (`2,5`). Empty: not published (a figure
  resting on fewer than `min_group` clients, or a share or median of nothing).
- A text cell that a spreadsheet would take for a formula (a directory name beginning with
  `=`, `+`, `-`, `@`) is prefixed with `'`.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from fastapi import Response

from api.evaluation import EvaluationReport, Question, ReportRequest
from api.evaluation_names import (
    ReportNames,
    actor_label,
    closure_label,
    month_label,
    need_label,
)

COLUMNS = (
    "period_from",
    "period_to",
    "municipality",
    "centre",
    "section",
    "group",
    "group_label",
    "figure",
    "figure_label",
    "value",
)
MEDIA_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"
ALL_MUNICIPALITIES = "all"
TOTAL = "total"
# A spreadsheet evaluates a cell beginning with one of these (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Kind(Enum):
    """How a value is written: a count, a share (0–1) or a number of days."""

    COUNT = "count"
    SHARE = "share"
    DAYS = "days"


@dataclass(frozen=True)
class Figure:
    """One line of the file, before the period and scope columns."""

    section: str
    group: str
    group_label: str
    figure: str
    figure_label: str
    value: int | float | None
    kind: Kind = Kind.COUNT


def german_number(value: int | float | None, kind: Kind) -> str:
    """The value as German spreadsheets read it; empty when not published."""
    if value is None:
        return ""
    if kind is Kind.SHARE:
        return f"{value:.4f}".replace(".", ",")
    if kind is Kind.DAYS:
        return f"{value:.1f}".replace(".", ",")
    return str(int(value))


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _question(
    section: str, group: str, label: str, code: str, words: str, found: Question
) -> Iterator[Figure]:
    yield Figure(section, group, label, f"{code}.yes", f"{words}: ja", found.yes)
    yield Figure(section, group, label, f"{code}.no", f"{words}: nein", found.no)
    yield Figure(
        section, group, label, f"{code}.unanswered", f"{words}: keine Antwort", found.unanswered
    )
    yield Figure(
        section,
        group,
        label,
        f"{code}.share_yes",
        f"{words}: Anteil ja",
        found.share_yes,
        Kind.SHARE,
    )


HELPED = ("agreement_helped", "Vereinbarung hat geholfen")
EASIER = ("easier_to_keep_at_it", "leichter, am Ball zu bleiben")


def _agreements(report: EvaluationReport, names: ReportNames) -> Iterator[Figure]:
    found = report.agreements
    concluded = "abgeschlossene Vereinbarungen"
    yield Figure("agreements", TOTAL, "gesamt", "concluded", concluded, found.concluded)
    for month in found.per_month:
        label = month_label(month.month)
        yield Figure(
            "agreements.per_month", month.month, label, "concluded", concluded, month.concluded
        )
    for row in found.per_centre:
        label = names.centre(row.centre_id)
        yield Figure(
            "agreements.per_centre", row.centre_id, label, "concluded", concluded, row.concluded
        )


def _survey(report: EvaluationReport, names: ReportNames) -> Iterator[Figure]:
    found = report.survey
    answered = "Klient:innen mit Antwort"
    yield Figure("survey", TOTAL, "gesamt", "clients_answered", answered, found.clients_answered)
    for (code, words), question in zip(
        (HELPED, EASIER), (found.agreement_helped, found.easier_to_keep_at_it), strict=True
    ):
        yield from _question("survey", TOTAL, "gesamt", code, words, question)
    for row in found.per_centre:
        label = names.centre(row.centre_id)
        section = "survey.per_centre"
        yield Figure(section, row.centre_id, label, "clients", "Klient:innen", row.clients)
        for (code, words), question in zip(
            (HELPED, EASIER), (row.agreement_helped, row.easier_to_keep_at_it), strict=True
        ):
            yield from _question(section, row.centre_id, label, code, words, question)


REVIEW_FIGURES = (
    ("due", "fällige Überprüfungen"),
    ("on_time", "rechtzeitig erfasst (bis 14 Tage)"),
    ("late", "verspätet erfasst"),
    ("overdue_now", "derzeit überfällig"),
)
OVERDUE_RATE = "Anteil verspätet oder überfällig"


def _reviews(report: EvaluationReport) -> Iterator[Figure]:
    found = report.reviews
    for code, words in REVIEW_FIGURES:
        yield Figure("reviews", TOTAL, "gesamt", code, words, getattr(found, code))
    yield Figure(
        "reviews", TOTAL, "gesamt", "overdue_rate", OVERDUE_RATE, found.overdue_rate, Kind.SHARE
    )
    for month in found.per_month:
        label = month_label(month.month)
        for code, words in REVIEW_FIGURES:
            if code == "on_time":
                continue  # the JSON report has no monthly on-time count either
            value = getattr(month, code)
            yield Figure("reviews.per_month", month.month, label, code, words, value)
        yield Figure(
            "reviews.per_month",
            month.month,
            label,
            "overdue_rate",
            OVERDUE_RATE,
            month.overdue_rate,
            Kind.SHARE,
        )


GOAL_FIGURES = (
    ("achieved", "erreicht"),
    ("in_progress", "in Arbeit"),
    ("open", "offen"),
    ("dropped", "aufgegeben"),
)


def _goals(report: EvaluationReport) -> Iterator[Figure]:
    for code, words in GOAL_FIGURES:
        label = f"Ziele: {words}"
        yield Figure("goals", TOTAL, "gesamt", code, label, getattr(report.goals, code))


def _closures(report: EvaluationReport) -> Iterator[Figure]:
    for reason, count in report.closures.items():
        label = closure_label(reason)
        yield Figure("closures", reason.value, label, "closed", "abgeschlossene Fälle", count)


REFERRAL_FIGURES = (
    ("dispatched", "vermittelt"),
    ("acknowledged", "bestätigt"),
    ("completed", "abgeschlossen"),
    ("achieved", "abgeschlossen mit Ergebnis „erreicht“"),
    ("declined", "abgelehnt"),
    ("expired", "unbeantwortet abgelaufen"),
    ("withdrawn", "zurückgezogen"),
)
INBOUND_FIGURES = (("accepted", "angenommen"), ("declined", "abgelehnt"), ("open", "offen"))


def _referrals(report: EvaluationReport) -> Iterator[Figure]:
    found = report.referrals
    for row in found.by_actor:
        label = actor_label(row.actor)
        for code, words in REFERRAL_FIGURES:
            value = getattr(row, code)
            yield Figure("referrals.by_actor", row.actor.value, label, code, words, value)
        yield Figure(
            "referrals.by_actor",
            row.actor.value,
            label,
            "median_days_to_acknowledge",
            "Median der Tage bis zur Bestätigung",
            row.median_days_to_acknowledge,
            Kind.DAYS,
        )
    for inbound in found.inbound:
        label = actor_label(inbound.from_actor)
        for code, words in INBOUND_FIGURES:
            value = getattr(inbound, code)
            yield Figure("referrals.inbound", inbound.from_actor.value, label, code, words, value)
    yield Figure(
        "referrals",
        TOTAL,
        "gesamt",
        "partners_active",
        "im Netzwerk aktive Partnerstellen",
        found.partners_active,
    )


def _needs_and_rules(report: EvaluationReport) -> Iterator[Figure]:
    for need in report.needs:
        yield Figure(
            "needs", need.kind, need_label(need.kind), "count", "erfasste Bedarfe", need.count
        )
    for rule in report.rules:
        yield Figure("rules", rule.rule, rule.rule, "count", "Bedarfe geroutet", rule.count)


def figures(report: EvaluationReport, names: ReportNames, scope_label: str) -> list[Figure]:
    """Every line of the file, in the order of the JSON report."""
    return [
        Figure(
            "report",
            "scope",
            scope_label,
            "min_group",
            "kleinste veröffentlichte Gruppe (Klient:innen)",
            report.min_group,
        ),
        *_agreements(report, names),
        *_survey(report, names),
        *_reviews(report),
        *_goals(report),
        *_closures(report),
        *_referrals(report),
        *_needs_and_rules(report),
    ]


def scope_label(report: EvaluationReport, request: ReportRequest, names: ReportNames) -> str:
    """„MBE Musterstadt-Mitte (Musterstadt)", „Musterstadt" or „alle Kommunen"."""
    places = names.municipality_list(request.municipalities)
    if report.scope.centre_id is not None:
        return f"{names.centre(report.scope.centre_id)} ({places})"
    return places


def render(report: EvaluationReport, request: ReportRequest, names: ReportNames) -> str:
    """The whole file as text, the byte order mark first."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    municipality = (
        ",".join(request.municipalities)
        if request.municipalities is not None
        else ALL_MUNICIPALITIES
    )
    scope = (
        report.period.from_.isoformat(),
        report.period.to.isoformat(),
        municipality,
        report.scope.centre_id or "",
    )
    for line in figures(report, names, scope_label(report, request, names)):
        writer.writerow(
            (
                *(_text(cell) for cell in scope),
                line.section,
                _text(line.group),
                _text(line.group_label),
                line.figure,
                line.figure_label,
                german_number(line.value, line.kind),
            )
        )
    return out.getvalue()


def filename(report: EvaluationReport) -> str:
    """auswertung-<from>-<to>.csv (ISO dates: they sort, and need no quoting)."""
    return f"auswertung-{report.period.from_.isoformat()}-{report.period.to.isoformat()}.csv"


def csv_response(report: EvaluationReport, request: ReportRequest, names: ReportNames) -> Response:
    """The file as a download."""
    return Response(
        content=render(report, request, names).encode("utf-8"),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename(report)}"'},
    )
