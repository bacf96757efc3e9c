"""The page „Regeln" (`/verwaltung/regeln`): a municipality's routing rules as a decision table
(each rule in order, its condition and its actor in German, marked Bundesregel, ersetzt,
abgeschaltet or kommunal), its versions, and for its rule editor and administrators the draft
form (YAML or JSON), the what-if of a draft and its publication. Its supervisor reads.

Everything goes through the API's pieces (api/rule_sets.py, api/rule_what_if.py, the store's
rule sets), so the page refuses what the API refuses, in the same German, per rule and field.
An administrator picks the municipality (`?kommune=`); the others see their own, and another
municipality's version is not found (404).
"""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from api import rule_what_if
from api.rule_sets import (
    ORIGIN_LABELS,
    checked_catalog,
    decision_table,
    override_of,
    publish,
    scope_municipality,
    scoped_version,
    store_draft,
    version_catalog,
)
from api.ui.forms import FormState, text
from api.ui.session import Form, RuleEditorUser, RuleReaderUser, services_of
from api.ui.web import PageRoute, redirect, render
from domain.labels import ACTOR_LABELS
from domain.months import german_day
from store import audit
from store import rule_sets as store
from store.models import Role, RuleSetStatus, RuleSetVersion, User

router = APIRouter(route_class=PageRoute, include_in_schema=False)

STATUS_LABELS = {
    RuleSetStatus.DRAFT: "Entwurf",
    RuleSetStatus.PUBLISHED: "veröffentlicht",
    RuleSetStatus.SUPERSEDED: "abgelöst",
}
CHANGE_LABELS = {
    "added": "neu",
    "replaced": "ersetzt",
    "removed": "entfällt",
    "order": "Reihenfolge",
}
DONE = {
    "gespeichert": "Der Entwurf wurde gespeichert.",
    "veroeffentlicht": "Der Entwurf ist jetzt das geltende Regelwerk. Laufende Fälle behalten "
    "ihre bisherigen Vorschläge, bis eine Überprüfung neue Bedarfe zuordnet.",
}


def _context(
    request: Request,
    user: User,
    municipality: str | None,
    version_id: int | None,
    form: FormState | None = None,
    problems: list[dict[str, Any]] | None = None,
    what_if: dict[str, Any] | None = None,
) -> dict[str, Any]:
    with services_of(request).sessions() as session:
        choices = store.municipality_ids(session) if user.role is Role.ADMIN else []
        shown: RuleSetVersion | None = None
        if version_id is not None:
            shown = scoped_version(session, user, version_id)
            municipality = shown.municipality_id
        if user.role is Role.ADMIN and municipality is None:
            return {"choices": choices, "municipality": None, "editor": True, "done": None}
        municipality_id = scope_municipality(session, user, municipality)
        rows = store.versions(session, municipality_id)
        published = next((r for r in rows if r.status is RuleSetStatus.PUBLISHED), None)
        shown = shown or published
    catalog = (
        version_catalog(shown)
        if shown is not None
        else services_of(request).rules.catalog(municipality_id)
    )
    override = override_of(shown.override_text, municipality_id) if shown else None
    return {
        "choices": choices,
        "municipality": municipality_id,
        "versions": rows,
        "shown": shown,
        "catalog": catalog,
        "table": decision_table(catalog, override),
        "origins": ORIGIN_LABELS,
        "statuses": STATUS_LABELS,
        "changes": CHANGE_LABELS,
        "actors": {kind.value: label for kind, label in ACTOR_LABELS.items()},
        "editor": user.role in (Role.ADMIN, Role.RULE_EDITOR),
        "form": form or FormState(),
        "problems": problems or [],
        "what_if": what_if,
        "draft_text": shown.override_text if shown is not None else "",
        "done": DONE.get(request.query_params.get("erledigt", "")),
    }


@router.get("/verwaltung/regeln", name="ui.rules")
def rules_page(
    request: Request, user: RuleReaderUser, kommune: str | None = None, version: int | None = None
) -> Response:
    if version is not None and not 1 <= version < 2**31:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Nicht gefunden.")
    context = _context(request, user, kommune or None, version)
    return render(request, "rules/page.html", context)


def _text_refused(message: str) -> HTTPException:
    problem = {"rule": None, "field": "text", "message": f"Feld „text“: {message}"}
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail={"errors": [problem]})


@router.post("/verwaltung/regeln/entwurf", name="ui.rules.draft")
def save_draft(request: Request, user: RuleEditorUser, form: Form) -> Response:
    """A new draft, or the shown draft's text replaced; refused per rule and field."""
    municipality = text(form, "kommune") or None
    raw = form.get("text")
    body = raw if isinstance(raw, str) else ""
    draft_id = text(form, "entwurf")
    with services_of(request).sessions() as session:
        existing = scoped_version(session, user, int(draft_id)) if draft_id.isdigit() else None
        municipality_id = (
            existing.municipality_id
            if existing is not None
            else scope_municipality(session, user, municipality)
        )
    if existing is not None and existing.status is not RuleSetStatus.DRAFT:
        existing = None  # a published version edited: the text becomes a new draft
    try:
        if not body.strip():
            raise _text_refused("Bitte den Text des Regelwerks eingeben.")
        checked_catalog(body, municipality_id)  # the length and the characters too
    except HTTPException as error:
        problems: list[dict[str, Any]] = (
            error.detail["errors"] if isinstance(error.detail, dict) else []
        )
        state = FormState.submitted(form, {"text": problems[0]["message"] if problems else ""})
        context = _context(
            request, user, municipality_id, existing.id if existing else None, state, problems
        )
        context["draft_text"] = body
        return render(request, "rules/page.html", context, status.HTTP_422_UNPROCESSABLE_CONTENT)
    with services_of(request).sessions() as session:
        into = existing.id if existing else None
        row = store_draft(session, municipality_id, body, user.username, into)
    return redirect(f"/verwaltung/regeln?version={row.id}&erledigt=gespeichert")


@router.post("/verwaltung/regeln/{version_id}/was-waere-wenn", name="ui.rules.what_if")
async def what_if_page(
    request: Request, version_id: int, user: RuleReaderUser, form: Form
) -> Response:
    """The what-if of the shown draft against the published rules, on this page."""
    services = services_of(request)

    def load() -> tuple[RuleSetVersion, Any, Any, list[str]]:
        with services.sessions() as session:
            row = scoped_version(session, user, version_id)
            ids = store.open_case_ids(session, row.municipality_id, rule_what_if.MAX_CASES)
            audit.add_entry(session, user.username, "rules.what_if", "rule_set", str(row.id))
        return row, version_catalog(row), services.rules.catalog(row.municipality_id), ids

    row, draft, published, ids = await run_in_threadpool(load)
    routed, report = await rule_what_if.what_if(
        services.gateway, services.rules, published, draft, ids, german_day(datetime.now(UTC))
    )
    result = {
        "routed_cases": routed,
        "changes": rule_what_if.shape(report, with_case_ids=user.role is Role.SUPERVISOR),
    }
    context = await run_in_threadpool(
        _context, request, user, row.municipality_id, row.id, None, None, result
    )
    return render(request, "rules/page.html", context)


@router.post("/verwaltung/regeln/{version_id}/veroeffentlichen", name="ui.rules.publish")
def publish_page(request: Request, version_id: int, user: RuleEditorUser, form: Form) -> Response:
    with services_of(request).sessions() as session:
        row = scoped_version(session, user, version_id)
        if row.status is not RuleSetStatus.DRAFT:
            raise HTTPException(
                status.HTTP_409_CONFLICT, detail="Diese Version ist kein Entwurf mehr."
            )
        publish(session, row, user.username)
    return redirect(f"/verwaltung/regeln?version={version_id}&erledigt=veroeffentlicht")
