"""The German names of an evaluation report's groups, for what people read: the CSV's label
columns (api/evaluation_csv.py) and the page „Auswertung" (api/ui/evaluation_pages.py).

The report itself carries only codes (centre and municipality ids, partner kinds, need kinds,
closure reasons, months JJJJ-MM); this module reads the directory's names of the centres and
municipalities it names, in two queries, and says the enum codes with the domain's German
labels. Names of places and codes only: a report has no person in it to name.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session

from api.evaluation import OTHER_CENTRES, EvaluationReport
from domain.case import ClosureReason
from domain.enums import ActorKind, NeedKind
from domain.labels import ACTOR_LABELS, CLOSURE_REASON_LABELS, NEED_LABELS
from domain.notifications import GERMAN_MONTHS
from store.reads.evaluation import municipalities_of
from store.reads.supervision import directory_names

OTHER_CENTRES_LABEL = "weitere Beratungsstellen (zusammengefasst)"
ALL_MUNICIPALITIES_LABEL = "alle Kommunen"


@dataclass(frozen=True)
class ReportNames:
    """Display names of a report's centres and municipalities; an id the directory does not
    know reads as the id itself (never a blank where a row names a place)."""

    centres: dict[str, str] = field(default_factory=dict)
    municipalities: dict[str, str] = field(default_factory=dict)

    def centre(self, centre_id: str) -> str:
        if centre_id == OTHER_CENTRES:
            return OTHER_CENTRES_LABEL
        return self.centres.get(centre_id) or centre_id

    def municipality(self, municipality_id: str) -> str:
        return self.municipalities.get(municipality_id) or municipality_id

    def municipality_list(self, ids: Iterable[str] | None) -> str:
        """„Musterstadt, Beispielheim", or „alle Kommunen" for None (an unrestricted
        evaluator)."""
        if ids is None:
            return ALL_MUNICIPALITIES_LABEL
        return ", ".join(self.municipality(municipality_id) for municipality_id in ids)


def report_names(
    session: Session, report: EvaluationReport, municipalities: Iterable[str] | None
) -> ReportNames:
    """The names of every centre `report` shows and of `municipalities` (the report's scope:
    None when it covers every municipality)."""
    centres = {row.centre_id for row in report.agreements.per_centre}
    centres |= {row.centre_id for row in report.survey.per_centre}
    if report.scope.centre_id is not None:
        centres.add(report.scope.centre_id)
    centres.discard(OTHER_CENTRES)
    wanted = set(municipalities or ())
    if report.scope.municipality_id is not None:
        wanted.add(report.scope.municipality_id)
    found = directory_names(session, centres=centres)
    places = dict(municipalities_of(session, sorted(wanted))) if wanted else {}
    return ReportNames(centres=found.centres, municipalities=places)


def month_label(month: str) -> str:
    """„März 2025" for the report's "2025-03"."""
    year, number = month.split("-")
    return f"{GERMAN_MONTHS[int(number) - 1]} {year}"


def short_month_label(month: str) -> str:
    """„03.2025", for a chart's axis where twelve full month names do not fit."""
    year, number = month.split("-")
    return f"{number}.{year}"


def actor_label(kind: ActorKind) -> str:
    return ACTOR_LABELS[kind]


def need_label(kind: str) -> str:
    """A need kind's German name; the report's `needs[].kind` is the enum's value."""
    try:
        return NEED_LABELS[NeedKind(kind)]
    except ValueError:
        return kind


def closure_label(reason: ClosureReason) -> str:
    return CLOSURE_REASON_LABELS[reason]
