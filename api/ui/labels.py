"""German words for every code the pages show: stages, enums, event kinds, measures.

Display text only: no decision may depend on these strings. Labels other modules already own
(stage names, routing vocabulary, referral statuses) are taken from there, so a word changes in
one place; what only the pages need is defined here.
"""

from domain.case import (
    STAGE_LABELS,
    CaseEventKind,
    ClosureReason,
    GoalStatus,
    Party,
    Responsible,
    SetAside,
    Stage,
    TaskKind,
)
from domain.enums import (
    ActorKind,
    CentreKind,
    Employment,
    GermanLevel,
    Goal,
    NeedKind,
    QualificationKind,
    ResidenceStatus,
)
from domain.inbound import InboundStatus
from domain.labels import (
    ACTOR_LABELS,
    CLOSURE_REASON_LABELS,
    EMPLOYMENT_LABELS,
    NEED_LABELS,
    QUALIFICATION_KIND_LABELS,
    RESIDENCE_LABELS,
)
from domain.referral import STATUS_LABELS, OutcomeResult, ReferralStatus

STAGES: tuple[Stage, ...] = tuple(Stage)
STAGE: dict[str, str] = {stage.value: STAGE_LABELS[stage] for stage in Stage}
NEED: dict[str, str] = {kind.value: NEED_LABELS[kind] for kind in NeedKind}
ACTOR: dict[str, str] = {kind.value: ACTOR_LABELS[kind] for kind in ActorKind}
RESIDENCE: dict[str, str] = {status.value: RESIDENCE_LABELS[status] for status in ResidenceStatus}
EMPLOYMENT: dict[str, str] = {value.value: EMPLOYMENT_LABELS[value] for value in Employment}
QUALIFICATION_KIND: dict[str, str] = {
    kind.value: QUALIFICATION_KIND_LABELS[kind] for kind in QualificationKind
}
REFERRAL_STATUS: dict[str, str] = {status.value: STATUS_LABELS[status] for status in ReferralStatus}
INBOUND_STATUS: dict[str, str] = {
    InboundStatus.OPEN: "offen",
    InboundStatus.ACCEPTED: "angenommen",
    InboundStatus.DECLINED: "abgelehnt",
}

GERMAN_LEVEL: dict[str, str] = {
    level.value: ("keine Deutschkenntnisse" if level is GermanLevel.NONE else level.value)
    for level in GermanLevel
}

GOAL: dict[str, str] = {
    Goal.EMPLOYMENT: "Arbeit",
    Goal.TRAINING: "Ausbildung",
    Goal.LANGUAGE: "Deutsch lernen",
    Goal.CHILDCARE: "Kinderbetreuung",
    Goal.RECOGNITION: "Anerkennung des Abschlusses",
    Goal.RESIDENCE: "Aufenthalt sichern",
    Goal.OTHER: "Sonstiges",
}

GOAL_STATUS: dict[str, str] = {
    GoalStatus.OPEN: "offen",
    GoalStatus.IN_PROGRESS: "in Arbeit",
    GoalStatus.ACHIEVED: "erreicht",
    GoalStatus.DROPPED: "nicht mehr verfolgt",
}

PARTY: dict[str, str] = {Party.CLIENT: "Klient:in", Party.COUNSELLOR: "Berater:in"}

RESPONSIBLE: dict[str, str] = {
    Responsible.CLIENT: "Klient:in",
    Responsible.COUNSELLOR: "Beratungsstelle",
    Responsible.PARTNER: "Partnerstelle",
}

CLOSURE_REASON: dict[str, str] = {
    reason.value: CLOSURE_REASON_LABELS[reason] for reason in ClosureReason
}

OUTCOME: dict[str, str] = {
    OutcomeResult.ACHIEVED: "erreicht",
    OutcomeResult.PARTLY: "teilweise erreicht",
    OutcomeResult.NOT_ACHIEVED: "nicht erreicht",
}

PRIORITY: dict[str, str] = {"1": "hoch", "2": "mittel", "3": "niedrig"}

# Why a measure waits (domain.case.SetAside).
SET_ASIDE: dict[str, str] = {
    SetAside.REST: "ruht",
    SetAside.COORDINATION: "an Koordination gemeldet",
    SetAside.CONSENT_WITHDRAWN: "Einwilligung widerrufen",
}

TASK_KIND: dict[str, str] = {
    TaskKind.FOLLOW_UP: "Nachfassen",
    TaskKind.REVIEW_DUE: "Überprüfung fällig",
    TaskKind.REVIEW_OVERDUE: "Überprüfung überfällig",
    TaskKind.PERMIT_EXPIRY: "Aufenthaltstitel läuft ab",
    TaskKind.REFERRAL_REMINDER: "Vermittlung unbeantwortet",
    TaskKind.REFERRAL_ESCALATION: "Vermittlung eskaliert",
    TaskKind.REFERRAL_UNASSIGNED: "kein Partner verfügbar",
    TaskKind.REFERRAL_DECLINED: "Ablehnung prüfen",
    TaskKind.REFERRAL_REPORTED: "kein Partner (von der Beratung gemeldet)",
    TaskKind.CASE_UNASSIGNED: "Fall ohne Berater:in",
    TaskKind.AMENDMENT_DUE: "Vereinbarung ändern",
}

# The rules' measure codes (rules/catalog/*.yaml) as a counsellor writes them in an agreement.
MEASURE: dict[str, str] = {
    "career_guidance": "Berufsberatung",
    "childcare_advice": "Beratung zur Kinderbetreuung",
    "childcare_place": "Kita-Platz",
    "counselling": "Beratung in der Beratungsstelle",
    "equivalence_assessment": "Gleichwertigkeitsprüfung",
    "integration_course": "Integrationskurs",
    "job_language_course": "Berufssprachkurs",
    "literacy_course": "Integrationskurs mit Alphabetisierung",
    "parent_integration_course": "Eltern-Integrationskurs",
    "placement": "Vermittlung in Arbeit",
    "recognition_counselling": "Anerkennungsberatung",
    "recognition_procedure": "Anerkennungsverfahren",
    "residence_clarification": "Klärung des Aufenthalts",
    "residence_information": "Auskunft zum Aufenthalt",
    "statement_of_comparability": "Zeugnisbewertung",
    "transfer_suggestion": "Übergabe an den Jugendmigrationsdienst",
    "youth_integration_course": "Jugendintegrationskurs",
}

EVENT: dict[str, str] = {
    CaseEventKind.CASE_OPENED: "Fall angelegt",
    CaseEventKind.INTAKE_COMPLETED: "Aufnahme abgeschlossen",
    CaseEventKind.ROUTES_PROPOSED: "Vermittlungsvorschläge erstellt",
    CaseEventKind.ASSESSMENT_COMPLETED: "Bedarfsklärung abgeschlossen",
    CaseEventKind.AGREEMENT_DRAFTED: "Entwurf gespeichert",
    CaseEventKind.SIGNATURE_REQUESTED: "Dokument zur Unterschrift erstellt",
    CaseEventKind.SIGNED: "unterschrieben",
    CaseEventKind.AGREEMENT_ACTIVATED: "Vereinbarung in Kraft",
    CaseEventKind.REFERRAL_DISPATCHED: "an Partner vermittelt",
    CaseEventKind.REFERRAL_STATUS_CHANGED: "Vermittlung geändert",
    CaseEventKind.REFERRAL_PROGRESS: "Zwischenstand vom Partner",
    CaseEventKind.REFERRAL_WITHDRAWN: "Vermittlung zurückgezogen",
    CaseEventKind.MEASURE_COMPLETED: "Maßnahme abgeschlossen",
    CaseEventKind.MEASURE_SET_ASIDE: "Maßnahme zurückgestellt",
    CaseEventKind.REVIEW_DUE_SOON: "Überprüfung in 7 Tagen fällig",
    CaseEventKind.REVIEW_DUE: "Überprüfung fällig",
    CaseEventKind.REVIEW_OVERDUE: "Überprüfung überfällig",
    CaseEventKind.REVIEW_RECORDED: "Überprüfung erfasst",
    CaseEventKind.TASK_CREATED: "Aufgabe angelegt",
    CaseEventKind.TASK_DONE: "Aufgabe erledigt",
    CaseEventKind.REASSIGNED: "neu zugewiesen",
    CaseEventKind.TRANSFERRED: "an andere Beratungsstelle abgegeben",
    CaseEventKind.CLOSED: "Fall abgeschlossen",
    CaseEventKind.INTAKE_CORRECTED: "Angaben korrigiert",
    CaseEventKind.ROUTES_RECOMPUTED: "Vermittlungsvorschläge neu berechnet",
    CaseEventKind.SIGNATURE_REQUEST_WITHDRAWN: "Vorlage zur Unterschrift zurückgezogen",
    CaseEventKind.OWN_MEASURE_COMPLETED: "Eigene Maßnahme erledigt",
}


# The Länder by the ISO 3166-2 code a municipality is configured with (domain/workdays.py).
LAND: dict[str, str] = {
    "BB": "Brandenburg",
    "BE": "Berlin",
    "BW": "Baden-Württemberg",
    "BY": "Bayern",
    "HB": "Bremen",
    "HE": "Hessen",
    "HH": "Hamburg",
    "MV": "Mecklenburg-Vorpommern",
    "NI": "Niedersachsen",
    "NW": "Nordrhein-Westfalen",
    "RP": "Rheinland-Pfalz",
    "SH": "Schleswig-Holstein",
    "SL": "Saarland",
    "SN": "Sachsen",
    "ST": "Sachsen-Anhalt",
    "TH": "Thüringen",
}

CENTRE_KIND: dict[str, str] = {
    CentreKind.MBE: "Migrationsberatung für erwachsene Zugewanderte (MBE)",
    CentreKind.JMD: "Jugendmigrationsdienst (JMD)",
}


def measure(code: str) -> str:
    return MEASURE.get(code, code.replace("_", " "))


def stage(code: str) -> str:
    return STAGE.get(code, code)


# The intake's yes/no answers as the summary words them: (when true, when false).
PROFILE_FLAG: dict[str, tuple[str, str]] = {
    "literacy_need": ("Alphabetisierungsbedarf", "kein Alphabetisierungsbedarf"),
    "integration_course_completed": ("abgeschlossen", "nicht abgeschlossen"),
    "receives_citizens_benefit": ("bezieht Bürgergeld", "kein Bürgergeld"),
    "regulated": ("reglementierter Beruf", "nicht reglementiert"),
    "documents_complete": ("Unterlagen vollständig", "Unterlagen unvollständig"),
    "has_childcare": ("mit Betreuungsplatz", "ohne Betreuungsplatz"),
}


def flag(name: str, value: bool) -> str:
    """How the summary words the intake's yes/no answer `name`."""
    when_true, when_false = PROFILE_FLAG[name]
    return when_true if value else when_false


def answer(value: bool | None) -> str:
    """A survey answer as the review list shows it."""
    return "keine Angabe" if value is None else ("ja" if value else "nein")
