"""Derived facts: the flat values routing conditions read, computed from profile, need and day.

This is data preparation only. It must not decide a route (matching belongs to durable-rules
in compiler.py, or to the plain-Python baseline in reference.py) and must not read the clock:
"today" is always passed in. The registry FACTS is also the vocabulary the rule-file schema
accepts, so a rule can only name a fact that is computed here.
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal

from domain.dates import age_on
from domain.enums import (
    CentreKind,
    Employment,
    GermanLevel,
    QualificationKind,
    ResidenceStatus,
)
from domain.labels import (
    EMPLOYMENT_LABELS,
    QUALIFICATION_KIND_LABELS,
    RESIDENCE_LABELS,
    days_left_phrase,
    german_level_label,
)
from domain.languages import country_name
from domain.profile import IntakeData, Qualification

FactValue = bool | int | str
Facts = dict[str, FactValue]
FactType = Literal["bool", "int", "enum"]


@dataclass(frozen=True)
class FactSpec:
    type: FactType
    values: tuple[str, ...] = ()
    # Qualification facts exist only on the items of a credential need (one per qualification).
    credential_only: bool = False
    # An optional fact may be absent (no permit expiry): every comparison on it is then false.
    optional: bool = False


FACTS: dict[str, FactSpec] = {
    "literacy_need": FactSpec("bool"),
    "german_rank": FactSpec("int"),
    "course_completed": FactSpec("bool"),
    "age": FactSpec("int"),
    "has_child_under6_without_care": FactSpec("bool"),
    "has_child_1_to_6_without_care": FactSpec("bool"),
    "only_children_under1_without_care": FactSpec("bool"),
    "sgb2": FactSpec("bool"),
    "employment": FactSpec("enum", tuple(e.value for e in Employment)),
    "permit_days_left": FactSpec("int", optional=True),
    "residence_status": FactSpec("enum", tuple(s.value for s in ResidenceStatus)),
    "centre_kind": FactSpec("enum", tuple(k.value for k in CentreKind)),
    "qual_documents_complete": FactSpec("bool", credential_only=True),
    "qual_regulated": FactSpec("bool", credential_only=True),
    "qual_kind": FactSpec("enum", tuple(k.value for k in QualificationKind), credential_only=True),
}

# Placeholders a reason template may use ({age}, {qualification}, ...): German display strings.
DISPLAY_FIELDS: dict[str, bool] = {  # name -> only on credential items
    "age": False,
    "german_level": False,
    "integration_course": False,
    "employment": False,
    "residence": False,
    "residence_detail": False,
    "permit_expires": False,
    "centre_kind": False,
    "children_without_care": False,
    "qualification": True,
    "qualification_country": True,
    "qualification_kind": True,
}

# Keys the evaluators add to every item beside the facts; no fact may take these names.
RESERVED_KEYS = frozenset({"scope", "slot", "sid", "id", "i"})
assert not RESERVED_KEYS & FACTS.keys()


@dataclass(frozen=True)
class ProfileFacts:
    """Everything derived from one profile on one day, shared by all needs of an evaluation."""

    facts: Facts
    display: dict[str, str]


def derive_profile(profile: IntakeData, today: date, centre_kind: CentreKind) -> ProfileFacts:
    age = age_on(profile.birth_date, today)
    uncared_ages = [age_on(c.birth_date, today) for c in profile.children if not c.has_childcare]
    residence = profile.residence
    facts: Facts = {
        "literacy_need": profile.literacy_need,
        "german_rank": profile.german_level.rank,
        "course_completed": profile.integration_course_completed,
        "age": age,
        "has_child_under6_without_care": any(a < 6 for a in uncared_ages),
        "has_child_1_to_6_without_care": any(1 <= a < 6 for a in uncared_ages),
        # Below school age: a school child without daycare is no childcare-office matter.
        "only_children_under1_without_care": any(a < 1 for a in uncared_ages)
        and not any(1 <= a < 6 for a in uncared_ages),
        "sgb2": profile.receives_citizens_benefit,
        "employment": profile.employment.value,
        "residence_status": residence.status.value,
        "centre_kind": centre_kind.value,
    }
    status_label = RESIDENCE_LABELS[residence.status]
    if residence.expires_on is not None:
        days_left = (residence.expires_on - today).days
        facts["permit_days_left"] = days_left
        expires = f"{residence.expires_on:%d.%m.%Y}"
        detail = f"{status_label} bis {expires} ({days_left_phrase(days_left)})"
    else:
        expires = "ohne Ablaufdatum"
        detail = status_label
    display = {
        "age": str(age),
        "german_level": german_level_label(GermanLevel(profile.german_level).value),
        "integration_course": (
            "abgeschlossen" if profile.integration_course_completed else "nicht abgeschlossen"
        ),
        "employment": EMPLOYMENT_LABELS[profile.employment],
        "residence": status_label,
        "residence_detail": detail,
        "permit_expires": expires,
        "centre_kind": centre_kind.value,
        "children_without_care": str(len(uncared_ages)),
    }
    return ProfileFacts(facts=facts, display=display)


def derive_qualification(qualification: Qualification) -> ProfileFacts:
    """The per-qualification facts, to be laid over the profile's for one credential item."""
    facts: Facts = {
        "qual_documents_complete": qualification.documents_complete,
        "qual_regulated": qualification.regulated,
        "qual_kind": qualification.kind.value,
    }
    display = {
        "qualification": qualification.title,
        "qualification_country": country_name(qualification.country),
        "qualification_kind": QUALIFICATION_KIND_LABELS[qualification.kind],
    }
    return ProfileFacts(facts=facts, display=display)
