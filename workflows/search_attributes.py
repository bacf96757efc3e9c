"""The case's search attributes (DESIGN.md), declared once: the keys the case workflow upserts,
and from them the forms the servers want them registered in (the dev server's
`--search-attribute Name=Type`, the operator API's indexed value types; the deploy scripts are
checked against `REGISTERED` by tests/system/test_deploy.py). Ids, the stage and the review clock:
never personal data.
"""

from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.common import SearchAttributeKey

CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
MUNICIPALITY_ID = SearchAttributeKey.for_keyword("MunicipalityId")
CENTRE_ID = SearchAttributeKey.for_keyword("CentreId")
COUNSELLOR_ID = SearchAttributeKey.for_keyword("CounsellorId")
NEXT_REVIEW_DUE = SearchAttributeKey.for_datetime("NextReviewDue")
REVIEW_OVERDUE = SearchAttributeKey.for_bool("ReviewOverdue")

CASE_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    CASE_STAGE,
    MUNICIPALITY_ID,
    CENTRE_ID,
    COUNSELLOR_ID,
    NEXT_REVIEW_DUE,
    REVIEW_OVERDUE,
)

# "Name=Type", as `temporal server start-dev --search-attribute` and the deploy scripts say it.
REGISTERED = [f"{key.name}={key.indexed_value_type.name.capitalize()}" for key in CASE_ATTRIBUTES]


def indexed_value_types() -> dict[str, "IndexedValueType.ValueType"]:
    """Name -> type, for the operator API (a server started without them: time skipping)."""
    return {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in CASE_ATTRIBUTES
    }
