"""A dry-run routing request (`lotse rules explain`, `POST /rules/explain`): a profile and
needs without a case. "today" is part of the request, never read from the clock."""

from datetime import date
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator

from domain.enums import CentreKind
from domain.fields import Code, PlausibleDate
from domain.needs import Need
from domain.profile import IntakeData, StrictModel


class ExplainRequest(StrictModel):
    """`municipality`: route by its published rules (none: the federal table); `draft_id`: by
    that draft of a municipality's rules instead (`POST /rules/drafts`), to try it; `rules`:
    by these changes of `municipality` to the federal table (YAML or JSON text, as a draft's),
    to try them before saving."""

    today: PlausibleDate
    municipality: Code | None = None
    draft_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    rules: Annotated[str, Field(min_length=1, max_length=49_152)] | None = None
    centre_kind: CentreKind = CentreKind.MBE
    profile: IntakeData
    needs: Annotated[list[Need], Field(min_length=1, max_length=30)]

    @field_validator("profile", mode="before")
    @classmethod
    def _profile_against_today(cls, value: Any, info: ValidationInfo) -> Any:
        # The profile's "in the future"/"expired" checks need the request's own day.
        today = info.data.get("today")
        if isinstance(today, date) and not isinstance(value, IntakeData):
            return IntakeData.model_validate(value, context={"today": today})
        return value
