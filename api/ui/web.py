"""How a page is answered: the Jinja2 environment, `render`, the security headers every page
carries, and `PageRoute`, which turns every refusal on a page into an HTML answer.

The API answers errors as JSON (api/errors.py); a person in a browser must get a page in
German instead, also when a dependency refused (a scope check's 404, a missing login).
`PageRoute` wraps each page handler for that, so no handler needs a try/except of its own.
Nothing here decides who may see what: that is api/deps.py, reached through api/ui/session.py.
"""

import contextlib
import uuid
from collections.abc import Callable, Coroutine, Mapping
from datetime import date, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.ui import corrections, flash, formats, labels

# Kept importable from here for the views that format one date outside a template.
from api.ui.formats import german_date as german_date
from api.ui.formats import german_datetime as german_datetime
from api.ui.forms import field_id
from api.ui.session import (
    PASSWORD_PAGE,
    LoginRequired,
    PasswordChangeRequired,
    csrf_token,
    ensure_csrf_cookie,
    page_user,
)
from domain.months import GERMAN_TIME
from domain.stage_table import Action

# Only the app's own origin: no CDN, no inline script or style (htmx is configured not to
# inject its indicator style), no framing. Municipal networks are often closed off, and a
# page with personal data must not load anything from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# Pages show personal data: never kept by a browser or proxy cache.
PAGE_CACHE = "no-store"

ERROR_TEXTS = {
    400: "Die Anfrage war fehlerhaft.",
    403: "Diese Aktion ist nicht erlaubt.",
    404: "Was Sie aufrufen wollten, gibt es nicht, oder es ist für Ihr Konto nicht sichtbar.",
    405: "Diese Aktion ist hier nicht möglich.",
    413: "Die Eingabe ist zu groß.",
    429: "Gerade laufen zu viele Änderungen gleichzeitig; bitte gleich noch einmal versuchen.",
    503: "Der Prozessdienst ist gerade nicht erreichbar; bitte gleich noch einmal versuchen.",
}


_BARE_NOT_FOUND = "Nicht gefunden."


def iso_date(value: date | datetime | None) -> str:
    """A value for `<input type=date>`."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(GERMAN_TIME).date()
    return value.isoformat()


templates = Environment(
    loader=PackageLoader("api.ui", "templates"),
    autoescape=select_autoescape(["html"]),
    # A misspelt variable is an error in the tests, not an empty spot on a page.
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
formats.register(templates)
templates.filters["isodate"] = iso_date
templates.globals["labels"] = labels
templates.globals["corrections"] = corrections
# The stage table's actions by name, so a template never spells one as a string.
templates.globals["Action"] = Action
templates.globals["field_id"] = field_id
templates.globals["new_key"] = lambda: uuid.uuid4().hex


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(
    request: Request, template: str, context: Mapping[str, Any], status_code: int = 200
) -> HTMLResponse:
    """The page `template` with `context`, the logged-in user, the CSRF token for its forms
    and the security headers."""
    values = {
        "request": request,
        "user": getattr(request.state, "ui_user", None),
        # The bell's count, read with the session's account (api/ui/session.py page_user).
        "unread": getattr(request.state, "ui_unread", 0),
        "csrf_token": csrf_token(request),
        "path": request.url.path,
        **context,
    }
    response = HTMLResponse(templates.get_template(template).render(values), status_code)
    response.headers["Cache-Control"] = PAGE_CACHE
    ensure_csrf_cookie(request, response)
    flash.settle(request, response)
    secure(response)
    return response


def redirect(url: str) -> RedirectResponse:
    """303 See Other: after a form post the browser fetches the next page with GET, so a
    reload does not send the form again."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status_code: int, detail: Any = None) -> HTMLResponse:
    message = detail if isinstance(detail, str) and detail else None
    if isinstance(detail, dict) and isinstance(detail.get("detail"), str):
        message = detail["detail"]
    # Starlette's English default phrases ("Not Found") are said in German, and so is the
    # API's bare „Nicht gefunden.“ (the heading says that much already).
    if message is None or message in (_phrase(status_code), _BARE_NOT_FOUND):
        message = ERROR_TEXTS.get(status_code, "Das hat nicht geklappt.")
    return render(request, "error.html", {"status": status_code, "message": message}, status_code)


async def not_found_page(request: Request) -> Response:
    """The 404 page for an address no route answers (api/errors.py asks for it when a browser
    asks): with the ways on of the logged-in role, or the login."""
    # No session: the page offers the login instead of a start page.
    with contextlib.suppress(LoginRequired):
        await page_user(request)
    return secure(error_page(request, 404))


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return ""


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _to(request, f"/login?weiter={quote(target, safe='')}")


def _to(request: Request, url: str) -> Response:
    if request.headers.get("HX-Request"):
        # An htmx request would swap the login page into a part of the page.
        return secure(Response(status_code=204, headers={"HX-Redirect": url}))
    return redirect(url)


class PageRoute(APIRoute):
    """An API route whose refusals are pages: login redirect, 404/403/409/... as HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return secure(await handler(request))
            except PasswordChangeRequired:
                return _to(request, PASSWORD_PAGE)
            except LoginRequired:
                return login_redirect(request)
            except RequestValidationError:
                # Only path and query parameters are declared on pages (forms are parsed by
                # the handlers): a malformed one names no page that exists.
                return error_page(request, 404)
            except (HTTPException, StarletteHTTPException) as error:
                response = error_page(request, error.status_code, error.detail)
                for name, value in (error.headers or {}).items():
                    response.headers[name] = value
                return response

        return page_handler


class Assets(StaticFiles):
    """htmx, the stylesheet and the small script, with the page's security headers; cached for
    an hour (they change only with a new release)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return secure(response)
