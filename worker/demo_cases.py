"""The demo cases of `lotse up`: nine fictional clients of Musterstadt and how far each case
has come, so a fresh start shows every stage, partners at work, a review overdue, a referral
unanswered past its deadline and one declined (worker/demo.py plays them through the
workflows).

Data only: who the client is, what the intake says, which needs, goals and measures the
counsellor records, what the partners do, and, for two cases, the shortened `Clocks` that let
a deadline pass while you watch. Names, places and stories are made up. Dates are relative to
the day of the start (an age stays an age); nothing here reads the clock.

**Time in the demo.** A case cannot honestly be started in the past: its workflow's clock is
the server's (`workflows/clock.py`; `Clocks.shift` moves it back for good, so every later step
would be backdated too, and the timers still wait the real durations). Instead, the two cases
whose point is a missed deadline carry shorter durations in their `Clocks`, the workflow input
that already holds every duration a case waits for:

- `REVIEW_OVERDUE_CLOCKS`: the first review falls due at the signing (0 months) and counts as
  overdue 20 seconds later (instead of 14 days); later reviews keep the 6-month interval.
- `LATE_REFERRAL_CLOCKS`: a working day of the case's referrals lasts 10 seconds, so the
  partner is reminded (acknowledgement due) 10 seconds after dispatch and the referral is
  escalated to the coordination after 20; it expires only after three weeks, about as long as
  a real one (15 working days), so it stays on the coordination's list.

Every other demo case runs on the real durations. The workflows do exactly what they do for
any case: the deadlines pass on the server's clock, the overdue flag, the reminder and the
escalation are the workflows' own. Only `lotse up` uses these clocks, and it refuses to run in
production.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from domain.actions import Closure
from domain.case import ClientName, ClosureReason, Party, Responsible, Stage, Survey
from domain.clocks import Clocks
from domain.enums import ActorKind, NeedKind
from domain.needs import Need
from domain.profile import IntakeData
from domain.referral import Outcome, OutcomeResult

# The review of the case `review-overdue` is due at the signing and overdue 20 seconds later.
REVIEW_OVERDUE_CLOCKS = Clocks(first_review_months=0, overdue_after=timedelta(seconds=20))

DEMO_WORKING_DAY = timedelta(seconds=10)
# Expiry in three calendar weeks, counted in demo working days.
_EXPIRY = timedelta(weeks=3)
LATE_REFERRAL_CLOCKS = Clocks(
    working_day_override=DEMO_WORKING_DAY,
    remind_after_working_days=1,
    escalate_after_working_days=2,
    expire_after_working_days=_EXPIRY // DEMO_WORKING_DAY,
)


@dataclass(frozen=True)
class PartnerPlan:
    """What the partner of one kind does with the case's referral, in this order."""

    kind: ActorKind
    measure: str  # the measure's text in the agreement
    acknowledge: bool = False
    progress: str | None = None
    outcome: Outcome | None = None
    decline: str | None = None


@dataclass(frozen=True)
class DemoCase:
    """One demo case: `key` names it for good (its case id and update ids derive from it, so
    it says what the case shows, never whose it is: update ids reach the worker's log);
    `stage` is how far the counsellor takes it."""

    key: str
    counsellor: str
    client: ClientName
    stage: Stage
    intake: Callable[[date], IntakeData] | None = None
    needs: tuple[Need, ...] = ()
    goals: tuple[str, ...] = ()
    # Measures of the client or the counsellor, beside the partners' ones.
    own_measures: tuple[tuple[Responsible, str], ...] = ()
    partners: tuple[PartnerPlan, ...] = ()
    signed_by: tuple[Party, ...] = (Party.CLIENT, Party.COUNSELLOR)
    review: Survey | None = None  # one review recorded with these answers
    closure: Closure | None = None
    clocks: Clocks | None = None
    shows: str = ""  # what the case is there for (docs, log)


def born(today: date, years: int, days_before: int = 40) -> date:
    """A birth date `years` (and `days_before` days) before `today`: the age stays the same
    whatever day `lotse up` first runs."""
    try:
        anniversary = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year - years, day=28)
    return anniversary - timedelta(days=days_before)


def _intake(**facts: object) -> Callable[[date], IntakeData]:
    """An intake whose dates are given as callables of today (ages, permit expiry)."""

    def build(today: date) -> IntakeData:
        data = {k: (v(today) if callable(v) else v) for k, v in facts.items()}
        return IntakeData.model_validate(data, context={"today": today})

    return build


def _age(years: int, days_before: int = 40) -> Callable[[date], str]:
    return lambda today: born(today, years, days_before).isoformat()


def _in_days(days: int) -> Callable[[date], str]:
    return lambda today: (today + timedelta(days=days)).isoformat()


def _child(years: int, childcare: bool) -> Callable[[date], dict[str, object]]:
    return lambda today: {
        "birth_date": born(today, years, 100).isoformat(),
        "has_childcare": childcare,
    }


def _children(*kids: Callable[[date], dict[str, object]]) -> Callable[[date], list[object]]:
    return lambda today: [kid(today) for kid in kids]


def _permit(days: int) -> Callable[[date], dict[str, object]]:
    return lambda today: {
        "status": "permit",
        "expires_on": (today + timedelta(days=days)).isoformat(),
    }


# Languages as the intake stores them (domain/languages.py): the ISO 639-1 code where there is
# one, else ISO 639-3, so Dari is "prs" and Kurmanji "kmr" (not Persian "fa", Kurdish "ku").
DEMO_CASES: tuple[DemoCase, ...] = (
    DemoCase(
        key="partners-at-work",
        counsellor="berater1",
        client=ClientName(given_name="Amal", family_name="Haddad"),
        stage=Stage.ACTIVE,
        intake=_intake(
            birth_date=_age(34),
            languages=["ar"],
            german_level="A2",
            residence=_permit(700),
            receives_citizens_benefit=True,
            employment="unemployed",
            qualifications=[
                {
                    "title": "Gesundheits- und Krankenpflegerin",
                    "country": "SY",
                    "kind": "vocational",
                    "regulated": True,
                    "documents_complete": False,
                }
            ],
            children=_children(_child(8, True), _child(3, False)),
            goals=["language", "recognition", "employment", "childcare"],
        ),
        needs=(
            Need(
                kind=NeedKind.LANGUAGE, note="Kurs am Vormittag, solange kein Kitaplatz", priority=1
            ),
            Need(kind=NeedKind.CHILDCARE, note="Kitaplatz für die Tochter (3)", priority=1),
            Need(kind=NeedKind.CREDENTIAL, note="Pflegeexamen aus Damaskus", priority=2),
            Need(kind=NeedKind.EMPLOYMENT, priority=3),
        ),
        goals=(
            "Deutsch auf B1 bis zum Sommer",
            "Kitaplatz für die jüngere Tochter",
            "Anerkennung als Pflegefachfrau",
        ),
        own_measures=(
            (Responsible.CLIENT, "Zeugnisse und Praktikumsnachweise übersetzen lassen"),
            (Responsible.COUNSELLOR, "Kostenübernahme der Übersetzungen beim Jobcenter klären"),
        ),
        partners=(
            PartnerPlan(
                ActorKind.LANGUAGE_COURSE_PROVIDER,
                "Elternintegrationskurs am Vormittag",
                acknowledge=True,
                progress="Einstufungstest gemacht, Kursbeginn am nächsten Montag.",
            ),
            PartnerPlan(ActorKind.CHILDCARE_OFFICE, "Kitaplatz beantragen", acknowledge=True),
            PartnerPlan(
                ActorKind.RECOGNITION_COUNSELLING,
                "Anerkennungsberatung zum Pflegeexamen",
                acknowledge=True,
                outcome=Outcome(
                    result=OutcomeResult.ACHIEVED,
                    note="Beratung erfolgt; Antrag auf Anerkennung beim Landesamt vorbereitet.",
                ),
            ),
            PartnerPlan(ActorKind.JOBCENTER, "Termin bei der Arbeitsvermittlung"),
        ),
        shows="laufend: Partner arbeiten, eine Vermittlung mit Ergebnis abgeschlossen",
    ),
    DemoCase(
        key="awaiting-signature",
        counsellor="berater1",
        client=ClientName(given_name="Iryna", family_name="Bondarenko"),
        stage=Stage.AWAITING_SIGNATURE,
        intake=_intake(
            birth_date=_age(41, 120),
            languages=["uk", "ru"],
            german_level="B1",
            residence=_permit(300),
            receives_citizens_benefit=True,
            employment="unemployed",
            qualifications=[
                {
                    "title": "Lehrerin für Mathematik",
                    "country": "UA",
                    "kind": "academic",
                    "regulated": True,
                    "documents_complete": True,
                }
            ],
            goals=["recognition", "language", "employment"],
        ),
        needs=(
            Need(kind=NeedKind.CREDENTIAL, note="Lehramt Mathematik", priority=1),
            Need(
                kind=NeedKind.LANGUAGE, note="Berufssprachkurs C1 für den Schuldienst", priority=2
            ),
        ),
        goals=("Anerkennung als Lehrerin", "Deutsch auf C1"),
        partners=(
            PartnerPlan(ActorKind.RECOGNITION_OFFICE, "Anerkennungsverfahren Lehramt"),
            PartnerPlan(ActorKind.LANGUAGE_COURSE_PROVIDER, "Berufssprachkurs"),
        ),
        signed_by=(Party.CLIENT,),
        shows="wartet auf die Unterschrift der Beratungsstelle",
    ),
    DemoCase(
        key="in-assessment",
        counsellor="berater2",
        client=ClientName(given_name="Farid", family_name="Ahmadi"),
        stage=Stage.ASSESSMENT,
        intake=_intake(
            birth_date=_age(29, 200),
            languages=["prs", "en"],  # Dari
            german_level="A1",
            residence={"status": "gestattung"},
            employment="unemployed",
            goals=["language", "residence", "employment"],
        ),
        shows="Aufnahme erledigt, Bedarfsklärung offen",
    ),
    DemoCase(
        key="in-intake",
        counsellor="berater1",
        client=ClientName(given_name="Zeynep", family_name="Aydın"),
        stage=Stage.INTAKE,
        shows="gerade angelegt",
    ),
    DemoCase(
        key="in-drafting",
        counsellor="berater2",
        client=ClientName(given_name="Mehmet", family_name="Kaya"),
        stage=Stage.DRAFTING,
        intake=_intake(
            birth_date=_age(44, 10),
            languages=["tr"],
            german_level="B1",
            residence={"status": "settlement"},
            employment="employed",
            goals=["training", "language"],
        ),
        needs=(
            Need(kind=NeedKind.TRAINING, note="Weiterbildung zum Berufskraftfahrer", priority=1),
            Need(kind=NeedKind.LANGUAGE, priority=2),
        ),
        shows="Bedarfe geroutet, Vereinbarung noch nicht entworfen",
    ),
    DemoCase(
        key="late-referral",
        counsellor="berater2",
        client=ClientName(given_name="Yonas", family_name="Tesfay"),
        stage=Stage.ACTIVE,
        intake=_intake(
            birth_date=_age(30, 75),
            languages=["ti"],
            german_level="A1",
            literacy_need=True,
            residence=_permit(500),
            receives_citizens_benefit=True,
            employment="unemployed",
            goals=["language"],
        ),
        needs=(Need(kind=NeedKind.LANGUAGE, note="lernt lateinische Schrift", priority=1),),
        goals=("Lesen und Schreiben auf Deutsch",),
        own_measures=((Responsible.CLIENT, "Jeden Dienstag ins Lerncafé der Bibliothek"),),
        partners=(
            PartnerPlan(
                ActorKind.LANGUAGE_COURSE_PROVIDER, "Integrationskurs mit Alphabetisierung"
            ),
        ),
        clocks=LATE_REFERRAL_CLOCKS,
        shows="Vermittlung unbeantwortet über der Frist (erinnert, dann eskaliert)",
    ),
    DemoCase(
        key="review-overdue",
        counsellor="berater1",
        client=ClientName(given_name="Dilan", family_name="Ibrahim"),
        stage=Stage.ACTIVE,
        intake=_intake(
            birth_date=_age(45, 15),
            languages=["kmr", "ar"],  # Kurmanji
            german_level="A2",
            residence=_permit(900),
            employment="employed",
            goals=["language"],
        ),
        needs=(Need(kind=NeedKind.LANGUAGE, note="Abendkurs neben der Arbeit", priority=1),),
        goals=("Deutsch auf B1",),
        partners=(
            PartnerPlan(
                ActorKind.LANGUAGE_COURSE_PROVIDER, "Integrationskurs am Abend", acknowledge=True
            ),
        ),
        clocks=REVIEW_OVERDUE_CLOCKS,
        shows="Überprüfung überfällig",
    ),
    DemoCase(
        key="declined-referral",
        counsellor="berater2",
        client=ClientName(given_name="Oleksandr", family_name="Melnyk"),
        stage=Stage.ACTIVE,
        intake=_intake(
            birth_date=_age(52, 160),
            languages=["uk", "ru"],
            german_level="A2",
            residence=_permit(400),
            receives_citizens_benefit=True,
            employment="unemployed",
            goals=["language", "employment"],
        ),
        needs=(
            Need(kind=NeedKind.LANGUAGE, priority=1),
            Need(kind=NeedKind.EMPLOYMENT, note="Schweißer, 20 Jahre Berufserfahrung", priority=2),
        ),
        goals=("Deutsch auf B1", "Arbeit als Schweißer"),
        partners=(
            PartnerPlan(
                ActorKind.LANGUAGE_COURSE_PROVIDER,
                "Integrationskurs",
                decline="Alle Kurse sind bis März ausgebucht; bitte an einen anderen Träger "
                "vermitteln.",
            ),
            PartnerPlan(ActorKind.JOBCENTER, "Vermittlung in Arbeit", acknowledge=True),
        ),
        shows="eine Vermittlung abgelehnt (der Fall sucht einen anderen Träger)",
    ),
    DemoCase(
        key="closed",
        counsellor="berater1",
        client=ClientName(given_name="Rania", family_name="Saleh"),
        stage=Stage.CLOSED,
        intake=_intake(
            birth_date=_age(38, 5),
            languages=["ar", "en"],
            german_level="B1",
            residence=_permit(1000),
            employment="unemployed",
            goals=["employment"],
        ),
        needs=(Need(kind=NeedKind.EMPLOYMENT, note="Pflegehelferin", priority=1),),
        goals=("Arbeit in der Pflege",),
        partners=(
            PartnerPlan(
                ActorKind.EMPLOYMENT_AGENCY,
                "Vermittlung in Arbeit",
                acknowledge=True,
                outcome=Outcome(
                    result=OutcomeResult.ACHIEVED,
                    note="Stelle als Pflegehelferin im Seniorenzentrum angetreten.",
                ),
            ),
        ),
        review=Survey(agreement_helped=True, easier_to_keep_at_it=True),
        closure=Closure(reason=ClosureReason.GOALS_ACHIEVED, note="Arbeitsstelle gefunden."),
        shows="abgeschlossen: Ziel erreicht, Überprüfung mit Befragung",
    ),
)
