"""German labels of the domain's codes, for what people read: routing reasons, partner hints,
the agreement document, the pages.

Only display text lives here; no decision may depend on these strings (the rules' conditions
read the plain enum values). In domain/, so that whatever shows a need or a partner kind (the
agreement text, which the workflows import) does not have to load the rules package."""

from domain.case import ClosureReason
from domain.enums import (
    ActorKind,
    Employment,
    GermanLevel,
    NeedKind,
    QualificationKind,
    ResidenceStatus,
)

NEED_LABELS: dict[NeedKind, str] = {
    NeedKind.LANGUAGE: "Sprache",
    NeedKind.EMPLOYMENT: "Arbeit",
    NeedKind.TRAINING: "Ausbildung und Berufsorientierung",
    NeedKind.CREDENTIAL: "Anerkennung ausländischer Abschlüsse",
    NeedKind.CHILDCARE: "Kinderbetreuung",
    NeedKind.RESIDENCE: "Aufenthalt",
    NeedKind.OTHER: "Sonstiges",
}

RESIDENCE_LABELS: dict[ResidenceStatus, str] = {
    ResidenceStatus.PERMIT: "Aufenthaltserlaubnis",
    ResidenceStatus.SETTLEMENT: "Niederlassungserlaubnis",
    ResidenceStatus.EU: "Freizügigkeit (EU)",
    ResidenceStatus.TOLERATION: "Duldung",
    ResidenceStatus.GESTATTUNG: "Aufenthaltsgestattung",
    ResidenceStatus.UNCLEAR: "Aufenthaltsstatus ungeklärt",
}

EMPLOYMENT_LABELS: dict[Employment, str] = {
    Employment.UNEMPLOYED: "arbeitslos",
    Employment.EMPLOYED: "beschäftigt",
    Employment.IN_TRAINING: "in Ausbildung",
    Employment.NOT_SEEKING: "nicht arbeitsuchend",
}

QUALIFICATION_KIND_LABELS: dict[QualificationKind, str] = {
    QualificationKind.VOCATIONAL: "Berufsabschluss",
    QualificationKind.ACADEMIC: "Hochschulabschluss",
}

# A CEFR level with the German name of its band, for someone who does not know the codes (a
# course provider's front desk places by both).
GERMAN_LEVEL_LABELS: dict[GermanLevel, str] = {
    GermanLevel.NONE: "keine Deutschkenntnisse",
    GermanLevel.A1: "A1 (Grundstufe)",
    GermanLevel.A2: "A2 (Grundstufe)",
    GermanLevel.B1: "B1 (Mittelstufe)",
    GermanLevel.B2: "B2 (Mittelstufe)",
    GermanLevel.C1: "C1 (Oberstufe)",
    GermanLevel.C2: "C2 (Oberstufe)",
}

ACTOR_LABELS: dict[ActorKind, str] = {
    ActorKind.LANGUAGE_COURSE_PROVIDER: "Sprachkursträger",
    ActorKind.JOBCENTER: "Jobcenter",
    ActorKind.EMPLOYMENT_AGENCY: "Agentur für Arbeit",
    ActorKind.RECOGNITION_OFFICE: "Anerkennungsstelle",
    ActorKind.RECOGNITION_COUNSELLING: "Anerkennungsberatung",
    ActorKind.FOREIGNERS_AUTHORITY: "Ausländerbehörde",
    ActorKind.CHILDCARE_OFFICE: "Kita-Servicestelle",
    ActorKind.YOUTH_MIGRATION_SERVICE: "Jugendmigrationsdienst",
    ActorKind.MIGRATION_COUNSELLING: "Migrationsberatung",
}

# Why a case was closed: the counsellor's choice on the case page, and the evaluation's rows.
CLOSURE_REASON_LABELS: dict[ClosureReason, str] = {
    ClosureReason.GOALS_ACHIEVED: "Ziele erreicht",
    ClosureReason.MOVED_AWAY: "weggezogen",
    ClosureReason.WITHDRAWN: "von Klient:in beendet",
    ClosureReason.NO_CONTACT: "kein Kontakt mehr",
    ClosureReason.TRANSFERRED: "an andere Stelle übergeben",
    ClosureReason.DUPLICATE: "doppelt angelegt",
}


def german_level_label(rank_label: str) -> str:
    """'none' reads as 'keine' in a sentence; CEFR levels stay as they are."""
    return "keine" if rank_label == "none" else rank_label


def days_left_phrase(days: int) -> str:
    if days < 0:
        return f"seit {-days} {'Tag' if days == -1 else 'Tagen'} abgelaufen"
    if days == 0:
        return "läuft heute ab"
    return f"noch {days} {'Tag' if days == 1 else 'Tage'}"
