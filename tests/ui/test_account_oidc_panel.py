"""The panel „Anmeldung über die Kommune“ on an account's page (/verwaltung/konten/{username},
api/ui/account_oidc.py) over HTTP, as a browser without script uses it: whether the account is
linked, linking it to the subject the refused person was shown, removing the link, a subject
that is another account's or hostile refused at the field in German with nothing written, the
audit entries (naming the account, never the subject), CSRF, other roles, and no panel at all
without a configured identity provider.

Linking never talks to the provider: the app has LOTSE_OIDC_ISSUER and its client set, and no
provider runs (tests/api/test_oidc_login.py signs in against a real one). On the seeded SQLite
store, without Temporal.
"""

import html
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.main import create_app
from store.oidc import OidcLink, set_link
from store.projections import AuditEvent
from store.seed import seed_demo
from store.testing import sqlite_store
from tests.api_harness import settings_for
from tests.key_harness import session_keys
from tests.ui_harness import Browser, csrf_of

ISSUER = "https://anmeldung.musterstadt.example"
PANEL = "Anmeldung über die Kommune"
FIELD = "Kennung beim Anmeldedienst"
ACTIONS = ("admin.user_oidc_link", "admin.user_oidc_unlink")


@dataclass
class World:
    app: FastAPI  # with an identity provider configured
    plain: FastAPI  # the same store, without one
    engine: Engine

    async def admin(self, app: FastAPI | None = None) -> Browser:
        return await signed_in(app or self.app, "admin")

    def link(self, username: str) -> OidcLink | None:
        with Session(self.engine) as session:
            return session.get(OidcLink, username)

    def entries(self) -> list[tuple[str, str, str]]:
        """The audit entries of links: (actor, action, object id), oldest first."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.action).in_(ACTIONS))
                .order_by(col(AuditEvent.id))
            )
            return [(row.actor, row.action, row.object_id) for row in rows]


@pytest.fixture
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("account-oidc")
    with sqlite_store(data_dir) as engine:
        seed_demo(engine, environment="development")
        keys = session_keys()
        oidc = {
            "oidc_issuer": ISSUER,
            "oidc_client_id": "lotse",
            "oidc_client_secret": SecretStr("geheim-" + "s" * 30),
        }
        app = create_app(
            settings_for(data_dir, "oidc-panel", "127.0.0.1:1", **oidc), engine=engine, keys=keys
        )
        plain = create_app(
            settings_for(data_dir, "oidc-panel", "127.0.0.1:1"), engine=engine, keys=keys
        )
        yield World(app, plain, engine)


async def signed_in(app: FastAPI, username: str) -> Browser:
    browser = Browser(app)
    answer = await browser.login(username)
    assert answer.status_code == 303, answer.text
    return browser


def page(username: str) -> str:
    return f"/verwaltung/konten/{username}"


def link_path(username: str) -> str:
    return f"{page(username)}/anmeldung-kommune"


def unlink_path(username: str) -> str:
    return f"{page(username)}/anmeldung-kommune/entfernen"


async def test_an_admin_links_an_account_and_removes_the_link(world: World) -> None:
    admin = await world.admin()
    shown = await admin.get(page("berater1"))
    assert shown.status_code == 200
    assert PANEL in shown.text and "Nicht verknüpft" in shown.text
    assert f'action="{link_path("berater1")}"' in shown.text
    assert unlink_path("berater1") not in shown.text  # nothing to remove yet

    # Blanks around the id, as copied from the sign-in page, are the copying's.
    done = await admin.submit(page("berater1"), link_path("berater1"), {"subject": " a1b2-anna "})
    assert done.status_code == 303
    assert done.headers["location"] == f"{page('berater1')}?erledigt=verknuepft"
    after = await admin.get(done.headers["location"])
    assert "Das Konto ist jetzt mit dem Konto der Kommune verknüpft." in after.text
    assert "<code>a1b2-anna</code>" in after.text and "Nicht verknüpft" not in after.text
    assert f'action="{unlink_path("berater1")}"' in after.text
    link = world.link("berater1")
    assert link is not None
    assert (link.issuer, link.subject, link.linked_by) == (ISSUER, "a1b2-anna", "admin")

    # Another subject replaces it (one identity per account).
    again = await admin.submit(page("berater1"), link_path("berater1"), {"subject": "b3-anna"})
    assert again.status_code == 303
    assert world.link("berater1").subject == "b3-anna"  # type: ignore[union-attr]

    removed = await admin.submit(page("berater1"), unlink_path("berater1"), {})
    assert removed.headers["location"] == f"{page('berater1')}?erledigt=entknuepft"
    after = await admin.get(removed.headers["location"])
    assert "Die Verknüpfung mit dem Konto der Kommune wurde entfernt." in after.text
    assert "Nicht verknüpft" in after.text and "b3-anna" not in after.text
    assert world.link("berater1") is None

    # Removing it twice changes nothing and records nothing.
    twice = await admin.submit(page("berater1"), unlink_path("berater1"), {})
    assert twice.headers["location"] == f"{page('berater1')}?erledigt=ohne-verknuepfung"
    # Each change is one entry naming the account, never the subject.
    assert world.entries() == [
        ("admin", "admin.user_oidc_link", "berater1"),
        ("admin", "admin.user_oidc_link", "berater1"),
        ("admin", "admin.user_oidc_unlink", "berater1"),
    ]


async def test_the_page_shows_what_the_api_set(world: World) -> None:
    with Session(world.engine) as session:
        set_link(session, "koordination", ISSUER, "k-123", "admin", datetime.now(UTC))
        session.commit()
    admin = await world.admin()
    shown = await admin.get(page("koordination"))
    assert "<code>k-123</code>" in shown.text and "von admin" in shown.text
    assert "anderen Anmeldedienst" not in shown.text


async def test_a_link_to_another_provider_is_said_to_sign_nobody_in(world: World) -> None:
    with Session(world.engine) as session:
        other = "https://alt.musterstadt.example"
        set_link(session, "koordination", other, "k-123", "admin", datetime.now(UTC))
        session.commit()
    shown = await (await world.admin()).get(page("koordination"))
    assert "<code>k-123</code>" in shown.text
    assert "gilt für einen anderen Anmeldedienst" in shown.text


async def test_a_subject_of_another_account_is_refused_at_the_field(world: World) -> None:
    admin = await world.admin()
    await admin.submit(page("berater1"), link_path("berater1"), {"subject": "a1b2-anna"})
    refused = await admin.submit(page("berater2"), link_path("berater2"), {"subject": "a1b2-anna"})
    assert refused.status_code == 422, refused.text[:300]
    [moved] = refused.history
    assert moved.headers["location"] == f"{page('berater2')}#anmeldung-kommune"
    assert f"{FIELD}: Schon mit einem anderen Konto verknüpft." in refused.text
    assert 'id="f-subject-error"' in refused.text and 'aria-invalid="true"' in refused.text
    assert 'value="a1b2-anna"' in refused.text  # the input is kept
    # Which account holds the identity is not said.
    assert "berater1" not in refused.text
    assert world.link("berater2") is None
    assert world.link("berater1").subject == "a1b2-anna"  # type: ignore[union-attr]
    assert world.entries() == [("admin", "admin.user_oidc_link", "berater1")]


_NOT_ASCII = "Erlaubt sind nur Buchstaben ohne Umlaute"
# An incompressible subject too long for the refused form's cookie: shown at the POST URL.
_DICE = random.Random(16)
_NOISE = "".join(chr(_DICE.randrange(0x4E00, 0x9FFF)) for _ in range(4000))
HOSTILE = [
    ("NUL", "abc\x00", _NOT_ASCII),
    ("escape", "abc\x1b[31m", _NOT_ASCII),
    ("line feed", "abc\ndef", _NOT_ASCII),
    ("bidi override", "abc\u202edef", _NOT_ASCII),
    ("umlaut", "änne", _NOT_ASCII),
    ("huge", "s" * 5000, "Zu lang, höchstens 255 Zeichen."),
    ("huge and incompressible", _NOISE, _NOT_ASCII),
    ("empty", "", "Bitte geben Sie die Kennung beim Anmeldedienst ein."),
    ("blanks only", "   ", "Bitte geben Sie die Kennung beim Anmeldedienst ein."),
]


@pytest.mark.parametrize(("label", "subject", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_a_hostile_subject_is_refused_in_german_naming_the_field(
    world: World, label: str, subject: str, words: str
) -> None:
    admin = await world.admin()
    refused = await admin.submit(page("auswertung"), link_path("auswertung"), {"subject": subject})
    assert refused.status_code == 422, (label, refused.text[:300])
    # Post/Redirect/Get, but for the one too large for the refused form's cookie.
    assert len(refused.history) == (0 if subject is _NOISE else 1), label
    assert words in refused.text, label
    assert FIELD in refused.text and "error-summary" in refused.text
    if subject.strip():
        # What was typed is shown again (escaped), so it can be corrected.
        assert f'value="{html.escape(subject.strip(), quote=True)}"' in refused.text, label
    assert world.link("auswertung") is None
    assert world.entries() == []


async def test_a_post_without_its_csrf_token_is_refused(world: World) -> None:
    with Session(world.engine) as session:
        set_link(session, "berater2", ISSUER, "b-2", "admin", datetime.now(UTC))
        session.commit()
    admin = await world.admin()
    await admin.get(page("berater1"))
    for path, data in (
        (link_path("berater1"), {"subject": "a1b2-anna"}),
        (unlink_path("berater2"), {}),
    ):
        for token in ({}, {"csrf_token": "falsch"}):
            answer = await admin.http.post(path, data={**data, **token})
            assert answer.status_code == 403, (path, token)
    assert world.link("berater1") is None and world.link("berater2") is not None
    assert world.entries() == []


@pytest.mark.parametrize(
    "username", ["berater1", "sprachkurs", "koordination", "auswertung", "datenschutz", "regelwerk"]
)
async def test_other_roles_get_404_and_change_nothing(world: World, username: str) -> None:
    other = await signed_in(world.app, username)
    token = csrf_of((await other.get("/passwort")).text)
    assert (await other.get(page("berater2"))).status_code == 404
    for path, data in (
        (link_path("berater2"), {"subject": "x-1"}),
        (unlink_path("berater2"), {}),
    ):
        answer = await other.http.post(path, data={**data, "csrf_token": token})
        assert answer.status_code == 404, (username, path)
    assert world.link("berater2") is None and world.entries() == []


async def test_a_missing_account_is_404(world: World) -> None:
    admin = await world.admin()
    token = csrf_of((await admin.get(page("admin"))).text)
    for path in (link_path("niemand"), unlink_path("niemand")):
        answer = await admin.http.post(path, data={"subject": "x-1", "csrf_token": token})
        assert answer.status_code == 404, path


async def test_without_an_identity_provider_the_panel_is_absent(world: World) -> None:
    with Session(world.engine) as session:
        set_link(session, "berater2", ISSUER, "b-2", "admin", datetime.now(UTC))
        session.commit()
    admin = await world.admin(world.plain)
    shown = await admin.get(page("berater2"))
    assert shown.status_code == 200 and "Konto berater2" in shown.text
    assert PANEL not in shown.text and "anmeldung-kommune" not in shown.text
    token = csrf_of(shown.text)
    for path in (link_path("berater1"), unlink_path("berater2")):
        answer = await admin.http.post(path, data={"subject": "x-1", "csrf_token": token})
        assert answer.status_code == 404, path
    assert world.link("berater1") is None and world.link("berater2") is not None
    assert world.entries() == []
