"""Sign-in with the municipality's identity provider (api/oidc.py, api/ui/oidc_pages.py,
api/routes/admin_oidc.py) against a real provider in the test process (tests/oidc_provider.py):
the web flow followed by hand, redirect by redirect, as a browser without script would.

The app runs on a seeded SQLite store without Temporal: the sign-in, the admin's links and the
pages checked afterwards read and write only the store.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.main import create_app
from api.ui.session import SESSION_COOKIE
from store.models import User
from store.oidc import OidcLink, OidcPendingLogin
from store.projections import AuditEvent
from store.seed import DEMO_PASSWORD, seed_demo
from store.testing import sqlite_store
from tests.api_harness import settings_for
from tests.key_harness import session_keys
from tests.oidc_provider import CLIENT_ID, TICKET, IdentityProvider, identity_provider
from tests.process_harness import free_port

LOTSE = "http://lotse.test"
CALLBACK = f"{LOTSE}/login/oidc/callback"
ROLE_MAP = {
    "lotse-beratung-mitte": {"role": "counsellor", "centre_id": "mbe-mitte"},
    "lotse-koordination": {"role": "supervisor", "municipality_id": "musterstadt"},
}
# The provider's users: user id -> subject (the provider's opaque id).
USERS = {
    "anna": "a1b2c3-anna",
    "bernd": "d4e5f6-bernd",
    "clara": "g7h8i9-clara",
    "fremd": "z9y8x7-fremd",
}


@dataclass
class World:
    idp: IdentityProvider
    app: FastAPI
    engine: Engine
    admin_token: str

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=LOTSE)

    async def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with self.browser() as http:
            headers = {"Authorization": f"Bearer {self.admin_token}"}
            return await http.request(method, path, headers=headers, **kwargs)

    async def link(self, username: str, user: str) -> None:
        answer = await self.admin(
            "PUT", f"/admin/users/{username}/oidc", json={"subject": USERS[user]}
        )
        assert answer.status_code == 200, answer.text

    def audit(self, action: str) -> list[AuditEvent]:
        with Session(self.engine) as session:
            rows = session.exec(select(AuditEvent).where(col(AuditEvent.action) == action))
            return list(rows)


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("oidc")
    with (
        identity_provider([CALLBACK], USERS, data_dir) as idp,
        sqlite_store(data_dir) as engine,
    ):
        seed_demo(engine, environment="development")
        settings = settings_for(
            data_dir,
            "oidc",
            "127.0.0.1:1",
            public_url=LOTSE,
            oidc_role_map=ROLE_MAP,
            **idp.settings(),
        )
        app = create_app(settings, engine=engine, keys=session_keys())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=LOTSE
        ) as http:
            answer = await http.post(
                "/auth/token", data={"username": "admin", "password": DEMO_PASSWORD}
            )
            assert answer.status_code == 200, answer.text
        yield World(idp, app, engine, answer.json()["access_token"])


async def to_provider(http: httpx.AsyncClient, idp: IdentityProvider) -> str:
    """Lotse's sign-in button: the provider's authorization URL it redirects to."""
    start = await http.get("/login/oidc")
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert location.startswith(f"{idp.issuer}/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["nonce"] and query["state"] and query["scope"] == ["openid"]
    return location


async def at_provider(
    idp: IdentityProvider, location: str, user: str, action: str = "approve"
) -> str:
    """The person at the provider's login: where the provider sends the browser back to."""
    async with idp.client() as outside:
        page = await outside.get(location)
        assert page.status_code == 200, page.text
        found = TICKET.search(page.text)
        assert found
        answer = await outside.post(
            location.split("/authorize")[0] + "/login",
            data={"ticket": found[1], "user": user, "action": action},
        )
    assert answer.status_code == 302, answer.text
    back = answer.headers["location"]
    assert back.startswith(f"{CALLBACK}?")
    return back


async def sign_in(world: World, http: httpx.AsyncClient, user: str) -> httpx.Response:
    """The whole flow; the callback's answer."""
    back = await at_provider(world.idp, await to_provider(http, world.idp), user)
    return await http.get(back)


def assert_refused(answer: httpx.Response, status: int, *words: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "Anmeldung nicht möglich" in answer.text
    for word in words:
        assert word in answer.text, word
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


async def test_the_login_page_offers_the_municipalitys_sign_in(world: World) -> None:
    async with world.browser() as http:
        page = await http.get("/login")
    assert page.status_code == 200
    assert "Mit dem Konto der Kommune anmelden" in page.text
    assert 'href="/login/oidc"' in page.text


async def test_without_an_issuer_there_is_no_button_and_no_sign_in(
    world: World, tmp_path: Path
) -> None:
    plain = create_app(
        settings_for(tmp_path, "plain", "127.0.0.1:1"), engine=world.engine, keys=session_keys()
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=plain), base_url=LOTSE) as http:
        page = await http.get("/login")
        assert page.status_code == 200
        assert "Konto der Kommune" not in page.text
        assert_refused(await http.get("/login/oidc"), 404, "nicht eingerichtet")
        assert_refused(await http.get("/login/oidc/callback?state=x"), 404, "nicht eingerichtet")


async def test_a_linked_counsellor_signs_in_with_her_centres_scope(world: World) -> None:
    await world.link("berater1", "anna")
    world.idp.groups["anna"] = ["lotse-beratung-mitte", "andere-gruppe"]
    before = len(world.audit("auth.login"))
    async with world.browser() as http:
        answer = await sign_in(world, http, "anna")
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/faelle"
        assert http.cookies.get(SESSION_COOKIE)
        cases = await http.get("/faelle")
        assert cases.status_code == 200, cases.text
        assert "Katrin Schulte" in cases.text or "berater1" in cases.text
        # The same session and scope as a password login: no supervisor's page.
        assert (await http.get("/aufsicht")).status_code == 404
    logins = world.audit("auth.login")
    assert len(logins) == before + 1 and logins[-1].actor == "berater1"


async def test_the_sign_in_returns_to_the_page_asked_for(world: World) -> None:
    await world.link("berater1", "anna")
    world.idp.groups["anna"] = ["lotse-beratung-mitte"]
    async with world.browser() as http:
        start = await http.get("/login/oidc", params={"weiter": "/faelle?wer=alle"})
        back = await at_provider(world.idp, start.headers["location"], "anna")
        answer = await http.get(back)
    assert answer.status_code == 303 and answer.headers["location"] == "/faelle?wer=alle"
    # Elsewhere is never a target: the start page of the role instead.
    async with world.browser() as http:
        start = await http.get("/login/oidc", params={"weiter": "//evil.example/x"})
        answer = await http.get(await at_provider(world.idp, start.headers["location"], "anna"))
    assert answer.headers["location"] == "/faelle"


async def test_an_unknown_subject_gets_no_access_and_its_id_for_the_admin(world: World) -> None:
    before = len(world.audit("login.oidc_unknown"))
    async with world.browser() as http:
        answer = await sign_in(world, http, "fremd")
        assert_refused(answer, 403, "mit keinem Konto in Lotse verknüpft", USERS["fremd"])
        assert (await http.get("/faelle")).status_code == 303  # to the login
    entries = world.audit("login.oidc_unknown")
    assert len(entries) == before + 1
    assert (entries[-1].actor, entries[-1].object_id) == ("-", "-")
    with Session(world.engine) as session:
        every = session.exec(select(AuditEvent)).all()
    assert not any(USERS["fremd"] in f"{row.actor}{row.object_id}" for row in every)


async def test_a_role_the_claim_does_not_grant_is_refused_until_the_group_is_given(
    world: World,
) -> None:
    await world.link("koordination", "bernd")
    world.idp.groups["bernd"] = ["lotse-beratung-mitte"]  # a counsellor's group
    async with world.browser() as http:
        assert_refused(await sign_in(world, http, "bernd"), 403, "berechtigt nicht")
    refused = world.audit("login.oidc_refused")
    assert refused and refused[-1].object_id == "koordination"
    world.idp.groups["bernd"] = []
    async with world.browser() as http:
        assert_refused(await sign_in(world, http, "bernd"), 403, "berechtigt nicht")
    world.idp.groups["bernd"] = ["lotse-koordination"]
    async with world.browser() as http:
        answer = await sign_in(world, http, "bernd")
        assert answer.status_code == 303 and answer.headers["location"] == "/aufsicht"
        assert (await http.get("/aufsicht")).status_code == 200
        assert (await http.get("/faelle")).status_code == 404


async def test_a_deactivated_linked_account_is_refused(world: World) -> None:
    await world.link("berater2", "clara")
    world.idp.groups["clara"] = ["lotse-beratung-mitte"]
    with Session(world.engine) as session:
        account = session.get(User, "berater2")
        assert account is not None
        account.active = False
        session.add(account)
        session.commit()
    try:
        async with world.browser() as http:
            assert_refused(await sign_in(world, http, "clara"), 403, "deaktiviert")
    finally:
        with Session(world.engine) as session:
            account = session.get(User, "berater2")
            assert account is not None
            account.active = True
            session.add(account)
            session.commit()


async def test_a_sign_in_cancelled_at_the_provider_is_refused(world: World) -> None:
    async with world.browser() as http:
        back = await at_provider(
            world.idp, await to_provider(http, world.idp), "anna", action="deny"
        )
        assert "error=access_denied" in back
        assert_refused(await http.get(back), 401, "abgebrochen oder abgelehnt")


async def test_a_state_works_once_and_only_in_the_browser_that_started_it(world: World) -> None:
    await world.link("berater1", "anna")
    world.idp.groups["anna"] = ["lotse-beratung-mitte"]
    async with world.browser() as http:
        back = await at_provider(world.idp, await to_provider(http, world.idp), "anna")
        async with world.browser() as other:
            # Another browser (an attacker's link in a victim's browser): no cookie, no sign-in.
            assert_refused(await other.get(back), 400, "anderen Browser")
        # ... and that attempt did not use the state up for its own browser.
        assert (await http.get(back)).status_code == 303
        # Replayed (the back button, or a copied URL): the state is gone.
        http.cookies.delete(SESSION_COOKIE)
        assert_refused(await http.get(back), 400, "schon verwendet")
    async with world.browser() as http:
        invented = "s" * 43
        assert_refused(await http.get(f"/login/oidc/callback?state={invented}&code=abc"), 400)


async def test_a_callback_without_code_is_refused_naming_the_field(world: World) -> None:
    async with world.browser() as http:
        location = await to_provider(http, world.idp)
        state = parse_qs(urlsplit(location).query)["state"][0]
        answer = await http.get("/login/oidc/callback", params={"state": state})
        assert_refused(answer, 400, "code (Anmeldecode)")


async def test_a_code_the_provider_never_issued_is_refused(world: World) -> None:
    async with world.browser() as http:
        location = await to_provider(http, world.idp)
        state = parse_qs(urlsplit(location).query)["state"][0]
        answer = await http.get("/login/oidc/callback", params={"state": state, "code": "erfunden"})
        assert_refused(answer, 400, "nicht bestätigt")


HOSTILE = [
    ("huge state", {"state": "s" * 60_000, "code": "abc"}, "state (Sitzungskennung)"),
    ("NUL in state", {"state": "a" * 30 + "\x00", "code": "abc"}, "state (Sitzungskennung)"),
    ("line feed in state", {"state": "a" * 30 + "\n", "code": "x"}, "state (Sitzungskennung)"),
    ("no state", {"code": "abc"}, "state (Sitzungskennung)"),
    ("two states", [("state", "a" * 30), ("state", "b" * 30)], "state (Sitzungskennung)"),
    ("huge code", {"state": "a" * 30, "code": "c" * 60_000}, "code (Anmeldecode)"),
    ("ESC in code", {"state": "a" * 30, "code": "ab\x1b[31m"}, "code (Anmeldecode)"),
    ("bidi in code", {"state": "a" * 30, "code": "ab\u202e"}, "code (Anmeldecode)"),
    ("markup in error", {"state": "a" * 30, "error": "<script>"}, "error"),
]


@pytest.mark.parametrize(("label", "params", "field"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_callback_values_are_refused_in_german_naming_the_field(
    world: World, label: str, params: Any, field: str
) -> None:
    with Session(world.engine) as session:
        pending = len(session.exec(select(OidcPendingLogin)).all())
    async with world.browser() as http:
        answer = await http.get("/login/oidc/callback", params=params)
        assert_refused(answer, 400, "Ungültige Antwort des Anmeldedienstes", field)
        assert "<script>" not in answer.text
    with Session(world.engine) as session:
        assert len(session.exec(select(OidcPendingLogin)).all()) == pending


async def test_an_admin_links_and_unlinks_an_account(world: World) -> None:
    await world.link("berater1", "anna")
    world.idp.groups["anna"] = ["lotse-beratung-mitte"]
    shown = await world.admin("GET", "/admin/users/berater1/oidc")
    assert shown.status_code == 200
    assert shown.json()["subject"] == USERS["anna"] and shown.json()["issuer"] == world.idp.issuer
    # The identity is berater1's: not a second account's.
    taken = await world.admin("PUT", "/admin/users/berater2/oidc", json={"subject": USERS["anna"]})
    assert taken.status_code == 409 and "subject" in taken.text
    assert (await world.admin("DELETE", "/admin/users/berater1/oidc")).status_code == 204
    assert (await world.admin("GET", "/admin/users/berater1/oidc")).status_code == 404
    # Unlinking twice changes nothing.
    assert (await world.admin("DELETE", "/admin/users/berater1/oidc")).status_code == 204
    async with world.browser() as http:
        assert_refused(await sign_in(world, http, "anna"), 403, USERS["anna"])
    links = world.audit("admin.user_oidc_link") + world.audit("admin.user_oidc_unlink")
    assert links and all(
        entry.object_id in ("berater1", "koordination", "berater2") for entry in links
    )
    assert not any(USERS["anna"] in entry.object_id for entry in links)
    unknown = await world.admin("PUT", "/admin/users/niemand/oidc", json={"subject": "x"})
    assert unknown.status_code == 404 and "gibt es nicht" in unknown.text


SUBJECTS = [
    ("NUL", "abc\x00"),
    ("line feed", "abc\ndef"),
    ("bidi", "abc\u202e"),
    ("non-ASCII", "änne"),
    ("huge", "s" * 256),
    ("empty", ""),
]


@pytest.mark.parametrize(("label", "subject"), SUBJECTS, ids=[s[0] for s in SUBJECTS])
async def test_a_hostile_subject_is_refused_naming_the_field(
    world: World, label: str, subject: str
) -> None:
    answer = await world.admin("PUT", "/admin/users/auswertung/oidc", json={"subject": subject})
    assert answer.status_code == 422, answer.text
    assert "subject" in answer.text
    with Session(world.engine) as session:
        assert session.get(OidcLink, "auswertung") is None


async def test_a_hostile_username_in_the_path_is_refused(world: World) -> None:
    for username in ("a\x00b", "x" * 300, "ab\u202ecd"):
        path = f"/admin/users/{quote(username, safe='')}/oidc"
        answer = await world.admin("PUT", path, json={"subject": "s"})
        assert answer.status_code == 422, answer.text
        assert "username" in answer.text, answer.text
    # A path of its own: no route of this one.
    answer = await world.admin("PUT", "/admin/users/..%2Fadmin/oidc", json={"subject": "s"})
    assert answer.status_code == 404


TAMPERED = [
    ("another nonce", {"nonce": "n" * 43}, False),
    ("another audience", {"aud": "ein-anderer-client"}, False),
    ("another audience naming Lotse its party", {"aud": "anderer", "azp": CLIENT_ID}, False),
    ("another issuer", {"iss": "https://anmeldung.example.org"}, False),
    ("expired", {"iat": 1_000_000_000, "exp": 1_000_000_600}, False),
    ("a subject with a NUL", {"sub": "anna\x00"}, False),
    ("signed by a key the JWKS does not hold", {}, True),
]


@pytest.mark.parametrize(("label", "claims", "forged"), TAMPERED, ids=[t[0] for t in TAMPERED])
async def test_an_id_token_that_fails_validation_signs_nobody_in(
    world: World, label: str, claims: dict[str, Any], forged: bool
) -> None:
    await world.link("berater1", "anna")
    world.idp.groups["anna"] = ["lotse-beratung-mitte"]
    failed = len(world.audit("auth.login_failed"))
    world.idp.tamper, world.idp.forged = claims, forged
    try:
        async with world.browser() as http:
            assert_refused(await sign_in(world, http, "anna"), 400, "nicht bestätigt")
            assert (await http.get("/faelle")).status_code == 303
    finally:
        world.idp.tamper, world.idp.forged = {}, False
    assert len(world.audit("auth.login_failed")) == failed + 1


async def test_a_sign_in_left_at_the_provider_too_long_has_expired(world: World) -> None:
    await world.link("berater1", "anna")
    world.idp.groups["anna"] = ["lotse-beratung-mitte"]
    async with world.browser() as http:
        back = await at_provider(world.idp, await to_provider(http, world.idp), "anna")
        with Session(world.engine) as session:
            for row in session.exec(select(OidcPendingLogin)).all():
                row.created_at = row.created_at - timedelta(minutes=11)
                session.add(row)
            session.commit()
        assert_refused(await http.get(back), 400, "abgelaufen")


async def test_a_provider_that_does_not_answer_is_said_in_german(
    world: World, tmp_path: Path
) -> None:
    settings = settings_for(
        tmp_path,
        "oidc-down",
        "127.0.0.1:1",
        public_url=LOTSE,
        **{**world.idp.settings(), "oidc_issuer": f"https://127.0.0.1:{free_port()}"},
    )
    down = create_app(settings, engine=world.engine, keys=session_keys())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url=LOTSE) as http:
        assert_refused(await http.get("/login/oidc"), 503, "nicht erreichbar")


async def test_a_hostile_return_path_leads_to_the_start_page(world: World) -> None:
    await world.link("berater1", "anna")
    world.idp.groups["anna"] = ["lotse-beratung-mitte"]
    for target in ("/faelle\x00", "/faelle?" + "q" * 600, "/faelle\n/x", "https://evil.example"):
        async with world.browser() as http:
            start = await http.get("/login/oidc", params={"weiter": target})
            answer = await http.get(await at_provider(world.idp, start.headers["location"], "anna"))
        assert answer.status_code == 303 and answer.headers["location"] == "/faelle", target
