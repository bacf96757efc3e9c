"""The administrators' account pages (/verwaltung/konten) and „Neues Passwort festlegen"
(/passwort) over HTTP, as a browser without script uses them: the list in German, a new
account with its temporary password shown once, changes, deactivation (the account's session
ends at once), a reset forcing a new password at the next login, and every refusal in German
next to its field with nothing written. On the seeded store, without Temporal.
"""

import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from api.ui.session import SESSION_COOKIE
from store.models import User
from tests.api_harness import StoreOnly, store_only
from tests.ui_harness import Browser

TEMPORARY = re.compile(r"<code>([a-z0-9-]{19})</code>")


@pytest.fixture
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StoreOnly]:
    async with store_only("sqlite", tmp_path_factory.mktemp("account-pages")) as system:
        yield system


async def _browser(system: StoreOnly, username: str, password: str = "demo") -> Browser:
    browser = Browser(system.app)
    answer = await browser.login(username, password)
    assert answer.status_code == 303, answer.text
    return browser


def _row(system: StoreOnly, username: str) -> dict[str, Any] | None:
    with Session(system.engine) as session:
        user = session.get(User, username)
        return user.model_dump() if user is not None else None


async def test_the_list_names_roles_and_scopes_in_german_for_admins_only(
    system: StoreOnly,
) -> None:
    admin = await _browser(system, "admin")
    page = await admin.get("/verwaltung/konten")
    assert page.status_code == 200
    assert "Katrin Schulte" in page.text and "Beratung" in page.text
    assert "Beratungsstelle: MBE Musterstadt-Mitte" in page.text
    assert "Koordination" in page.text and "Kommune: Musterstadt" in page.text
    assert 'href="/verwaltung/konten/berater1"' in page.text
    for username in ("berater1", "sprachkurs", "koordination", "datenschutz", "auswertung"):
        other = await _browser(system, username)
        for path in ("/verwaltung/konten", "/verwaltung/konten/neu", "/verwaltung/konten/admin"):
            assert (await other.get(path)).status_code == 404, (username, path)


async def test_a_new_account_gets_a_temporary_password_shown_once(system: StoreOnly) -> None:
    admin = await _browser(system, "admin")
    form = {
        "username": "Beraterin7",
        "role": "counsellor",
        "centre_id": "mbe-nord",
        "display_name": "Lea Berg",
        "phone": "",
        "email": "lea@example.org",
    }
    # 303 to the account's page (the password travels in the encrypted cookie), shown there.
    shown = await admin.submit("/verwaltung/konten/neu", "/verwaltung/konten/neu", form)
    [created] = shown.history
    assert created.status_code == 303
    assert created.headers["location"] == "/verwaltung/konten/beraterin7?erledigt=angelegt"
    assert "Das Konto wurde angelegt." in shown.text
    found = TEMPORARY.search(shown.text)
    assert found, shown.text
    again = await admin.get("/verwaltung/konten/beraterin7")
    assert TEMPORARY.search(again.text) is None  # once
    row = _row(system, "beraterin7")
    assert row is not None and row["must_change_password"] and row["centre_id"] == "mbe-nord"

    # Her first login leads to the password page, and every other page too, until she set one.
    person = Browser(system.app)
    login = await person.login("beraterin7", found.group(1))
    assert login.headers["location"] == "/passwort"
    for path in ("/faelle", "/", "/benachrichtigungen"):
        moved = await person.get(path)
        assert (moved.status_code, moved.headers.get("location")) == (303, "/passwort")
    page = await person.get("/passwort")
    assert "Ihr Passwort wurde von der Verwaltung zurückgesetzt" in page.text


async def test_the_forced_password_change_refuses_in_german_and_then_lets_her_in(
    system: StoreOnly,
) -> None:
    admin = await _browser(system, "admin")
    shown = await admin.submit(
        "/verwaltung/konten/berater1", "/verwaltung/konten/berater1/passwort", {}
    )
    assert shown.history[0].headers["location"] == (
        "/verwaltung/konten/berater1?erledigt=zurueckgesetzt"
    )
    assert "Das Passwort wurde zurückgesetzt." in shown.text
    found = TEMPORARY.search(shown.text)
    assert found
    temporary = found.group(1)
    # A session from before the reset (whole seconds: minted five seconds ago) has ended.
    earlier = Browser(system.app)
    sessions = system.app.state.ui_config.sessions
    cookie = sessions.issue("berater1", now=datetime.now(UTC) - timedelta(seconds=5))
    earlier.http.cookies.set(SESSION_COOKIE, cookie)
    ended = await earlier.get("/faelle")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/login")
    person = Browser(system.app)
    assert (await person.login("berater1", "demo")).status_code == 401
    assert (await person.login("berater1", temporary)).headers["location"] == "/passwort"
    stored = _row(system, "berater1")

    def send(current: str, new: str, repeat: str) -> dict[str, str]:
        return {"current_password": current, "new_password": new, "new_password_repeat": repeat}

    for data, message in (
        (
            send("falsch-falsch", "neu-und-gut", "neu-und-gut"),
            "Das bisherige Passwort stimmt nicht.",
        ),
        (send(temporary, "kurz", "kurz"), "Neues Passwort: Zu kurz, mindestens 8 Zeichen."),
        (send(temporary, "neu-und-gut", "neu-und-anders"), "stimmen nicht überein"),
        (send(temporary, "neu\x01und-gut", "neu\x01und-gut"), "Steuerzeichen (U+0001"),
        (send(temporary, "x" * 300, "x" * 300), "Zu lang, höchstens 256 Zeichen."),
        (send("", "neu-und-gut", "neu-und-gut"), "Bitte geben Sie Ihr bisheriges Passwort ein."),
        (send(temporary, temporary, temporary), "muss sich vom bisherigen unterscheiden"),
    ):
        refused = await person.submit("/passwort", "/passwort", data)
        assert refused.status_code == 422, (message, refused.text[:300])
        assert message in refused.text
        # No password goes back into the page.
        assert temporary not in refused.text and "neu-und-gut" not in refused.text
        assert _row(system, "berater1") == stored
    done = await person.submit(
        "/passwort", "/passwort", send(temporary, "neu-und-gut", "neu-und-gut")
    )
    assert done.headers["location"] == "/passwort?erledigt=1"
    assert "Ihr neues Passwort gilt ab sofort." in (await person.get(done.headers["location"])).text
    assert (await person.get("/faelle")).status_code == 200
    fresh = Browser(system.app)
    assert (await fresh.login("berater1", "neu-und-gut")).headers["location"] == "/faelle"


async def test_a_deactivated_accounts_session_ends_at_once(system: StoreOnly) -> None:
    person = await _browser(system, "berater1")
    assert (await person.get("/faelle")).status_code == 200
    admin = await _browser(system, "admin")
    off = await admin.submit(
        "/verwaltung/konten/berater1", "/verwaltung/konten/berater1/aktiv", {"active": "nein"}
    )
    assert off.headers["location"] == "/verwaltung/konten/berater1?erledigt=deaktiviert"
    moved = await person.get("/faelle")
    assert moved.status_code == 303 and moved.headers["location"].startswith("/login")
    assert (await Browser(system.app).login("berater1")).status_code == 401
    listed = await admin.get("/verwaltung/konten")
    assert re.search(r"berater1</a>.*?<td data-label=\"Aktiv\">nein", listed.text, re.S)
    on = await admin.submit(
        "/verwaltung/konten/berater1", "/verwaltung/konten/berater1/aktiv", {"active": "ja"}
    )
    assert on.status_code == 303
    assert (await _browser(system, "berater1")).http is not None


async def test_an_admin_cannot_deactivate_herself_through_the_page(system: StoreOnly) -> None:
    admin = await _browser(system, "admin")
    page = await admin.get("/verwaltung/konten/admin")
    assert "Ihr eigenes Konto können Sie nicht deaktivieren." in page.text
    refused = await admin.submit(
        "/verwaltung/konten/admin", "/verwaltung/konten/admin/aktiv", {"active": "nein"}
    )
    assert refused.status_code == 422
    assert "Sie können sich nicht selbst deaktivieren." in refused.text
    assert _row(system, "admin")["active"] is True  # type: ignore[index]
    bad = await admin.submit(
        "/verwaltung/konten/berater1", "/verwaltung/konten/berater1/aktiv", {"active": "x\x00"}
    )
    assert bad.status_code == 422 and "Aktiv:" in bad.text


HUGE = "x" * 5_000
# form field -> (value, words the refusal says next to the field)
HOSTILE_EDITS: list[tuple[str, str, str]] = [
    ("display_name", "Kat\x00rin", "Anzeigename: Steuerzeichen"),
    ("display_name", HUGE, "Anzeigename: Zu lang"),
    ("phone", "ruf mich an", "Telefon:"),
    ("email", "keine-adresse", "E-Mail:"),
    ("email", "a@b.c\u202e", "E-Mail:"),
    ("role", "chef", "Rolle:"),
    ("centre_id", "mbe\x00mitte", "Beratungsstelle:"),
    ("centre_id", "mbe-nirgendwo", "gibt es im Verzeichnis nicht"),
    ("municipality_id", "musterstadt", "Die Rolle braucht genau das Feld centre_id."),
]


async def test_hostile_edits_are_refused_next_to_the_field_and_change_nothing(
    system: StoreOnly,
) -> None:
    admin = await _browser(system, "admin")
    before = _row(system, "berater1")
    base = {
        "role": "counsellor",
        "centre_id": "mbe-mitte",
        "partner_id": "",
        "municipality_id": "",
        "display_name": "Katrin Schulte",
        "phone": "",
        "email": "",
    }
    for field, value, words in HOSTILE_EDITS:
        refused = await admin.submit(
            "/verwaltung/konten/berater1", "/verwaltung/konten/berater1", base | {field: value}
        )
        assert refused.status_code == 422, (field, refused.text[:300])
        assert words in refused.text, (field, words)
        assert "error-summary" in refused.text
        assert _row(system, "berater1") == before
    changed = await admin.submit(
        "/verwaltung/konten/berater1",
        "/verwaltung/konten/berater1",
        base | {"role": "supervisor", "centre_id": "", "municipality_id": "musterstadt"},
    )
    assert changed.headers["location"] == "/verwaltung/konten/berater1?erledigt=geaendert"
    row = _row(system, "berater1")
    assert row is not None and (row["role"], row["centre_id"], row["municipality_id"]) == (
        "supervisor",
        None,
        "musterstadt",
    )


async def test_a_new_account_form_refuses_hostile_input_and_creates_nothing(
    system: StoreOnly,
) -> None:
    admin = await _browser(system, "admin")
    base = {"username": "neu1", "role": "admin", "display_name": "", "phone": "", "email": ""}
    for change, words in (
        ({"username": "ne\x00u"}, "Benutzername:"),
        ({"username": HUGE}, "Benutzername:"),
        ({"username": "berater1"}, "existiert bereits"),
        ({"role": ""}, "Bitte wählen Sie eine Rolle."),
        ({"role": "admin", "centre_id": "mbe-mitte"}, "Die Rolle braucht keine Zuordnung."),
        ({"email": "x\ny@z.de"}, "E-Mail:"),
    ):
        refused = await admin.submit(
            "/verwaltung/konten/neu", "/verwaltung/konten/neu", base | change
        )
        assert refused.status_code in (409, 422), (change, refused.text[:300])
        assert words in refused.text, (change, words)
    assert _row(system, "neu1") is None
    assert "\x00" not in (await admin.get("/verwaltung/konten")).text


async def test_a_refused_form_too_large_for_the_cookie_is_shown_where_it_was_sent(
    system: StoreOnly,
) -> None:
    # Thousands of characters that do not compress: the refused form does not fit the
    # flash cookie, so the page answers at the POST URL, as typed, instead of failing.
    admin = await _browser(system, "admin")
    before = _row(system, "berater1")
    noise = secrets.token_urlsafe(6000)
    edit = {"role": "counsellor", "centre_id": "mbe-mitte", "display_name": noise}
    refused = await admin.submit("/verwaltung/konten/berater1", "/verwaltung/konten/berater1", edit)
    assert refused.status_code == 422, refused.text[:300]
    assert "Anzeigename" in refused.text and noise in refused.text
    assert _row(system, "berater1") == before
    new = {"username": "neu3", "role": "admin", "display_name": noise}
    refused = await admin.submit("/verwaltung/konten/neu", "/verwaltung/konten/neu", new)
    assert refused.status_code == 422, refused.text[:300]
    assert noise in refused.text and _row(system, "neu3") is None


async def test_a_form_without_its_csrf_token_or_for_no_account_changes_nothing(
    system: StoreOnly,
) -> None:
    admin = await _browser(system, "admin")
    before = _row(system, "berater1")
    for action, data in (
        ("/verwaltung/konten/berater1/passwort", {}),
        ("/verwaltung/konten/berater1/aktiv", {"active": "nein"}),
        ("/verwaltung/konten/berater1", {"role": "admin"}),
        ("/verwaltung/konten/neu", {"username": "neu2", "role": "admin"}),
        ("/passwort", {"current_password": "demo", "new_password": "x" * 9}),
    ):
        refused = await admin.http.post(action, data=data)
        assert refused.status_code == 403, action
        assert "Sicherheitsprüfung fehlgeschlagen" in refused.text
    assert _row(system, "berater1") == before and _row(system, "neu2") is None
    for path in (
        "/verwaltung/konten/niemand",
        "/verwaltung/konten/ber%00ater1",
        "/verwaltung/konten/" + "x" * 200,
    ):
        assert (await admin.get(path)).status_code == 404, path
    missing = await admin.submit("/verwaltung/konten", "/verwaltung/konten/niemand/passwort", {})
    assert missing.status_code == 404
