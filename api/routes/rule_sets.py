"""A municipality's own rules (issue 16): its versions, drafts uploaded and edited (YAML or
JSON, checked by the rules' schema: 422 per rule and field, in German), a draft published as
the version routing reads from then on, and the what-if of a draft over the open cases.

Administrators (naming the municipality) and the municipality's rule editors (`regelwerk`)
write; its supervisor reads and may ask the what-if, which gives her alone the case ids.
Another municipality's version is not found (404), as a missing one. Every write is an audit
event (`rules.draft_create`, `rules.draft_update`, `rules.publish`) naming the version's id.
"""

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, model_validator

from api import rule_what_if
from api.deps import RuleEditor, RuleReader, ServicesDep, SessionDep
from api.rule_sets import (
    checked_catalog,
    not_found,
    publish,
    scope_municipality,
    scoped_version,
    store_draft,
    version_catalog,
)
from domain.fields import Code
from domain.months import german_day
from domain.profile import StrictModel
from rules.overrides import MAX_TEXT_BYTES
from store import audit
from store import rule_sets as store
from store.models import Role, RuleSetStatus, RuleSetVersion

router = APIRouter(tags=["rules"])

VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Id der Regelwerk-Version")]


def _readable_version(
    version_id: VersionPath, user: RuleReader, session: SessionDep
) -> RuleSetVersion:
    return scoped_version(session, user, version_id)


def _editable_version(
    version_id: VersionPath, user: RuleEditor, session: SessionDep
) -> RuleSetVersion:
    return scoped_version(session, user, version_id)


# A dependency, so the scope answers (404) before the body is read (422), as for cases.
ReadableVersion = Annotated[RuleSetVersion, Depends(_readable_version)]
EditableVersion = Annotated[RuleSetVersion, Depends(_editable_version)]


class DraftIn(StrictModel):
    """A draft's overrides: as text (YAML or JSON) or as a JSON object, one of the two."""

    municipality: Code | None = None
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_BYTES)] | None = None
    override: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_of_text_and_override(self) -> "DraftIn":
        if (self.text is None) == (self.override is None):
            raise ValueError("text: Bitte den Text des Regelwerks oder „override“ angeben.")
        return self

    def as_text(self) -> str:
        if self.text is not None:
            return self.text
        return json.dumps(self.override, ensure_ascii=False, indent=2)


class VersionOut(StrictModel):
    id: int
    municipality_id: str
    version: int
    status: RuleSetStatus
    content_hash: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_by: str | None
    published_at: datetime | None


class VersionDetail(VersionOut):
    text: str
    catalog_version: str  # the hash a route routed by it records (`ruleset_version`)


class WhatIfIn(StrictModel):
    draft_id: Annotated[int, Field(ge=1, le=2**31 - 1)]


def _out(row: RuleSetVersion) -> VersionOut:
    return VersionOut.model_validate(row, from_attributes=True)


@router.get("/rules/versions", name="rules.versions")
def list_versions(
    user: RuleReader, session: SessionDep, municipality: Code | None = None
) -> list[VersionOut]:
    """Every version of the municipality's rules, newest first."""
    municipality_id = scope_municipality(session, user, municipality)
    return [_out(row) for row in store.versions(session, municipality_id)]


@router.get("/rules/versions/{version_id}", name="rules.version")
def show_version(row: ReadableVersion) -> VersionDetail:
    """One version with its text and the version hash of the catalog it gives."""
    catalog = version_catalog(row)
    return VersionDetail(
        **_out(row).model_dump(), text=row.override_text, catalog_version=catalog.version
    )


@router.post("/rules/drafts", name="rules.draft_create", status_code=status.HTTP_201_CREATED)
def create_draft(body: DraftIn, user: RuleEditor, session: SessionDep) -> VersionOut:
    """A new draft of the municipality's rules, checked before it is stored."""
    municipality_id = scope_municipality(session, user, body.municipality)
    text = body.as_text()
    checked_catalog(text, municipality_id)
    return _out(store_draft(session, municipality_id, text, user.username, draft_id=None))


@router.put("/rules/drafts/{version_id}", name="rules.draft_update")
def update_draft(
    row: EditableVersion, body: DraftIn, user: RuleEditor, session: SessionDep
) -> VersionOut:
    """The draft's text replaced (a published or superseded version stays as it is: 409)."""
    if body.municipality is not None and body.municipality != row.municipality_id:
        raise not_found()
    if row.status is not RuleSetStatus.DRAFT:
        raise _not_a_draft()
    text = body.as_text()
    checked_catalog(text, row.municipality_id)
    return _out(store_draft(session, row.municipality_id, text, user.username, draft_id=row.id))


@router.post("/rules/drafts/{version_id}/publish", name="rules.publish")
def publish_draft(row: EditableVersion, user: RuleEditor, session: SessionDep) -> VersionOut:
    """The draft becomes the published version; the one before is superseded. Cases routed
    before keep their routes (and the version hash they name) until a review routes new needs."""
    if row.status is not RuleSetStatus.DRAFT:
        raise _not_a_draft()
    publish(session, row, user.username)
    return _out(row)


def _not_a_draft() -> HTTPException:
    return HTTPException(
        status.HTTP_409_CONFLICT,
        detail="Diese Version ist veröffentlicht oder abgelöst und bleibt, wie sie ist; "
        "Änderungen bitte als neuen Entwurf.",
    )


@router.post("/rules/what-if", name="rules.what_if")
async def what_if(body: WhatIfIn, user: RuleReader, services: ServicesDep) -> dict[str, Any]:
    """Per rule the draft changes: how many open cases of the municipality would route
    differently, from what to what (case ids for the municipality's supervisor only)."""

    def load() -> tuple[RuleSetVersion, Any, Any, list[str]]:
        with services.sessions() as session:
            row = scoped_version(session, user, body.draft_id)
            draft = version_catalog(row)
            published = services.rules.catalog(row.municipality_id)
            ids = store.open_case_ids(session, row.municipality_id, rule_what_if.MAX_CASES + 1)
            audit.add_entry(session, user.username, "rules.what_if", "rule_set", str(row.id))
            return row, draft, published, ids

    row, draft, published, case_ids = await run_in_threadpool(load)
    truncated = len(case_ids) > rule_what_if.MAX_CASES
    case_ids = case_ids[: rule_what_if.MAX_CASES]
    today = german_day(datetime.now(UTC))
    routed, report = await rule_what_if.what_if(
        services.gateway, services.rules, published, draft, case_ids, today
    )
    return {
        "municipality_id": row.municipality_id,
        "draft_id": row.id,
        "draft_version": row.version,
        "published_catalog_version": published.version,
        "draft_catalog_version": draft.version,
        "open_cases": len(case_ids),
        "routed_cases": routed,
        "truncated": truncated,
        "changes": rule_what_if.shape(report, with_case_ids=user.role is Role.SUPERVISOR),
    }
