"""A real OpenID Connect provider for the sign-in tests, in the test process: pyop (the
provider's protocol: discovery, authorization with PKCE, code exchange with client
authentication, RS256 ID tokens, JWKS) behind a small Starlette app, served by uvicorn on
127.0.0.1 in a thread of its own. Lotse's relying party (api/oidc.py) talks to it over HTTP as
it would to the municipality's provider; nothing of Authlib is replaced.

The provider's own sign-in page stands in for the municipality's login: `/authorize` shows a
form naming the request's ticket, and posting it with a user (`approve`) or without
(`deny`, error=access_denied) sends the browser back to Lotse. Each user has a fixed subject
(`sub`) and the groups the test gives her (`IdentityProvider.groups`), sent as the ID token's
`groups` claim.

Used by tests/api/test_oidc_login.py and tests/ui/test_oidc_browser.py; not a test module.
"""

import base64
import contextlib
import html
import json
import re
import secrets
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import trustme
import uvicorn
from Cryptodome.PublicKey import RSA
from joserfc import jwt
from joserfc.jwk import RSAKey
from jwkest.jwk import RSAKey as JwkestKey
from pyop.authz_state import AuthorizationState
from pyop.exceptions import InvalidAuthenticationRequest, OAuthError
from pyop.provider import Provider
from pyop.subject_identifier import HashBasedSubjectIdentifierFactory
from pyop.userinfo import Userinfo
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.routing import Route

from tests.process_harness import free_port

CLIENT_ID = "lotse-test"
CLIENT_SECRET = "test-client-secret-" + "y" * 24
TICKET = re.compile(r'name="ticket" value="([^"]+)"')


@dataclass
class IdentityProvider:
    """The running provider: its issuer URL, the CA of its certificate (a PEM file), its users
    (user id -> subject) and their groups."""

    issuer: str
    ca_file: Path
    subjects: dict[str, str]
    signing_pem: bytes
    kid: str
    groups: dict[str, list[str]] = field(default_factory=dict)
    tickets: dict[str, Any] = field(default_factory=dict)
    # A provider gone wrong (or an attacker in its place): the ID token's claims changed
    # before it is signed again, or signed by a key the JWKS does not hold (`forged`).
    tamper: dict[str, Any] = field(default_factory=dict)
    forged: bool = False

    def id_token(self, original: str) -> str:
        """The ID token as this provider hands it out (see `tamper`, `forged`)."""
        if not self.tamper and not self.forged:
            return original
        payload = original.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims.update(self.tamper)
        key = (
            RSAKey.generate_key(2048, parameters={"kid": self.kid})
            if self.forged
            else RSAKey.import_key(self.signing_pem, parameters={"kid": self.kid})
        )
        return jwt.encode({"alg": "RS256", "kid": self.kid}, claims, key)

    def settings(self) -> dict[str, Any]:
        """Lotse's settings for this provider."""
        return {
            "oidc_issuer": self.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            "oidc_ca_file": self.ca_file,
        }

    def client(self) -> httpx.AsyncClient:
        """The browser at the provider: trusts its CA, follows no redirect."""
        return httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(self.ca_file)))


def _provider(idp: IdentityProvider, redirect_uris: list[str], users: dict[str, str]) -> Provider:
    issuer = idp.issuer
    key = JwkestKey(key=RSA.import_key(idp.signing_pem), alg="RS256", kid=idp.kid)
    configuration = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid"],
    }
    clients = {
        CLIENT_ID: {
            "client_secret": CLIENT_SECRET,
            "redirect_uris": redirect_uris,
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
        }
    }
    state = AuthorizationState(HashBasedSubjectIdentifierFactory(secrets.token_hex(8)))
    userinfo = Userinfo({user: {"sub": subject} for user, subject in users.items()})
    return Provider(key, configuration, state, clients, userinfo)


def _app(idp: IdentityProvider, provider: Provider) -> Starlette:
    async def discovery(request: Request) -> JSONResponse:
        return JSONResponse(provider.provider_configuration.to_dict())

    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse(provider.jwks)

    async def authorize(request: Request) -> HTMLResponse | PlainTextResponse:
        try:
            parsed = provider.parse_authentication_request(request.url.query)
        except InvalidAuthenticationRequest as error:
            return PlainTextResponse(str(error), status_code=400)
        # PKCE is what the tests rely on Lotse sending: without it, refuse like a strict IdP.
        if parsed.get("code_challenge_method") != "S256" or "nonce" not in parsed:
            return PlainTextResponse("PKCE S256 and a nonce required", status_code=400)
        ticket = secrets.token_urlsafe(16)
        idp.tickets[ticket] = parsed
        page = (
            '<!doctype html><html lang="de"><title>Anmeldedienst der Kommune</title>'
            '<form method="post" action="/login">'
            f'<input type="hidden" name="ticket" value="{html.escape(ticket)}">'
            '<label>Benutzer <input name="user"></label>'
            '<button name="action" value="approve">Anmelden</button>'
            '<button name="action" value="deny">Ablehnen</button></form>'
        )
        return HTMLResponse(page)

    async def login(request: Request) -> RedirectResponse | PlainTextResponse:
        form = await request.form()
        parsed = idp.tickets.pop(str(form.get("ticket", "")), None)
        user = str(form.get("user", ""))
        if parsed is None:
            return PlainTextResponse("unknown ticket", status_code=400)
        if form.get("action") == "deny":
            query = urlencode({"error": "access_denied", "state": parsed["state"]})
            return RedirectResponse(f"{parsed['redirect_uri']}?{query}", status_code=302)
        if user not in idp.subjects:
            return PlainTextResponse("unknown user", status_code=400)
        answer = provider.authorize(parsed, user)
        return RedirectResponse(answer.request(parsed["redirect_uri"], False), status_code=302)

    def groups(user: str, client_id: str) -> dict[str, list[str]]:
        return {"groups": list(idp.groups.get(user, []))}

    async def token(request: Request) -> JSONResponse:
        body = (await request.body()).decode()
        headers = {"Authorization": request.headers.get("authorization", "")}
        try:
            # The groups as they are at the exchange, like a provider reading its directory.
            answer = provider.handle_token_request(body, headers, extra_id_token_claims=groups)
        except OAuthError as error:
            return JSONResponse({"error": error.oauth_error}, status_code=400)
        body = answer.to_dict()
        body["id_token"] = idp.id_token(body["id_token"])
        return JSONResponse(body)

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
            Route("/authorize", authorize),
            Route("/login", login, methods=["POST"]),
            Route("/token", token, methods=["POST"]),
        ]
    )


@contextlib.contextmanager
def identity_provider(
    redirect_uris: list[str], users: dict[str, str], directory: Path
) -> Iterator[IdentityProvider]:
    """The provider on https://127.0.0.1:<port> for the block (an issuer must be https; its
    certificate from a CA of its own, written to `directory`), admitting `redirect_uris` of
    the one client (CLIENT_ID); `users`: user id -> subject."""
    port = free_port()
    issuer = f"https://127.0.0.1:{port}"
    ca = trustme.CA()
    ca_file, key_and_cert = directory / "idp-ca.pem", directory / "idp-server.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(key_and_cert))
    idp = IdentityProvider(
        issuer=issuer,
        ca_file=ca_file,
        subjects=dict(users),
        signing_pem=RSA.generate(2048).export_key(),
        kid=secrets.token_hex(4),
    )
    app = _app(idp, _provider(idp, redirect_uris, users))
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        ssl_certfile=str(key_and_cert),
        ssl_keyfile=str(key_and_cert),
    )
    server = uvicorn.Server(config)
    # Its own thread and event loop: the tests' loop may block on the app that calls it.
    thread = threading.Thread(target=server.run, name="oidc-provider", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test provider did not start"
        time.sleep(0.02)
    try:
        yield idp
    finally:
        server.should_exit = True
        thread.join(timeout=10)
