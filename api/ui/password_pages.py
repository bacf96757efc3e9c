"""„Neues Passwort festlegen": every logged-in user changes her own password here, and an
account whose password an administrator reset is sent here by every other page until it has
chosen one (api/ui/session.py `PasswordChangeRequired`).

The same change as `POST /me/password` (api/password_change.py: the current password checked
like a login, behind its throttle; audited). No password ever goes back into the page or into
the refused form's cookie: a refusal shows only the messages.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from api.deps import SessionDep, client_address
from api.password_change import password_change
from api.ui import flash
from api.ui.auth_pages import HOME
from api.ui.forms import FormState, errors_of_validation
from api.ui.session import (
    PASSWORD_PAGE,
    Form,
    PageAccount,
    ensure_csrf_cookie,
    rotate_csrf,
    services_of,
    start_session,
)
from api.ui.web import PageRoute, redirect, render
from domain.passwords import MAX_LENGTH, NewPassword

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FORM = "passwort"
MISMATCH = "Die beiden neuen Passwörter stimmen nicht überein."
DONE = "Ihr neues Passwort gilt ab sofort."


class PasswordForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    current_password: Annotated[SecretStr, Field(min_length=1, max_length=MAX_LENGTH)]
    new_password: NewPassword
    new_password_repeat: Annotated[SecretStr, Field(min_length=1, max_length=MAX_LENGTH)]


@router.get(PASSWORD_PAGE, name="ui.password")
def password_page(
    request: Request,
    user: PageAccount,
    erledigt: Annotated[str, Query(max_length=5)] = "",
) -> Response:
    state, status_code = FormState(), 200
    if refusal := flash.take(request):
        state, status_code = refusal.state, refusal.status
    context = {
        "form": state,
        "forced": user.must_change_password,
        "done": DONE if erledigt == "1" and not user.must_change_password else "",
        "home": HOME.get(user.role, "/"),
    }
    return render(request, "account/password.html", context, status_code)


def _refused(request: Request, errors: dict[str, str], status_code: int) -> Response:
    # Only the messages: what was typed into a password field is never shown again.
    state = FormState(values={}, errors=errors)
    if moved := flash.refused(request, PASSWORD_PAGE, FORM, state, status_code):
        return moved
    context = {"form": state, "forced": True, "done": "", "home": "/"}
    return render(request, "account/password.html", context, status_code)


@router.post(PASSWORD_PAGE, name="ui.password_post")
async def change_password(
    request: Request, user: PageAccount, session: SessionDep, form: Form
) -> Response:
    fields = {name: form.get(name) or "" for name in PasswordForm.model_fields}
    try:
        sent = PasswordForm.model_validate(fields)
    except ValidationError as error:
        return _refused(request, errors_of_validation(error), 422)
    if sent.new_password.get_secret_value() != sent.new_password_repeat.get_secret_value():
        return _refused(request, {"new_password_repeat": MISMATCH}, 422)
    refusal = await password_change(
        services_of(request),
        session,
        user,
        client_address(request),
        sent.current_password,
        sent.new_password,
    )
    if refusal is not None:
        return _refused(request, {refusal.field: refusal.message}, 422)
    response = redirect(f"{PASSWORD_PAGE}?erledigt=1")
    # Sessions from before the change end (other browsers too): this one starts anew, with a
    # fresh CSRF cookie as after a login.
    start_session(request, response, user.username)
    rotate_csrf(request)
    ensure_csrf_cookie(request, response)
    return response
