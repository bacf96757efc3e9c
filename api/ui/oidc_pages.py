"""The two pages of the sign-in with the municipality's identity provider (api/oidc.py):
`/login/oidc` sends the browser there, `/login/oidc/callback` takes its answer and starts the
same web session a password login starts (api/ui/session.py).

- The start makes a state, a nonce and a PKCE verifier, keeps them in the store
  (store/oidc.py) under the state's hash together with the hash of a random cookie set on this
  browser (`lotse_oidc`), and redirects. The callback takes that row away: a state is good
  once, only in the browser that started it (another site cannot finish a sign-in in a
  victim's browser), and for ten minutes.
- Every query value of the callback is checked for its shape before anything is looked up; a
  refusal is a German page with a 4xx status that names the field, never a 5xx (only a
  provider that does not answer is a 503).
- The account is the one an administrator linked to the identity (api/routes/admin_oidc.py).
  An unknown identity gets no access: the page shows its subject, which the person gives the
  administrator; the log and the audit entry (`login.oidc_unknown`) hold nothing of it. A
  deactivated account, or one whose role and scope the token's claim does not grant, is
  refused (`login.oidc_refused`). A sign-in is `auth.login`, as with a password.
"""

import re
import secrets
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.login import NOBODY, record_login
from api.oidc import Identity, ProviderUnreachable, RelyingParty, SignInNotConfirmed
from api.ui.auth_pages import HOME
from api.ui.session import ensure_csrf_cookie, rotate_csrf, services_of, start_session, ui_config
from api.ui.web import PageRoute, redirect, render
from store import audit
from store.models import User
from store.oidc import PENDING_LIFETIME, Pending, add_pending, linked_username, take_pending
from store.reads.scope import active_account

router = APIRouter(route_class=PageRoute, include_in_schema=False)

BROWSER_COOKIE = "lotse_oidc"
COOKIE_PATH = "/login/oidc"

# The shapes of the callback's values (RFC 6749 4.1.2: state and code are the provider's
# printable ASCII; ours is token_urlsafe).
_SHAPES = {
    "state": re.compile(r"[A-Za-z0-9_-]{16,128}"),
    "code": re.compile(r"[\x21-\x7e]{1,2048}"),
    "error": re.compile(r"[a-z_]{1,64}"),
}
_FIELD_NAMES = {"state": "state (Sitzungskennung)", "code": "code (Anmeldecode)"}

NOT_CONFIGURED = "Die Anmeldung mit dem Konto der Kommune ist für Lotse nicht eingerichtet."
UNREACHABLE = (
    "Der Anmeldedienst der Kommune ist gerade nicht erreichbar. Bitte versuchen Sie es gleich "
    "noch einmal oder melden Sie sich mit Benutzername und Passwort an."
)
NO_PENDING = (
    "Diese Anmeldung ist abgelaufen, wurde schon verwendet oder wurde in einem anderen Browser "
    "begonnen. Bitte melden Sie sich noch einmal an."
)
CANCELLED = "Die Anmeldung wurde beim Anmeldedienst der Kommune abgebrochen oder abgelehnt."
NOT_CONFIRMED = (
    "Der Anmeldedienst der Kommune hat die Anmeldung nicht bestätigt. Bitte melden Sie sich "
    "noch einmal an."
)
UNKNOWN = (
    "Ihr Konto beim Anmeldedienst der Kommune ist mit keinem Konto in Lotse verknüpft. Die "
    "Administration kann es verknüpfen oder ein Konto für Sie anlegen."
)
INACTIVE = "Ihr Konto in Lotse ist deaktiviert. Bitte wenden Sie sich an die Administration."
NOT_GRANTED = (
    "Ihre Gruppe beim Anmeldedienst der Kommune berechtigt nicht zur Rolle Ihres Kontos in "
    "Lotse. Bitte wenden Sie sich an die Administration."
)


def install(app: FastAPI) -> None:
    """The relying party of the settings (None: no provider configured, no button), and the
    pages. After `api.ui.install` (the session's configuration)."""
    app.state.oidc = RelyingParty.of_settings(app.state.services.settings)
    app.include_router(router)


def _party(request: Request) -> RelyingParty | None:
    party: RelyingParty | None = request.app.state.oidc
    return party


def _refused(request: Request, status_code: int, message: str, subject: str = "") -> HTMLResponse:
    page = render(
        request, "oidc_refused.html", {"message": message, "subject": subject}, status_code
    )
    # The sign-in is over either way: its cookie goes.
    page.delete_cookie(BROWSER_COOKIE, path=COOKIE_PATH)
    return page


def _safe_next(target: str) -> str:
    """Only a path of this site (see api/ui/auth_pages.py), and not the sign-in itself."""
    if (
        target.startswith("/")
        and not target.startswith(("//", "/login"))
        and "\\" not in target
        and all(" " < char < "\x7f" for char in target)
        and len(target) <= 500
    ):
        return target
    return ""


@router.get("/login/oidc", name="ui.oidc_start")
async def start(request: Request, weiter: str = "") -> Response:
    party = _party(request)
    if party is None:
        return _refused(request, status.HTTP_404_NOT_FOUND, NOT_CONFIGURED)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier, browser = secrets.token_urlsafe(64), secrets.token_urlsafe(32)
    try:
        url = await party.authorization_url(state=state, nonce=nonce, code_verifier=verifier)
    except ProviderUnreachable:
        return _refused(request, status.HTTP_503_SERVICE_UNAVAILABLE, UNREACHABLE)

    def remember() -> None:
        with services_of(request).sessions() as session:
            add_pending(
                session,
                state=state,
                browser=browser,
                nonce=nonce,
                code_verifier=verifier,
                next_path=_safe_next(weiter),
                now=datetime.now(UTC),
            )

    await run_in_threadpool(remember)
    # 302, not 303: the provider's page is a plain GET either way.
    response = redirect(url)
    response.status_code = status.HTTP_302_FOUND
    # Lax: the provider's redirect back is a top-level GET, which carries it.
    response.set_cookie(
        BROWSER_COOKIE,
        browser,
        max_age=int(PENDING_LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=ui_config(request).secure_cookies,
    )
    return response


def _bad_field(request: Request, field: str) -> HTMLResponse:
    name = _FIELD_NAMES.get(field, field)
    message = f"Ungültige Antwort des Anmeldedienstes: Das Feld {name} fehlt oder ist ungültig."
    return _refused(request, status.HTTP_400_BAD_REQUEST, message)


def _shaped(request: Request) -> dict[str, str] | str:
    """The callback's state, code and error when each is absent or well-formed (and given at
    most once); otherwise the name of the first bad field."""
    values: dict[str, str] = {}
    for field, shape in _SHAPES.items():
        given = request.query_params.getlist(field)
        if len(given) > 1 or (given and not shape.fullmatch(given[0])):
            return field
        if given:
            values[field] = given[0]
    return values


@router.get("/login/oidc/callback", name="ui.oidc_callback")
async def callback(request: Request) -> Response:
    party = _party(request)
    if party is None:
        return _refused(request, status.HTTP_404_NOT_FOUND, NOT_CONFIGURED)
    engine = services_of(request).engine
    values = _shaped(request)
    if isinstance(values, str) or "state" not in values:
        await record_login(engine, None)
        return _bad_field(request, values if isinstance(values, str) else "state")
    browser = request.cookies.get(BROWSER_COOKIE, "")

    def take() -> Pending | None:
        with services_of(request).sessions() as session:
            return take_pending(
                session, state=values["state"], browser=browser, now=datetime.now(UTC)
            )

    pending = await run_in_threadpool(take)
    if pending is None:
        await record_login(engine, None)
        return _refused(request, status.HTTP_400_BAD_REQUEST, NO_PENDING)
    if "error" in values:
        # error_description is the provider's (or an attacker's) text: never shown.
        await record_login(engine, None)
        return _refused(request, status.HTTP_401_UNAUTHORIZED, CANCELLED)
    if "code" not in values:
        await record_login(engine, None)
        return _bad_field(request, "code")
    try:
        identity = await party.identity(
            code=values["code"],
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
        )
    except ProviderUnreachable:
        return _refused(request, status.HTTP_503_SERVICE_UNAVAILABLE, UNREACHABLE)
    except SignInNotConfirmed:
        await record_login(engine, None)
        return _refused(request, status.HTTP_400_BAD_REQUEST, NOT_CONFIRMED)
    return await _sign_in(request, party, identity, pending.next_path)


def _account(request: Request, identity: Identity) -> tuple[str | None, User | None]:
    """The linked username (None: unknown identity) and its account when active."""
    with services_of(request).sessions() as session:
        username = linked_username(session, identity.issuer, identity.subject)
        return username, _active(session, username)


def _active(session: Session, username: str | None) -> User | None:
    if username is None:
        return None
    user = active_account(session, username)
    if user is not None:
        session.expunge(user)
    return user


async def _sign_in(
    request: Request, party: RelyingParty, identity: Identity, next_path: str
) -> Response:
    engine = services_of(request).engine
    username, user = await run_in_threadpool(_account, request, identity)
    if username is None:
        await run_in_threadpool(audit.record, engine, NOBODY, "login.oidc_unknown", "login", NOBODY)
        return _refused(request, status.HTTP_403_FORBIDDEN, UNKNOWN, identity.subject)
    if user is None or not party.admits(identity, user):
        await run_in_threadpool(
            audit.record, engine, NOBODY, "login.oidc_refused", "account", username
        )
        message = INACTIVE if user is None else NOT_GRANTED
        return _refused(request, status.HTTP_403_FORBIDDEN, message)
    await record_login(engine, user)
    response = redirect(next_path or HOME.get(user.role, "/"))
    response.delete_cookie(BROWSER_COOKIE, path=COOKIE_PATH)
    start_session(request, response, user.username)
    # As after a password login: a token seen before the sign-in is worth nothing.
    rotate_csrf(request)
    ensure_csrf_cookie(request, response)
    return response
