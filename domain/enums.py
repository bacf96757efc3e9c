"""The closed vocabularies of DESIGN.md's payloads (German levels, residence status, need and
actor kinds, ...). String enums so that JSON carries the plain value."""

from enum import StrEnum


class GermanLevel(StrEnum):
    NONE = "none"
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"

    @property
    def rank(self) -> int:
        """0 for none, 1 for A1 ... 6 for C2: comparisons like "below B1" become integer ones."""
        return list(GermanLevel).index(self)


class ResidenceStatus(StrEnum):
    PERMIT = "permit"
    SETTLEMENT = "settlement"
    EU = "eu"
    TOLERATION = "toleration"
    GESTATTUNG = "gestattung"
    UNCLEAR = "unclear"


class Employment(StrEnum):
    UNEMPLOYED = "unemployed"
    EMPLOYED = "employed"
    IN_TRAINING = "in_training"
    NOT_SEEKING = "not_seeking"


class QualificationKind(StrEnum):
    VOCATIONAL = "vocational"
    ACADEMIC = "academic"


class Goal(StrEnum):
    EMPLOYMENT = "employment"
    TRAINING = "training"
    LANGUAGE = "language"
    CHILDCARE = "childcare"
    RECOGNITION = "recognition"
    RESIDENCE = "residence"
    OTHER = "other"


class NeedKind(StrEnum):
    LANGUAGE = "language"
    EMPLOYMENT = "employment"
    TRAINING = "training"
    CREDENTIAL = "credential"
    CHILDCARE = "childcare"
    RESIDENCE = "residence"
    OTHER = "other"


class ActorKind(StrEnum):
    LANGUAGE_COURSE_PROVIDER = "language_course_provider"
    JOBCENTER = "jobcenter"
    EMPLOYMENT_AGENCY = "employment_agency"
    RECOGNITION_OFFICE = "recognition_office"
    RECOGNITION_COUNSELLING = "recognition_counselling"
    FOREIGNERS_AUTHORITY = "foreigners_authority"
    CHILDCARE_OFFICE = "childcare_office"
    YOUTH_MIGRATION_SERVICE = "youth_migration_service"
    MIGRATION_COUNSELLING = "migration_counselling"


class CentreKind(StrEnum):
    """MBE serves adults from 27, JMD young people from 12 to 26."""

    MBE = "MBE"
    JMD = "JMD"
