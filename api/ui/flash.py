"""Post/Redirect/Get for refused forms: a refusal's values and errors go from the POST to the
GET page that shows them, so every form post answers 303 and Back never asks to resubmit.

The refused form travels in one short-lived cookie (`lotse_form`), not in the URL and not in
a server's memory: the API runs as several stateless replicas (deploy/k8s/api.yaml), and
what a person typed must not end up in access logs or the browser's history. The cookie is
encrypted and authenticated (Fernet, with a key derived from the API's signing key for this
one purpose), httpOnly, SameSite=Lax, lives ten minutes and is read once: the GET page that
shows the form deletes it. It is bound to the account that sent the form and to the page it
is meant for, so another login or another page never shows it.

A refusal too large for a cookie (a draft with dozens of long rows) is shown at the POST URL
as before (`refused` answers None): the values are never dropped.
"""

import base64
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from api.ui.forms import FormState
from api.ui.session import ui_config

COOKIE = "lotse_form"
LIFETIME_SECONDS = 600
# Browsers keep cookies up to 4,096 bytes with name and attributes; what is larger is shown
# at the POST URL instead.
MAX_TOKEN = 3_800
_TAKEN = "flash_taken"
_SECRET = frozenset({"password", "csrf_token"})


@dataclass(frozen=True)
class Refusal:
    """A form of the page as it was refused: which form, its values and errors, the status."""

    form: str
    state: FormState
    status: int


def _fernet(request: Request) -> Fernet:
    secret = ui_config(request).form_key
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest()))


def _account(request: Request) -> str:
    user = getattr(request.state, "ui_user", None)
    name = getattr(user, "username", "") or ""
    # A digest, not the name: the cookie says nothing even to whom can decrypt it.
    return hmac.new(ui_config(request).form_key, name.encode(), hashlib.sha256).hexdigest()[:32]


def refused(
    request: Request,
    page: str,
    form: str,
    state: FormState,
    status_code: int,
    anchor: str = "",
) -> Response | None:
    """303 to `page` (a path of this site, `#anchor` appended) carrying the refused form; None
    when it does not fit a cookie (the caller shows the form at the POST URL)."""
    content: dict[str, Any] = {
        "a": _account(request),
        "p": page,
        "f": form,
        # A password never leaves the request it came in (only the login has one).
        "v": {k: v for k, v in (state.values or {}).items() if k not in _SECRET},
        "e": state.errors,
        "s": status_code,
        "c": state.conflict,
    }
    packed = zlib.compress(json.dumps(content, ensure_ascii=False).encode(), 9)
    token = _fernet(request).encrypt(packed).decode()
    if len(token) > MAX_TOKEN:
        return None
    response = RedirectResponse(page + (f"#{anchor}" if anchor else ""), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=LIFETIME_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=ui_config(request).secure_cookies,
    )
    return response


def take(request: Request) -> Refusal | None:
    """The refused form meant for this page and account, once; None when there is none (or it
    expired, was altered, or belongs elsewhere). The page's answer deletes the cookie
    (`settle`)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    request.state.flash_taken = True
    try:
        packed = _fernet(request).decrypt(token.encode(), ttl=LIFETIME_SECONDS)
        content = json.loads(zlib.decompress(packed))
    except (InvalidToken, zlib.error, ValueError):
        return None
    if content.get("a") != _account(request) or content.get("p") != request.url.path:
        return None
    values = {str(k): [str(v) for v in vs] for k, vs in dict(content.get("v", {})).items()}
    errors = {str(k): str(v) for k, v in dict(content.get("e", {})).items()}
    state = FormState(values=values, errors=errors, conflict=bool(content.get("c")))
    return Refusal(str(content.get("f", "")), state, int(content.get("s", 200)))


def settle(request: Request, response: Response) -> None:
    """Delete the cookie once a page has read it (shown or not meant for it): read once."""
    if getattr(request.state, _TAKEN, False):
        response.delete_cookie(COOKIE, path="/")
