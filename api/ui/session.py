"""The web session: a login cookie, the CSRF token of every form, and the logged-in user of a
page with the role and scope checks of the API.

- The session cookie holds a short signed token (the API's `TokenIssuer`, HS256) naming the
  account. Its key is derived from the API's signing key for this one purpose, so a session
  cookie is no bearer token for the API and a bearer token opens no page. The account (role,
  scope, active) is loaded from the store on every request, as the API does, so a deactivated
  account is locked out at once. httpOnly (no script reads it), SameSite=Lax (a link from an
  e-mail still opens the page; a form from another site is not sent with it), Secure when
  configured (always in production: behind TLS).
- CSRF: a random `lotse_csrf` cookie, and in every form a token that is an HMAC of that cookie
  and of the session cookie (signed double submit). Another site can neither read the cookie
  nor compute the token; the token also changes with each login.
- Who may see a page is the API's to say (api/deps.py): `require_role` for the role and
  `scoped_case` / `supervised_case` / `scoped_referral` / `supervised_referral` /
  `scoped_inbound_referral` for the object, called with the session's user. A page answers
  404 where the API answers 403 for a foreign role: a partner's session learns nothing about
  counsellor pages.
"""

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.deps import (
    NOT_FOUND,
    CasePath,
    CaseRef,
    ErasableCase,
    InboundPath,
    InboundRef,
    ReferralPath,
    ReferralRef,
    Services,
    SupervisedReferralRef,
    erasable_case,
    exportable_case,
    require_role,
    scoped_case,
    scoped_inbound_referral,
    scoped_referral,
    supervised_case,
    supervised_referral,
)
from api.security import InvalidToken, TokenIssuer, issued_before
from store.models import Role, User
from store.reads.notifications import unread_count
from store.reads.scope import active_account

SESSION_COOKIE = "lotse_session"
CSRF_COOKIE = "lotse_csrf"
CSRF_FIELD = "csrf_token"

CSRF_REFUSED = (
    "Sicherheitsprüfung fehlgeschlagen: Das Formular ist abgelaufen oder kam nicht von "
    "Lotse. Bitte die Seite neu laden und noch einmal senden."
)


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to the login."""


@dataclass(frozen=True)
class UiConfig:
    sessions: TokenIssuer
    csrf_key: bytes
    form_key: bytes  # the refused forms' cookie (api/ui/flash.py)
    secure_cookies: bool


def _derived(secret: str, purpose: str) -> str:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def make_config(services: Services, *, secure_cookies: bool, lifetime: timedelta) -> UiConfig:
    secret = services.tokens.secret
    return UiConfig(
        sessions=TokenIssuer(secret=_derived(secret, "lotse-ui-session"), lifetime=lifetime),
        csrf_key=_derived(secret, "lotse-ui-csrf").encode(),
        form_key=_derived(secret, "lotse-ui-form").encode(),
        secure_cookies=secure_cookies,
    )


def ui_config(request: Request) -> UiConfig:
    config: UiConfig = request.app.state.ui_config
    return config


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# --- CSRF ---------------------------------------------------------------------------------


def _csrf_cookie(request: Request) -> str:
    """The request's CSRF cookie, or a new one (set on the response by `ensure_csrf_cookie`)."""
    value = getattr(request.state, "csrf_cookie", None) or request.cookies.get(CSRF_COOKIE)
    if not value:
        value = secrets.token_urlsafe(32)
        request.state.csrf_cookie_new = value
    request.state.csrf_cookie = value
    return str(value)


def _session_value(request: Request) -> str:
    # Set by a login or logout in this request: the cookie the browser will send next.
    value = getattr(request.state, "session_cookie", None)
    if value is None:
        value = request.cookies.get(SESSION_COOKIE, "")
    return str(value)


def _expected(request: Request, cookie: str) -> str:
    session = hashlib.sha256(_session_value(request).encode()).hexdigest()
    message = f"{cookie}|{session}".encode()
    return hmac.new(ui_config(request).csrf_key, message, hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token the forms of this page carry."""
    return _expected(request, _csrf_cookie(request))


def ensure_csrf_cookie(request: Request, response: Response) -> None:
    new = getattr(request.state, "csrf_cookie_new", None)
    if new:
        _set_cookie(request, response, CSRF_COOKIE, str(new), max_age=None)


def rotate_csrf(request: Request) -> None:
    """A fresh CSRF cookie for the next pages (after login and logout)."""
    value = secrets.token_urlsafe(32)
    request.state.csrf_cookie = value
    request.state.csrf_cookie_new = value


def csrf_valid(request: Request, form: FormData) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = form.get(CSRF_FIELD)
    if not cookie or not isinstance(sent, str):
        return False
    return hmac.compare_digest(sent, _expected(request, cookie))


async def verified_form(request: Request) -> FormData:
    """The posted form, once its CSRF token is checked (403 otherwise)."""
    form = await request.form()
    if not csrf_valid(request, form):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=CSRF_REFUSED)
    return form


Form = Annotated[FormData, Depends(verified_form)]


# --- the session cookie -------------------------------------------------------------------


def _set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=ui_config(request).secure_cookies,
    )


def start_session(request: Request, response: Response, username: str) -> None:
    config = ui_config(request)
    token = config.sessions.issue(username)
    request.state.session_cookie = token
    lifetime = int(config.sessions.lifetime.total_seconds())
    _set_cookie(request, response, SESSION_COOKIE, token, max_age=lifetime)


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    request.state.session_cookie = ""


def _active_user(services: Services, username: str) -> tuple[User | None, int]:
    """The account and its unread notifications (the bell every page shows), in one session."""
    with services.sessions() as session:
        user = active_account(session, username)
        unread = unread_count(session, username) if user is not None else 0
        return user, unread


class PasswordChangeRequired(LoginRequired):
    """The session's account must set a new password first (an administrator reset it): the
    page answers with a redirect to „Neues Passwort festlegen“ (`PASSWORD_PAGE`)."""


PASSWORD_PAGE = "/passwort"


async def page_user(request: Request) -> User:
    """The account of the session cookie; `LoginRequired` when there is none (or it expired,
    or the account was deactivated), `PasswordChangeRequired` while it must set a new
    password."""
    user = await page_account(request)
    if user.must_change_password:
        raise PasswordChangeRequired()
    return user


async def page_account(request: Request) -> User:
    """`page_user`, also for an account that must set a new password (only the password page
    takes it so). A session from before the account's last password change or reset has
    ended (`LoginRequired`)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired()
    try:
        username, issued = ui_config(request).sessions.subject(token)
    except InvalidToken:
        raise LoginRequired() from None
    user, unread = await run_in_threadpool(_active_user, services_of(request), username)
    if user is None or issued_before(issued, user.password_changed_at):
        raise LoginRequired()
    request.state.ui_user = user
    request.state.ui_unread = unread
    return user


PageUser = Annotated[User, Depends(page_user)]
PageAccount = Annotated[User, Depends(page_account)]


def page_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """The API's `require_role(*roles)` for a page; 404 instead of 403 (see module docstring)."""
    check = require_role(*roles)

    async def role_user(user: PageUser) -> User:
        try:
            return check(user)
        except HTTPException as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND) from error

    return role_user


CounsellorUser = Annotated[User, Depends(page_role(Role.COUNSELLOR))]
PartnerUser = Annotated[User, Depends(page_role(Role.PARTNER))]
SupervisorUser = Annotated[User, Depends(page_role(Role.SUPERVISOR))]
AdminUser = Annotated[User, Depends(page_role(Role.ADMIN))]
# The evaluation („Auswertung"): the API's report readers. An evaluator has no other page.
ReportReaderUser = Annotated[User, Depends(page_role(Role.SUPERVISOR, Role.EVALUATOR))]
# Erasure and the client's copy (api/ui/data_protection_pages.py).
EraserUser = Annotated[User, Depends(page_role(Role.ADMIN, Role.DATA_PROTECTION))]
DataProtectionUser = Annotated[User, Depends(page_role(Role.DATA_PROTECTION))]
# A municipality's rules (api/ui/rules_pages.py): its rule editor and admins change them, its
# coordination reads them.
RuleReaderUser = Annotated[User, Depends(page_role(Role.ADMIN, Role.RULE_EDITOR, Role.SUPERVISOR))]
RuleEditorUser = Annotated[User, Depends(page_role(Role.ADMIN, Role.RULE_EDITOR))]


# --- objects in scope: the API's checks, with the session's user --------------------------


async def page_case(request: Request, case_id: CasePath, user: CounsellorUser) -> CaseRef:
    """A case of the counsellor's centre (`api.deps.scoped_case`); 404 otherwise."""
    return await scoped_case(request, case_id, user, services_of(request))


async def page_supervised_case(
    request: Request, case_id: CasePath, user: SupervisorUser
) -> CaseRef:
    """A case of the supervisor's municipality (`api.deps.supervised_case`); 404 otherwise."""
    return await supervised_case(request, case_id, user, services_of(request))


async def page_referral(
    request: Request, referral_id: ReferralPath, user: PartnerUser
) -> ReferralRef:
    """A referral sent to the partner's agency (`api.deps.scoped_referral`); 404 otherwise."""
    return await scoped_referral(request, referral_id, user, services_of(request))


async def page_supervised_referral(
    request: Request, referral_id: ReferralPath, user: SupervisorUser
) -> SupervisedReferralRef:
    """A referral of a case of the supervisor's municipality (`api.deps.supervised_referral`);
    404 otherwise."""
    return await supervised_referral(request, referral_id, user, services_of(request))


async def page_inbound_referral(
    request: Request, inbound_referral_id: InboundPath, user: CounsellorUser
) -> InboundRef:
    """A partner's referral to the counsellor's centre (`api.deps.scoped_inbound_referral`);
    404 otherwise."""
    return await scoped_inbound_referral(request, inbound_referral_id, user, services_of(request))


async def page_erasable_case(request: Request, case_id: CasePath, user: EraserUser) -> ErasableCase:
    """A case the administrator or data protection officer may erase (`api.deps.erasable_case`);
    404 otherwise."""
    return await erasable_case(request, case_id, user, services_of(request))


async def page_exportable_case(
    request: Request, case_id: CasePath, user: DataProtectionUser
) -> CaseRef:
    """A case of the data protection officer's municipality (`api.deps.exportable_case`); 404
    otherwise, 410 when erased."""
    return await exportable_case(request, case_id, user, services_of(request))


async def page_counsellor_export(
    request: Request, case_id: CasePath, user: CounsellorUser
) -> CaseRef:
    """A case of the counsellor's centre, for the client's copy (`api.deps.exportable_case`,
    audited as an export); 404 otherwise, 410 when erased."""
    return await exportable_case(request, case_id, user, services_of(request))


PageCase = Annotated[CaseRef, Depends(page_case)]
PageErasableCase = Annotated[ErasableCase, Depends(page_erasable_case)]
PageExportableCase = Annotated[CaseRef, Depends(page_exportable_case)]
PageCounsellorExport = Annotated[CaseRef, Depends(page_counsellor_export)]
PageSupervisedCase = Annotated[CaseRef, Depends(page_supervised_case)]
PageReferral = Annotated[ReferralRef, Depends(page_referral)]
PageSupervisedReferral = Annotated[SupervisedReferralRef, Depends(page_supervised_referral)]
PageInbound = Annotated[InboundRef, Depends(page_inbound_referral)]
