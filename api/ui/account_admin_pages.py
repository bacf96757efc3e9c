"""„Konten" (/verwaltung/konten): the administrators' pages for user accounts. The list
(username, name, role, scope by its name, active), a new account, an account's page with its
changes, deactivation and reactivation, a password reset, and, with a configured identity
provider, its link to the municipality's sign-in (api/ui/account_oidc.py).

The same work as `/admin/users` (api/accounts.py: the rules, the audit entries). A new
account and a reset get a temporary password made by Lotse, shown once on the next page:
it travels there in the refused forms' cookie (api/ui/flash.py: encrypted, httpOnly, bound to
the administrator and the page, read once, ten minutes), never in the URL; the account must
choose its own password at its first login.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from api import accounts, oidc_links
from api.accounts import SCOPE_FIELDS, UserIn, UsernamePath, UserPatch
from api.deps import NOT_FOUND, ROLE_LABELS, SessionDep
from api.ui import account_oidc, flash
from api.ui.forms import (
    FormState,
    errors_of_http,
    errors_of_validation,
    optional,
    text,
)
from api.ui.session import AdminUser, Form
from api.ui.web import PageRoute, redirect, render
from store.account_changes import require_new_password, temporary_password
from store.models import User
from store.reads import admin as admin_reads
from store.reads.account_scopes import ScopeNames, scope_names

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LIST = "/verwaltung/konten"
NEW = "/verwaltung/konten/neu"
TEMPORARY = "vorlaeufig"  # the flash "form" that carries a temporary password
DONE = {
    "angelegt": "Das Konto wurde angelegt.",
    "geaendert": "Die Änderungen wurden gespeichert.",
    "deaktiviert": "Das Konto wurde deaktiviert; es ist ab sofort abgemeldet.",
    "aktiviert": "Das Konto ist wieder aktiv.",
    "zurueckgesetzt": "Das Passwort wurde zurückgesetzt.",
    **account_oidc.DONE,
}
EDITED_FIELDS = ("role", *SCOPE_FIELDS, "display_name", "phone", "email")


def _page_of(username: str) -> str:
    return f"{LIST}/{username}"


def _done(erledigt: str) -> str:
    return DONE.get(erledigt, "")


@router.get(LIST, name="ui.admin.accounts")
def accounts_page(
    request: Request,
    user: AdminUser,
    session: SessionDep,
    erledigt: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    context = {
        "rows": admin_reads.accounts(session),
        "names": scope_names(session),
        "roles": ROLE_LABELS,
        "scope_fields": SCOPE_FIELDS,
        "done": _done(erledigt),
    }
    return render(request, "admin/accounts.html", context)


def _form_context(session: Session, state: FormState) -> dict[str, Any]:
    names = scope_names(session)
    return {"form": state, "names": names, "roles": ROLE_LABELS, "options": _options(names)}


def _options(names: ScopeNames) -> dict[str, list[tuple[str, str]]]:
    return {
        "centre_id": list(names.centres.items()),
        "partner_id": list(names.partners.items()),
        "municipality_id": list(names.municipalities.items()),
    }


@router.get(NEW, name="ui.admin.account_new")
def new_account_page(request: Request, user: AdminUser, session: SessionDep) -> Response:
    state, status_code = FormState(), 200
    if refusal := flash.take(request):
        state, status_code = refusal.state, refusal.status
    return render(request, "admin/account_new.html", _form_context(session, state), status_code)


def _refused(
    request: Request, page: str, name: str, state: FormState, here: Callable[[], Response]
) -> Response:
    """303 back to `page` with the refused form `name`; a form too large for the cookie (a
    field of thousands of characters that do not compress) is shown by `here`, at the POST
    URL, as typed."""
    moved = flash.refused(request, page, name, state, status.HTTP_422_UNPROCESSABLE_CONTENT)
    return moved if moved is not None else here()


def _scope(form: FormData) -> dict[str, str | None]:
    return {field: optional(form, field) for field in SCOPE_FIELDS}


def _with_temporary(request: Request, username: str, done: str, password: str) -> Response:
    """303 to the account's page, which shows the temporary password once (see the module
    docstring) and says what was `done`."""
    page = _page_of(username)
    state = FormState(values={"temporary_password": [password]})
    moved = flash.refused(request, page, TEMPORARY, state, status.HTTP_200_OK)
    assert moved is not None  # a few bytes: always fits the cookie
    moved.headers["location"] = f"{page}?erledigt={done}"
    return moved


@router.post(NEW, name="ui.admin.account_create")
def create_account(request: Request, user: AdminUser, session: SessionDep, form: Form) -> Response:
    password = temporary_password()
    fields = {
        "username": text(form, "username"),
        "password": password,
        "role": text(form, "role"),
        **_scope(form),
        **{name: text(form, name) for name in ("display_name", "phone", "email")},
    }
    if not fields["role"]:
        del fields["role"]  # not chosen: asked for as missing, not refused as unknown
    try:
        body = UserIn.model_validate(fields)
        created = accounts.create(session, user, body)
    except ValidationError as error:
        state = FormState.submitted(form, errors_of_validation(error))
    except HTTPException as error:
        state = FormState.submitted(form, errors_of_http(error))
    else:
        require_new_password(session, created.username)
        return _with_temporary(request, created.username, "angelegt", password)
    unprocessable = status.HTTP_422_UNPROCESSABLE_CONTENT

    def here() -> Response:
        context = _form_context(session, state)
        return render(request, "admin/account_new.html", context, unprocessable)

    return _refused(request, NEW, "konto", state, here)


def _account(session: Session, username: str) -> User:
    found = session.get(User, username.lower())
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    return found


@router.get(LIST + "/{username}", name="ui.admin.account")
def account_page(
    request: Request,
    user: AdminUser,
    session: SessionDep,
    username: UsernamePath,
    erledigt: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    account = _account(session, username)
    forms: dict[str, FormState] = {}
    status_code, temporary = 200, ""
    if refusal := flash.take(request):
        if refusal.form == TEMPORARY:
            temporary = refusal.state.value("temporary_password")
        elif refusal.form in ("konto", "aktiv", account_oidc.FORM):
            forms[refusal.form], status_code = refusal.state, refusal.status
    return _account_view(request, user, session, account, forms, status_code, temporary, erledigt)


def _account_view(
    request: Request,
    user: User,
    session: Session,
    account: User,
    forms: dict[str, FormState],
    status_code: int,
    temporary: str = "",
    erledigt: str = "",
) -> Response:
    """The account's page with its forms (fresh, or as refused where `forms` names one)."""
    context = _form_context(session, forms.get("konto", FormState())) | {
        "active_form": forms.get("aktiv", FormState()),
        "reset_form": FormState(),
        "oidc": account_oidc.panel(
            request, session, account.username, forms.get(account_oidc.FORM, FormState())
        ),
        "account": account,
        "temporary": temporary,
        "done": _done(erledigt),
        "is_self": account.username == user.username,
    }
    return render(request, "admin/account.html", context, status_code)


def _change(
    request: Request,
    user: User,
    session: Session,
    account: User,
    name: str,
    submitted: FormState,
    fields: dict[str, Any],
    done: str,
) -> Response:
    """Apply `fields` (a `UserPatch`) to the account; back to its page with what was done, or
    with the refused form `name` (as `submitted`) and its errors."""
    page = _page_of(account.username)
    try:
        body = UserPatch.model_validate(fields)
        accounts.apply_change(session, user, account.username, body)
    except ValidationError as error:
        submitted.errors = errors_of_validation(error)
    except HTTPException as error:
        if error.status_code == status.HTTP_404_NOT_FOUND:
            raise
        submitted.errors = errors_of_http(error)
    else:
        return redirect(f"{page}?erledigt={done}")
    unprocessable = status.HTTP_422_UNPROCESSABLE_CONTENT

    def here() -> Response:
        forms = {name: submitted}
        return _account_view(request, user, session, account, forms, unprocessable)

    return _refused(request, page, name, submitted, here)


@router.post(LIST + "/{username}", name="ui.admin.account_update")
def update_account(
    request: Request, user: AdminUser, session: SessionDep, form: Form, username: UsernamePath
) -> Response:
    account = _account(session, username)
    fields: dict[str, Any] = {
        "role": text(form, "role") or None,
        **_scope(form),
        **{name: text(form, name) for name in ("display_name", "phone", "email")},
    }
    submitted = FormState.submitted(form, {})
    return _change(request, user, session, account, "konto", submitted, fields, "geaendert")


@router.post(LIST + "/{username}/aktiv", name="ui.admin.account_active")
def set_active(
    request: Request, user: AdminUser, session: SessionDep, form: Form, username: UsernamePath
) -> Response:
    account = _account(session, username)
    wanted = form.get("active")
    if wanted not in ("ja", "nein"):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="Aktiv: Bitte wählen Sie „ja“ oder „nein“.",
        )
    active = wanted == "ja"
    done = "aktiviert" if active else "deaktiviert"
    # Only the messages go back: the toggle has no input to show again.
    submitted = FormState(values={})
    return _change(request, user, session, account, "aktiv", submitted, {"active": active}, done)


@router.post(LIST + "/{username}/passwort", name="ui.admin.account_password_reset")
def reset_password(
    request: Request, user: AdminUser, session: SessionDep, form: Form, username: UsernamePath
) -> Response:
    account = _account(session, username)
    password = accounts.reset(session, user, account.username)
    return _with_temporary(request, account.username, "zurueckgesetzt", password)


@router.post(LIST + "/{username}/anmeldung-kommune", name="ui.admin.account_oidc_link")
def link_oidc(
    request: Request, user: AdminUser, session: SessionDep, form: Form, username: UsernamePath
) -> Response:
    account = _account(session, username)
    issuer = account_oidc.required_issuer(request)
    refused = account_oidc.link(session, user.username, account.username, form, issuer)
    if refused is None:
        return redirect(f"{_page_of(account.username)}?erledigt=verknuepft")
    unprocessable = status.HTTP_422_UNPROCESSABLE_CONTENT
    page = _page_of(account.username)
    moved = flash.refused(
        request, page, account_oidc.FORM, refused, unprocessable, anchor=account_oidc.ANCHOR
    )
    if moved is None:
        # A refused subject too large for the cookie: the page shown here, as typed.
        forms = {account_oidc.FORM: refused}
        return _account_view(request, user, session, account, forms, unprocessable)
    return moved


@router.post(LIST + "/{username}/anmeldung-kommune/entfernen", name="ui.admin.account_oidc_unlink")
def unlink_oidc(
    request: Request, user: AdminUser, session: SessionDep, form: Form, username: UsernamePath
) -> Response:
    account = _account(session, username)
    account_oidc.required_issuer(request)
    removed = oidc_links.unlink(session, user.username, account.username)
    done = "entknuepft" if removed else "ohne-verknuepfung"
    return redirect(f"{_page_of(account.username)}?erledigt={done}")
