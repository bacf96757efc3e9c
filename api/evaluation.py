"""The evaluation report: the model project's figures for a period and a scope, with no
client singled out. Both front doors use it: `GET /reports/evaluation` (JSON), its CSV
(api/evaluation_csv.py) and the page „Auswertung" (api/ui/evaluation_pages.py).

The counts come from `store.reads.evaluation`; this module applies the disclosure rules of
domain/disclosure.py (`LOTSE_REPORT_MIN_GROUP`) and shapes the answer. Every key is described
in the OpenAPI schema. The report holds no case id, no name and no date of birth: centre,
municipality, partner-kind, need-kind and rule ids, months, counts and shares.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from domain import disclosure
from domain.case import ClosureReason
from domain.enums import ActorKind
from domain.months import add_months, start_of_german_day
from store.reads import evaluation as reads
from store.reads.evaluation import ReportScope, SurveyCounts
from store.reads.evaluation_cells import evaluation_counts

OTHER_CENTRES = "other"  # the row small centres are folded into


class Period(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", description="Erster Tag des Zeitraums (einschließlich).")
    to: date = Field(description="Letzter Tag des Zeitraums (einschließlich).")


class Scope(BaseModel):
    municipality_id: str | None = Field(
        description="Die Kommune; null: alle Kommunen, die der Aufruf sehen darf."
    )
    centre_id: str | None = Field(description="Die Beratungsstelle; null: alle der Kommune(n).")


class MonthCount(BaseModel):
    month: str = Field(description="Kalendermonat (deutsche Zeit), JJJJ-MM.")
    concluded: int | None = Field(description="Abgeschlossene Vereinbarungen; null: unterdrückt.")


class CentreCount(BaseModel):
    centre_id: str = Field(
        description='Beratungsstelle; "other": alle Stellen mit zu wenigen Fällen zusammen.'
    )
    concluded: int | None = Field(description="Abgeschlossene Vereinbarungen; null: unterdrückt.")


class Agreements(BaseModel):
    concluded: int | None = Field(
        description="Vereinbarungen, die im Zeitraum in Kraft traten (Version 1 von beiden "
        "Seiten unterschrieben); null: unterdrückt."
    )
    per_month: list[MonthCount] = Field(description="Je Kalendermonat des Zeitraums.")
    per_centre: list[CentreCount] = Field(
        description="Je Beratungsstelle (die den Fall bei Abschluss führte); kleine Stellen "
        'zusammengefasst als "other".'
    )


class Question(BaseModel):
    yes: int | None = Field(description="Ja-Antworten (Klientinnen); null: unterdrückt.")
    no: int | None = Field(description="Nein-Antworten (Klientinnen); null: unterdrückt.")
    unanswered: int | None = Field(description="Nicht beantwortet; null: unterdrückt.")
    share_yes: float | None = Field(
        description="Anteil Ja unter den Antworten (0–1); null: zu wenige oder unterdrückt."
    )
    suppressed: bool = Field(description="true: mindestens eine Zahl ist unterdrückt.")


class CentreSurvey(BaseModel):
    centre_id: str = Field(description='Beratungsstelle; "other": kleine Stellen zusammen.')
    clients: int | None = Field(description="Gezählte Klientinnen; null: unterdrückt.")
    agreement_helped: Question
    easier_to_keep_at_it: Question


class Survey(BaseModel):
    clients_answered: int | None = Field(
        description="Klientinnen mit einer Überprüfung im Zeitraum, die bei ihrer letzten "
        "mindestens eine der beiden Fragen beantworteten (jede einmal gezählt)."
    )
    agreement_helped: Question = Field(
        description='"Hat die Vereinbarung geholfen?": die Antwort bei der letzten Überprüfung '
        "jeder Klientin im Zeitraum."
    )
    easier_to_keep_at_it: Question = Field(
        description='"Fiel es leichter, am Ball zu bleiben?": ebenso, je Klientin einmal.'
    )
    per_centre: list[CentreSurvey] = Field(
        description="Beide Fragen je Beratungsstelle der letzten Überprüfung."
    )


class ReviewMonth(BaseModel):
    month: str = Field(description="Monat des Überprüfungstermins, JJJJ-MM.")
    due: int | None
    late: int | None
    overdue_now: int | None
    overdue_rate: float | None


class Reviews(BaseModel):
    due: int | None = Field(
        description="Überprüfungen mit Termin im Zeitraum, der schon erreicht ist."
    )
    on_time: int | None = Field(description="Höchstens 14 Tage nach dem Termin erfasst.")
    late: int | None = Field(description="Mehr als 14 Tage nach dem Termin erfasst.")
    overdue_now: int | None = Field(
        description="Noch nicht erfasst und heute mehr als 14 Tage über dem Termin."
    )
    overdue_rate: float | None = Field(
        description="(late + overdue_now) / due; null bei zu wenigen Überprüfungen."
    )
    per_month: list[ReviewMonth] = Field(description="Je Monat des Termins.")


class Goals(BaseModel):
    achieved: int | None = Field(description="Ziele erreicht, bei ihrer letzten Überprüfung.")
    in_progress: int | None = Field(description="Ziele in Arbeit.")
    open: int | None = Field(description="Ziele offen.")
    dropped: int | None = Field(description="Ziele aufgegeben.")


class ActorReferrals(BaseModel):
    actor: ActorKind = Field(description="Art der Partnerstelle.")
    dispatched: int | None = Field(description="Im Zeitraum vermittelt.")
    acknowledged: int | None = Field(description="Davon von der Partnerstelle bestätigt.")
    declined: int | None = Field(description="Abgelehnt.")
    expired: int | None = Field(description="Unbeantwortet abgelaufen.")
    withdrawn: int | None = Field(description="Zurückgezogen.")
    completed: int | None = Field(description="Abgeschlossen.")
    achieved: int | None = Field(description="Abgeschlossen mit dem Ergebnis „erreicht“.")
    median_days_to_acknowledge: float | None = Field(
        description="Median der Tage bis zur Bestätigung (auf Stunden genau)."
    )


class InboundReferrals(BaseModel):
    from_actor: ActorKind = Field(
        description="Art der Partnerstelle, die an eine Stelle vermittelte."
    )
    accepted: int | None
    declined: int | None
    open: int | None


class Referrals(BaseModel):
    by_actor: list[ActorReferrals] = Field(
        description="Vermittlungen an Partnerstellen je Art, nach dem Tag der Vermittlung."
    )
    inbound: list[InboundReferrals] = Field(
        description="Vermittlungen von Partnerstellen an Beratungsstellen, nach Eingang."
    )
    partners_active: int = Field(
        description="Partnerstellen, die im Zeitraum im Netzwerk handelten (bestätigten, "
        "ablehnten, abschlossen, Notizen schrieben oder selbst vermittelten)."
    )


class NeedCount(BaseModel):
    kind: str = Field(description="Art des Bedarfs.")
    count: int | None


class RuleCount(BaseModel):
    rule: str = Field(description="Id der Routing-Regel.")
    count: int | None = Field(description="Wie oft sie einen Bedarf routete.")


class EvaluationReport(BaseModel):
    """The evaluation of the model project's figures for a period and scope."""

    model_config = ConfigDict(populate_by_name=True)

    period: Period
    scope: Scope
    min_group: int = Field(
        description="Kleinste veröffentlichte Gruppe (LOTSE_REPORT_MIN_GROUP): Zahlen, die auf "
        "weniger Klientinnen beruhen, sind null."
    )
    agreements: Agreements
    survey: Survey
    reviews: Reviews
    goals: Goals
    closures: dict[ClosureReason, int | None] = Field(
        description="Abgeschlossene Fälle je Grund; null: unterdrückt."
    )
    referrals: Referrals
    needs: list[NeedCount] = Field(description="Erfasste Bedarfe je Art.")
    rules: list[RuleCount] = Field(description="Treffer je Routing-Regel.")


@dataclass(frozen=True)
class ReportRequest:
    """What to count: the municipalities (None: every one), a centre, and German days."""

    municipalities: tuple[str, ...] | None
    municipality_id: str | None
    centre_id: str | None
    start: date
    end: date  # inclusive


def month_starts(start: date, end: date) -> list[date]:
    """The first day of each month the period touches, the first being `start` itself."""
    firsts = [start]
    month = date(start.year, start.month, 1)
    while True:
        month = add_months(month, 1)
        if month > end:
            return firsts
        firsts.append(month)


def report(
    session: Session, request: ReportRequest, min_group: int, now: datetime | None = None
) -> EvaluationReport:
    """The report for `request`, every figure under the disclosure rules. `now` (default: the
    clock) decides which reviews are due by now; a simulation passes its own end."""
    scope = scope_of(request, now or datetime.now(UTC))
    return report_of_counts(evaluation_counts(session, scope), request, min_group)


def scope_of(request: ReportRequest, now: datetime) -> ReportScope:
    """The store's scope for `request`: its German days as UTC instants, and its months."""
    return ReportScope(
        municipalities=request.municipalities,
        centre_id=request.centre_id,
        start=start_of_german_day(request.start),
        end=start_of_german_day(date.fromordinal(request.end.toordinal() + 1)),
        month_starts=tuple(
            start_of_german_day(day) for day in month_starts(request.start, request.end)
        ),
        now=now,
    )


def report_of_counts(
    counts: reads.EvaluationCounts, request: ReportRequest, min_group: int
) -> EvaluationReport:
    """The report of counts already made for `request` (the bench's floor makes its own)."""
    days = month_starts(request.start, request.end)
    months = [f"{day.year:04d}-{day.month:02d}" for day in days]
    return EvaluationReport(
        period=Period(from_=request.start, to=request.end),
        scope=Scope(municipality_id=request.municipality_id, centre_id=request.centre_id),
        min_group=min_group,
        agreements=_agreements(counts, months, min_group),
        survey=_survey(counts, min_group),
        reviews=_reviews(counts, months, min_group),
        goals=_goals(counts, min_group),
        closures=disclosure.partition(counts.closures, min_group),
        referrals=_referrals(counts, min_group),
        needs=[
            NeedCount(kind=kind.value, count=number)
            for kind, number in sorted(
                ((k, disclosure.cell(n, min_group)) for k, n in counts.needs.items()),
                key=lambda kv: kv[0],
            )
        ],
        rules=[
            RuleCount(rule=rule, count=disclosure.cell(number, min_group))
            for rule, number in sorted(counts.rules.items())
        ],
    )


def _agreements(counts: reads.EvaluationCounts, months: list[str], min_group: int) -> Agreements:
    per_month = disclosure.partition(dict(enumerate(counts.concluded_per_month)), min_group)
    folded = disclosure.fold(counts.concluded_per_centre, min_group)
    per_centre = [
        CentreCount(centre_id=centre, concluded=number)
        for centre, number in sorted(folded.rows.items())
    ]
    if folded.other != 0:
        per_centre.append(CentreCount(centre_id=OTHER_CENTRES, concluded=folded.other))
    return Agreements(
        concluded=disclosure.cell(counts.concluded, min_group),
        per_month=[
            MonthCount(month=month, concluded=per_month[index])
            for index, month in enumerate(months)
        ],
        per_centre=per_centre,
    )


def _question(answers: dict[bool | None, int], min_group: int) -> Question:
    cells = _cells(answers)
    return _shown(disclosure.question(cells["yes"], cells["no"], cells["unanswered"], min_group))


def _cells(answers: dict[bool | None, int]) -> dict[str, int]:
    return {
        "yes": answers.get(True, 0),
        "no": answers.get(False, 0),
        "unanswered": answers.get(None, 0),
    }


def _shown(found: disclosure.Question) -> Question:
    return Question(
        yes=found.yes,
        no=found.no,
        unanswered=found.unanswered,
        share_yes=found.share_yes,
        suppressed=found.suppressed,
    )


def _survey(counts: reads.EvaluationCounts, min_group: int) -> Survey:
    """Both questions overall and per centre. The centres' rows add up to the overall row, so
    each question's cells are suppressed as one table (domain.disclosure.table), small centres
    folded into "other" first."""
    centres = counts.survey_per_centre
    folded = disclosure.fold(
        {centre: sum(survey.helped.values()) for centre, survey in centres.items()}, min_group
    )
    rows: dict[str, SurveyCounts] = {centre: centres[centre] for centre in sorted(folded.rows)}
    if folded.other != 0:
        rest = SurveyCounts()
        for centre, survey in centres.items():
            if centre not in folded.rows:
                rest.helped.update(survey.helped)
                rest.easier.update(survey.easier)
        rows[OTHER_CENTRES] = rest
    helped = disclosure.table(
        {centre: _cells(survey.helped) for centre, survey in rows.items()}, min_group
    )
    easier = disclosure.table(
        {centre: _cells(survey.easier) for centre, survey in rows.items()}, min_group
    )
    per_centre = [
        CentreSurvey(
            centre_id=centre,
            clients=folded.other if centre == OTHER_CENTRES else folded.rows[centre],
            agreement_helped=_shown(disclosure.shown_question(helped[centre], min_group)),
            easier_to_keep_at_it=_shown(disclosure.shown_question(easier[centre], min_group)),
        )
        for centre in rows
    ]
    return Survey(
        clients_answered=disclosure.cell(counts.survey.answered, min_group),
        agreement_helped=_question(counts.survey.helped, min_group),
        easier_to_keep_at_it=_question(counts.survey.easier, min_group),
        per_centre=per_centre,
    )


def _review_line(found: reads.ReviewCounts) -> dict[str, int]:
    """On time, late, overdue now and still within their 14 days: they add up to `due`."""
    pending = found.due - found.on_time - found.late - found.overdue_now
    return {
        "on_time": found.on_time,
        "late": found.late,
        "overdue_now": found.overdue_now,
        "pending": pending,
    }


def _overdue_rate(cells: dict[str, int | None], due: int | None, min_group: int) -> float | None:
    late, overdue = cells["late"], cells["overdue_now"]
    missed = None if late is None or overdue is None else late + overdue
    return disclosure.share(missed, due, min_group)


def _reviews(counts: reads.EvaluationCounts, months: list[str], min_group: int) -> Reviews:
    """The months' rows add up to the period's: one table (domain.disclosure.table), with the
    period's totals as a row of their own whose cells are not added into the columns."""
    monthly = disclosure.table(
        {index: _review_line(found) for index, found in enumerate(counts.reviews_per_month)},
        min_group,
    )
    total = disclosure.partition(_review_line(counts.reviews), min_group)
    due = disclosure.cell(counts.reviews.due, min_group)
    per_month = []
    for index, (month, found) in enumerate(zip(months, counts.reviews_per_month, strict=True)):
        cells = monthly[index]
        month_due = disclosure.cell(found.due, min_group)
        per_month.append(
            ReviewMonth(
                month=month,
                due=month_due,
                late=cells["late"],
                overdue_now=cells["overdue_now"],
                overdue_rate=_overdue_rate(cells, month_due, min_group),
            )
        )
    return Reviews(
        due=due,
        on_time=total["on_time"],
        late=total["late"],
        overdue_now=total["overdue_now"],
        overdue_rate=_overdue_rate(total, due, min_group),
        per_month=per_month,
    )


def _goals(counts: reads.EvaluationCounts, min_group: int) -> Goals:
    cells = disclosure.partition(counts.goals, min_group)
    return Goals(
        achieved=cells.get("achieved", 0),
        in_progress=cells.get("in_progress", 0),
        open=cells.get("open", 0),
        dropped=cells.get("dropped", 0),
    )


def _referrals(counts: reads.EvaluationCounts, min_group: int) -> Referrals:
    by_actor = []
    for actor, found in sorted(counts.referrals.items()):
        ended = disclosure.partition(
            {
                "declined": found.declined,
                "expired": found.expired,
                "withdrawn": found.withdrawn,
                "completed": found.completed,
                "open": found.dispatched
                - found.declined
                - found.expired
                - found.withdrawn
                - found.completed,
            },
            min_group,
        )
        median_hours = disclosure.median_of_histogram(found.acknowledge_hours, min_group)
        by_actor.append(
            ActorReferrals(
                actor=actor,
                dispatched=disclosure.cell(found.dispatched, min_group),
                acknowledged=disclosure.cell(found.acknowledged, min_group),
                declined=ended["declined"],
                expired=ended["expired"],
                withdrawn=ended["withdrawn"],
                completed=ended["completed"],
                achieved=disclosure.cell(found.achieved, min_group),
                median_days_to_acknowledge=(
                    None if median_hours is None else round(median_hours / 24, 1)
                ),
            )
        )
    inbound = []
    for actor, decided in sorted(counts.inbound.items()):
        cells = disclosure.partition(
            {"accepted": decided.accepted, "declined": decided.declined, "open": decided.open},
            min_group,
        )
        inbound.append(
            InboundReferrals(
                from_actor=actor,
                accepted=cells["accepted"],
                declined=cells["declined"],
                open=cells["open"],
            )
        )
    return Referrals(by_actor=by_actor, inbound=inbound, partners_active=counts.partners_active)
