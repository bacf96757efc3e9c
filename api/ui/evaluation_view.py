"""How the page „Auswertung" says the report's figures: German numbers (`1.234`, `59,2 %`,
`2,5`), the mark of a suppressed figure („unterdrückt (< 5)"), and the German names of the
groups (api/evaluation_names.py). Display only: what is published was decided by the report
(api/evaluation.py); a figure the report left null is never guessed at here.
"""

from dataclasses import dataclass

from api.evaluation import EvaluationReport, Question
from api.evaluation_names import (
    ReportNames,
    actor_label,
    closure_label,
    month_label,
    need_label,
)
from api.ui import formats
from domain.case import ClosureReason
from domain.enums import ActorKind

NOTHING = "—"  # a share or median of nothing: not suppressed, there is no figure


def german_int(value: int) -> str:
    """1234 → „1.234" (api/ui/formats.py, Babel)."""
    return formats.number(value)


def german_percent(share: float) -> str:
    """0.592 → „59,2 %", 1.0 → „100 %" (the report's shares have four places; one is shown)."""
    return formats.percent(share, 1)


def german_days(days: float) -> str:
    """2.5 → „2,5", 3.0 → „3"."""
    return formats.number(days, 1)


def suppressed_text(min_group: int) -> str:
    return f"unterdrückt (< {min_group})"


@dataclass(frozen=True)
class Cell:
    """One figure as the page shows it; `suppressed` marks it (class and text)."""

    text: str
    suppressed: bool = False


@dataclass(frozen=True)
class EvaluationView:
    """The report and the words for it, as the template reads them."""

    report: EvaluationReport
    names: ReportNames

    @property
    def hidden(self) -> str:
        return suppressed_text(self.report.min_group)

    def count(self, value: int | None) -> Cell:
        return Cell(self.hidden, True) if value is None else Cell(german_int(value))

    def share(self, value: float | None, base: int | None) -> Cell:
        """A share of `base`: „—" when the base is zero, marked when it was not published."""
        if value is not None:
            return Cell(german_percent(value))
        return Cell(NOTHING) if base == 0 else Cell(self.hidden, True)

    def days(self, value: float | None, base: int | None) -> Cell:
        if value is not None:
            return Cell(german_days(value))
        return Cell(NOTHING) if base == 0 else Cell(self.hidden, True)

    def share_yes(self, question: Question) -> Cell:
        answers = (
            None if question.yes is None or question.no is None else question.yes + question.no
        )
        return self.share(question.share_yes, answers)

    def centre(self, centre_id: str) -> str:
        return self.names.centre(centre_id)

    def month(self, month: str) -> str:
        return month_label(month)

    def actor(self, kind: ActorKind) -> str:
        return actor_label(kind)

    def need(self, kind: str) -> str:
        return need_label(kind)

    def closure(self, reason: ClosureReason) -> str:
        return closure_label(reason)
