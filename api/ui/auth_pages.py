"""Login, logout and the start page, which leads each role to its main page.

The login checks the password with the API's own `store.users.authenticate` (argon2, the same
time for unknown and wrong) behind the API's own throttle and bound on concurrent checks
(`api.login_throttle`), and answers a failure with the API's one sentence, so the page tells
no more about which accounts exist than `POST /auth/token` does.
"""

from collections.abc import Callable
from functools import partial

from fastapi import APIRouter, Request, Response, status

from api.deps import client_address
from api.errors import validation_errors
from api.login import LOGIN_FAILED, record_login, username_problems
from api.login_throttle import LoginRefused
from api.ui import directory_pages, flash
from api.ui.forms import GENERAL, FormState, text
from api.ui.session import (
    PASSWORD_PAGE,
    Form,
    PageUser,
    end_session,
    ensure_csrf_cookie,
    rotate_csrf,
    services_of,
    start_session,
)
from api.ui.web import PageRoute, redirect, render
from store.models import Role, User
from store.users import authenticate

router = APIRouter(route_class=PageRoute, include_in_schema=False)

HOME: dict[Role, str] = {
    Role.COUNSELLOR: "/faelle",
    Role.PARTNER: "/eingang",
    Role.SUPERVISOR: "/aufsicht",
    Role.EVALUATOR: "/auswertung",
    Role.DATA_PROTECTION: "/datenschutz",
    Role.RULE_EDITOR: "/verwaltung/regeln",
}


def _safe_next(target: str) -> str | None:
    """Only a path of this site: an open redirect to elsewhere would help phishing."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/", name="ui.home")
def home(request: Request, user: PageUser) -> Response:
    target = HOME.get(user.role)
    if target is None:
        # An administrator's start page is the overview of /verwaltung itself.
        return directory_pages.overview(request)
    return redirect(target)


@router.get("/login", name="ui.login")
def login_page(request: Request, weiter: str = "") -> Response:
    if refusal := flash.take(request):
        # A refused login (api/ui/flash.py): the name as typed, never the password.
        target = refusal.state.value("weiter") or weiter
        context = {"form": refusal.state, "next": target}
        return render(request, "login.html", context, refusal.status)
    return render(request, "login.html", {"form": FormState(), "next": weiter})


def _again(request: Request, state: FormState, status_code: int) -> Response:
    """The login again, by a 303 to its page; here when too large for the cookie."""
    if moved := flash.refused(request, "/login", "login", state, status_code):
        return moved
    context = {"form": state, "next": state.value("weiter")}
    return render(request, "login.html", context, status_code)


def _authenticate(request: Request, username: str, password: str) -> User | None:
    with services_of(request).sessions() as session:
        return authenticate(session, username, password)


def _no_account() -> None:
    return None


@router.post("/login", name="ui.login_post")
async def login(request: Request, form: Form) -> Response:
    username, password = text(form, "username"), form.get("password")
    target = text(form, "weiter")
    if username and (problems := username_problems(username)):
        # No account has such a name (control characters, a huge one): not looked up (on
        # PostgreSQL a NUL would fail the lookup itself), not echoed, said next to the field.
        message = validation_errors(problems)[0]["message"]
        state = FormState(
            values={"username": [""], "weiter": [target]}, errors={"username": message}
        )
        return _again(request, state, status.HTTP_422_UNPROCESSABLE_CONTENT)
    verify: Callable[[], User | None] = _no_account
    if username and isinstance(password, str) and password:
        verify = partial(_authenticate, request, username, password)
    try:
        # argon2 takes its time on purpose: off the event loop, a few at a time. An empty
        # field checks nothing but counts as a failure all the same.
        user = await services_of(request).logins.check(username, client_address(request), verify)
    except LoginRefused as refused:
        # "Try again later" keeps its status and Retry-After at the POST URL: a 303 would lose
        # the header, and nothing the person typed needs correcting.
        state = FormState(values={"username": [username]}, errors={GENERAL: refused.message})
        page = render(request, "login.html", {"form": state, "next": target}, refused.status_code)
        page.headers.update(refused.headers)
        return page
    await record_login(services_of(request).engine, user)
    if user is None:
        # The password is never sent back into the page.
        values = {"username": [username], "weiter": [target]}
        state = FormState(values=values, errors={GENERAL: LOGIN_FAILED})
        return _again(request, state, status.HTTP_401_UNAUTHORIZED)
    # After an administrator's reset the session reaches only „Neues Passwort festlegen“.
    home = PASSWORD_PAGE if user.must_change_password else HOME.get(user.role, "/")
    response = redirect(home if user.must_change_password else _safe_next(target) or home)
    start_session(request, response, user.username)
    # A new CSRF cookie with the new session: a token seen before the login is worth nothing.
    rotate_csrf(request)
    ensure_csrf_cookie(request, response)
    return response


@router.post("/logout", name="ui.logout")
def logout(request: Request, form: Form) -> Response:
    response = redirect("/login")
    end_session(request, response)
    rotate_csrf(request)
    ensure_csrf_cookie(request, response)
    return response
