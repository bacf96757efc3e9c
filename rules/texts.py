"""The German labels the rules use in their reasons live in domain/labels.py (the agreement
text and the pages use them too); re-exported here for the rules' own modules."""

from domain.labels import (
    ACTOR_LABELS,
    EMPLOYMENT_LABELS,
    NEED_LABELS,
    QUALIFICATION_KIND_LABELS,
    RESIDENCE_LABELS,
)

__all__ = [
    "ACTOR_LABELS",
    "EMPLOYMENT_LABELS",
    "NEED_LABELS",
    "QUALIFICATION_KIND_LABELS",
    "RESIDENCE_LABELS",
]
