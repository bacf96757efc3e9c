"""The administrators' pages: the overview `/verwaltung` (also an admin's start page `/`) and,
for municipalities (`/verwaltung/gemeinden`), centres (`/verwaltung/stellen`) and partner
agencies (`/verwaltung/partner`), a list, the form of a new entry (`…/neu`), the form of an
entry (`…/{id}/bearbeiten`) and its button to deactivate or reactivate it (`…/{id}/aktiv`).
Nothing is deleted: cases refer to these entries.

Every write and refusal is the API's (api/directory_admin.py: the same payloads, the German
refusals naming the field, the audit entries); a refused form comes back by Post/Redirect/Get
with what was typed (api/ui/flash.py), a write answers with a 303 to a page that says what
was done. The sections and their forms: api/ui/directory_forms.py.
"""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import NOT_FOUND, SessionDep
from api.ui import flash, labels
from api.ui.directory_forms import DONE, SECTIONS, Section, on_inputs, payload
from api.ui.forms import (
    GENERAL,
    FormState,
    errors_of_http,
    errors_of_validation,
    refusal_passes_through,
    text,
)
from api.ui.session import AdminUser, Form, services_of
from api.ui.web import PageRoute, redirect, render
from domain.enums import ActorKind, CentreKind
from domain.fields import is_slug
from store.reads import admin as admin_reads

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Key = Annotated[str, Path(min_length=1, max_length=64)]
Done = Annotated[str, Query(max_length=20)]
ACTIVE_FORM = "active"


def overview(request: Request) -> Response:
    """The administrators' start page: what there is to look after, with counts."""
    with services_of(request).sessions() as session:
        counts = {section.path: _count(section.rows(session)) for section in SECTIONS}
    return render(request, "admin.html", {"counts": counts})


def _count(rows: Any) -> dict[str, int]:
    return {"all": len(rows), "inactive": sum(1 for row in rows if not row.active)}


@router.get("/verwaltung", name="ui.admin")
def start(request: Request, user: AdminUser) -> Response:
    return overview(request)


def _choices(session: Session) -> dict[str, Any]:
    """What the forms offer: municipalities, Länder, kinds, measures, in German."""
    return {
        "municipalities": [(m.id, m.name) for m in admin_reads.municipalities(session)],
        "lands": sorted(labels.LAND.items(), key=lambda item: item[1]),
        "centre_kinds": [(kind.value, labels.CENTRE_KIND[kind]) for kind in CentreKind],
        "actor_kinds": [(kind.value, labels.ACTOR[kind.value]) for kind in ActorKind],
    }


def _measures(row: Any, state: FormState) -> list[tuple[str, str]]:
    """The known measures by German name, and any other one the partner has or the form
    sent (by its code: a local catalog may name measures of its own)."""
    known = sorted(labels.MEASURE.items(), key=lambda item: item[1])
    others = set(getattr(row, "measures", None) or []) | set(
        (state.values or {}).get("measures", [])
    )
    return known + [(code, code) for code in sorted(others - labels.MEASURE.keys())]


def _form_page(
    request: Request,
    session: Session,
    section: Section,
    row: Any,
    forms: dict[str, FormState],
    status_code: int = 200,
    done: str | None = None,
) -> Response:
    form = forms.get("edit") or FormState()
    context = {
        "section": section,
        "row": row,
        "form": form,
        "active_form": forms.get(ACTIVE_FORM) or FormState(),
        "measures": _measures(row, form),
        "done": done,
        **_choices(session),
    }
    return render(request, f"verwaltung/{section.kind}_form.html", context, status_code)


def _refused(form: Form, error: Exception, which: str = "edit") -> tuple[FormState, int]:
    """The form as sent with its errors next to the inputs. A 409 here is about the entry
    (its id taken, its kind in use), not a page gone stale: said on the field, no reload.
    The switch has no input to put a message next to: its message is the form's."""
    if isinstance(error, ValidationError):
        errors = errors_of_validation(error)
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
    else:
        assert isinstance(error, HTTPException)
        errors, code = errors_of_http(error), error.status_code
    if which == ACTIVE_FORM:
        errors = {GENERAL: " ".join(errors.values())}
    return FormState.submitted(form, on_inputs(errors)), code


def _install(section: Section) -> None:
    """The five routes of one section."""
    name = f"ui.admin.{section.kind}"

    def list_page(
        request: Request, user: AdminUser, session: SessionDep, erledigt: Done = ""
    ) -> Response:
        context = {
            "section": section,
            "rows": section.rows(session),
            "names": _municipality_names(session),
            "done": DONE.get(erledigt),
        }
        return render(request, f"verwaltung/{section.kind}_list.html", context)

    def new_page(request: Request, user: AdminUser, session: SessionDep) -> Response:
        if refusal := flash.take(request):
            forms = {"edit": refusal.state}
            return _form_page(request, session, section, None, forms, refusal.status)
        return _form_page(request, session, section, None, {})

    def create(request: Request, user: AdminUser, session: SessionDep, form: Form) -> Response:
        try:
            body = section.new_model.model_validate(payload(form, section.new_fields))
            section.create(session, user.username, body)
        except (ValidationError, HTTPException) as error:
            if isinstance(error, HTTPException) and refusal_passes_through(error):
                raise
            state, code = _refused(form, error)
            page = f"{section.base}/neu"
            if moved := flash.refused(request, page, "edit", state, code):
                return moved
            return _form_page(request, session, section, None, {"edit": state}, code)
        return redirect(f"{section.base}?erledigt=angelegt")

    def edit_page(
        request: Request, user: AdminUser, session: SessionDep, key: Key, erledigt: Done = ""
    ) -> Response:
        row = _row(session, section, key)
        if refusal := flash.take(request):
            forms = {refusal.form: refusal.state}
            return _form_page(request, session, section, row, forms, refusal.status)
        return _form_page(request, session, section, row, {}, done=DONE.get(erledigt))

    def change(
        request: Request, user: AdminUser, session: SessionDep, key: Key, form: Form
    ) -> Response:
        return _write(request, session, user.username, section, key, form, "edit")

    def activate(
        request: Request, user: AdminUser, session: SessionDep, key: Key, form: Form
    ) -> Response:
        return _write(request, session, user.username, section, key, form, ACTIVE_FORM)

    add = router.add_api_route
    add(section.base, list_page, methods=["GET"], name=f"{name}.list")
    add(f"{section.base}/neu", new_page, methods=["GET"], name=f"{name}.new")
    add(f"{section.base}/neu", create, methods=["POST"], name=f"{name}.create")
    add(f"{section.base}/{{key}}/bearbeiten", edit_page, methods=["GET"], name=f"{name}.edit")
    add(f"{section.base}/{{key}}/bearbeiten", change, methods=["POST"], name=f"{name}.change")
    add(f"{section.base}/{{key}}/aktiv", activate, methods=["POST"], name=f"{name}.active")


def _municipality_names(session: Session) -> dict[str, str]:
    """Municipality ids -> names, for the lists of centres and partners."""
    return {m.id: m.name for m in admin_reads.municipalities(session)}


def _row(session: Session, section: Section, key: str) -> Any:
    row = section.row(session, key) if is_slug(key) else None
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    return row


def _write(
    request: Request,
    session: Session,
    admin: str,
    section: Section,
    key: str,
    form: Form,
    which: str,
) -> Response:
    """Save the edit form (`which="edit"`) or the active switch; back to the entry's page."""
    row = _row(session, section, key)
    if which == ACTIVE_FORM:
        values: dict[str, Any] = {"active": text(form, "active")}
    else:
        values = payload(form, section.change_fields)
    try:
        body = section.change_model.model_validate(values)
        saved = section.edit(session, admin, key, body)
    except (ValidationError, HTTPException) as error:
        if isinstance(error, HTTPException) and refusal_passes_through(error):
            raise
        state, code = _refused(form, error, which)
        if moved := flash.refused(request, section.page(key), which, state, code):
            return moved
        return _form_page(request, session, section, row, {which: state}, code)
    if which == ACTIVE_FORM:
        done = "reaktiviert" if saved.active else "deaktiviert"
    else:
        done = "gespeichert"
    return redirect(f"{section.page(key)}?erledigt={done}")


for _section in SECTIONS:
    _install(_section)
