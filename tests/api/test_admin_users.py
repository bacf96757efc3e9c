"""The administrators' work on accounts through HTTP (`PATCH /admin/users/{username}`,
`POST /admin/users/{username}/password-reset`) and one's own password (`POST /me/password`):
role, scope and contact changed and audited; a deactivated account's token refused with the
next request; a reset's temporary password reaching nothing but the password change; every
hostile field refused in German naming the field, with nothing written; tokens from before
a reset or a change refused. On SQLite and
PostgreSQL, without Temporal.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from api.deps import PASSWORD_CHANGE_REQUIRED
from store.models import User
from store.projections import AuditEvent
from store.users import verify_password
from tests.api_harness import StoreOnly, store_only
from tests.hostile_values import store_texts_are_clean, variants


@pytest.fixture(params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("accounts")) as system:
        yield system


def _row(system: StoreOnly, username: str) -> dict[str, Any]:
    with Session(system.engine) as session:
        user = session.get(User, username)
        assert user is not None
        return user.model_dump()


def _audit(system: StoreOnly, object_id: str) -> list[tuple[str, str, str]]:
    with Session(system.engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.object_id == object_id, AuditEvent.object_type == "user")
            .order_by(col(AuditEvent.id))
        ).all()
        return [(row.actor, row.action, row.object_id) for row in rows]


async def _token(system: StoreOnly, username: str, password: str) -> Any:
    response = await system.http.post(
        "/auth/token", data={"username": username, "password": password}
    )
    return response


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_admin_changes_role_scope_and_contact_and_it_is_audited(
    system: StoreOnly,
) -> None:
    change = {
        "role": "supervisor",
        "municipality_id": "musterstadt",
        "display_name": "Murat Yılmaz-Berg",
        "phone": "+49 1234 5678",
        "email": "m.yilmaz@musterstadt.example",
    }
    response = await system.call("admin", "PATCH", "/admin/users/Berater2", json=change)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "username": "berater2",
        "role": "supervisor",
        # The counsellor's centre went with her old role.
        "centre_id": None,
        "partner_id": None,
        "municipality_id": "musterstadt",
        "active": True,
        "display_name": "Murat Yılmaz-Berg",
        "phone": "+49 1234 5678",
        "email": "m.yilmaz@musterstadt.example",
        "must_change_password": False,
    }
    # The token she has takes the new role with the next request.
    me = await system.api("berater2", "/me")
    assert (me["role"], me["scope"]) == ("supervisor", {"municipality_id": "musterstadt"})
    assert _audit(system, "berater2")[-1] == ("admin", "admin.user_update", "berater2")
    # Only the contact: the scope stays.
    again = await system.call("admin", "PATCH", "/admin/users/berater2", json={"phone": ""})
    assert again.status_code == 200 and again.json()["municipality_id"] == "musterstadt"


async def test_a_change_whose_scope_does_not_fit_the_role_changes_nothing(
    system: StoreOnly,
) -> None:
    before = _row(system, "berater1")
    for change, field in (
        ({"role": "supervisor"}, "municipality_id"),
        (
            {"role": "partner", "centre_id": "mbe-mitte", "partner_id": "jobcenter-musterstadt"},
            "partner_id",
        ),
        ({"role": "admin", "municipality_id": "musterstadt"}, "role"),
        ({"centre_id": None}, "centre_id"),
        ({"centre_id": "mbe-nirgendwo"}, "centre_id"),
        ({"role": "supervisor", "municipality_id": "nirgendwo"}, "municipality_id"),
        ({"role": None}, "role"),
        ({}, "(Eingabe)"),
    ):
        response = await system.call("admin", "PATCH", "/admin/users/berater1", json=change)
        assert response.status_code == 422, (change, response.text)
        assert response.json()["errors"][0]["field"] == field, (change, response.text)
    assert _row(system, "berater1") == before
    assert all(action != "admin.user_update" for _, action, _ in _audit(system, "berater1"))


HUGE = "x" * 10_000  # beyond every field, within the 64 KiB a body may have
# field -> values the API must refuse (each in German, naming the field, writing nothing).
HOSTILE: dict[str, list[Any]] = {
    "display_name": ["Kat\x00rin", "Kat\nrin", "Kat\u202erin", HUGE, 7],
    "phone": ["call me", "0123\x07", HUGE, ["1"]],
    "email": ["not-an-address", "a@b.c\x00", HUGE],
    "role": ["chef", "", 1, "ADMIN\x00"],
    "centre_id": ["mbe\x00mitte", "MBE-MITTE", HUGE, 5],
    "partner_id": ["../etc", HUGE],
    "municipality_id": ["muster stadt"],
    "active": ["vielleicht", 2, None],
    "unbekannt": [1],
}


async def test_hostile_changes_are_refused_in_german_naming_the_field(system: StoreOnly) -> None:
    before = _row(system, "berater1")
    for field, values in HOSTILE.items():
        for value in values:
            response = await system.call(
                "admin", "PATCH", "/admin/users/berater1", json={field: value}
            )
            shown = repr(value)[:40]
            assert response.status_code == 422, (field, shown, response.text[:200])
            errors = response.json()["errors"]
            assert errors[0]["field"] == field, (field, shown, errors)
            message = errors[0]["message"]
            assert message and "value" not in message.lower(), message  # German, not pydantic's
            assert len(response.text) < 2_000  # the huge value is not echoed
    assert _row(system, "berater1") == before


async def test_an_unknown_or_malformed_username_is_not_found(system: StoreOnly) -> None:
    for name in ("niemand", "x" * 64):
        response = await system.call("admin", "PATCH", f"/admin/users/{name}", json={"phone": ""})
        assert response.status_code == 404, response.text
        reset = await system.call("admin", "POST", f"/admin/users/{name}/password-reset")
        assert reset.status_code == 404
    for name in ("bera%00ter1", "x" * 65):
        response = await system.call("admin", "PATCH", f"/admin/users/{name}", json={"phone": ""})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "username"


async def test_a_deactivated_accounts_token_stops_working_at_once(system: StoreOnly) -> None:
    assert (await system.call("berater1", "GET", "/cases")).status_code == 200
    off = await system.call("admin", "PATCH", "/admin/users/berater1", json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    # The same token, the very next request.
    for path in ("/me", "/cases"):
        assert (await system.call("berater1", "GET", path)).status_code == 401
    assert (await _token(system, "berater1", "demo")).status_code == 401
    on = await system.call("admin", "PATCH", "/admin/users/berater1", json={"active": True})
    assert on.status_code == 200
    assert (await system.call("berater1", "GET", "/me")).status_code == 200
    assert [a for _, a, _ in _audit(system, "berater1")][-2:] == [
        "admin.user_deactivate",
        "admin.user_reactivate",
    ]


async def test_an_admin_cannot_deactivate_or_demote_herself(system: StoreOnly) -> None:
    for change, field in (
        ({"active": False}, "active"),
        ({"role": "evaluator"}, "role"),
    ):
        response = await system.call("admin", "PATCH", "/admin/users/admin", json=change)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
        assert "selbst" in response.json()["errors"][0]["message"]
    assert _row(system, "admin")["active"] is True
    own = await system.call("admin", "POST", "/admin/users/admin/password-reset")
    assert own.status_code == 422 and own.json()["errors"][0]["field"] == "username"
    assert "POST /me/password" in own.json()["errors"][0]["message"]
    assert _row(system, "admin")["must_change_password"] is False


async def test_two_admins_deactivating_each_other_at_once_leave_one(system: StoreOnly) -> None:
    second = {"username": "admin2", "password": "geheim-genug", "role": "admin"}
    assert (await system.call("admin", "POST", "/admin/users", json=second)).status_code == 201
    system.tokens["admin2"] = (await _token(system, "admin2", "geheim-genug")).json()[
        "access_token"
    ]
    one, two = await asyncio.gather(
        system.call("admin", "PATCH", "/admin/users/admin2", json={"active": False}),
        system.call("admin2", "PATCH", "/admin/users/admin", json={"active": False}),
    )
    assert sorted([one.status_code, two.status_code])[0] == 200, (one.text, two.text)
    with Session(system.engine) as session:
        admins = session.exec(select(User).where(User.role == "admin", col(User.active))).all()
    assert len(admins) == 1


def _earlier_token(system: StoreOnly, username: str) -> str:
    """A valid token of `username` issued five seconds ago (tokens hold whole seconds: one of
    this second would count as issued with a change made now)."""
    tokens = system.app.state.services.tokens
    token: str = tokens.issue(username, now=datetime.now(UTC) - timedelta(seconds=5))
    return token


async def _pending_change(system: StoreOnly, username: str) -> bool:
    """Whether the admin's list of accounts shows `username`'s password change as pending."""
    listed = await system.call("admin", "GET", "/admin/users")
    assert listed.status_code == 200, listed.text
    (account,) = [user for user in listed.json() if user["username"] == username]
    pending: bool = account["must_change_password"]
    return pending


async def test_a_reset_password_reaches_nothing_but_the_change_of_it(system: StoreOnly) -> None:
    old_token = _earlier_token(system, "berater1")
    assert (await system.http.get("/me", headers=_bearer(old_token))).status_code == 200
    reset = await system.call("admin", "POST", "/admin/users/Berater1/password-reset")
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporary_password"]
    assert reset.json()["username"] == "berater1" and len(temporary) >= 16
    stored = _row(system, "berater1")
    assert stored["must_change_password"] is True
    assert await _pending_change(system, "berater1") is True
    assert temporary not in str(stored) and verify_password(stored["password_hash"], temporary)
    assert (await _token(system, "berater1", "demo")).status_code == 401

    login = await _token(system, "berater1", temporary)
    assert login.status_code == 200
    assert login.json()["password_change_required"] is True
    token = login.json()["access_token"]
    # The token from before the reset is gone; the new one reaches only the password change.
    for path in ("/me", "/cases"):
        assert (await system.http.get(path, headers=_bearer(old_token))).status_code == 401
        refused = await system.http.get(path, headers=_bearer(token))
        assert refused.status_code == 403
        assert refused.json()["detail"] == PASSWORD_CHANGE_REQUIRED
        assert "POST /me/password" in refused.json()["detail"]

    async def change(body: dict[str, Any]) -> Any:
        return await system.http.post("/me/password", json=body, headers=_bearer(token))

    for body, field in (
        ({"current_password": "falsch-falsch", "new_password": "neu-und-gut"}, "current_password"),
        ({"current_password": temporary, "new_password": "kurz"}, "new_password"),
        ({"current_password": temporary, "new_password": "neu\x00und-gut"}, "new_password"),
        ({"current_password": temporary, "new_password": "x" * 300}, "new_password"),
        ({"current_password": temporary, "new_password": temporary}, "new_password"),
        ({"current_password": temporary}, "new_password"),
        ({"current_password": "", "new_password": "neu-und-gut"}, "current_password"),
        ({"current_password": temporary, "new_password": "neu-und-gut", "x": 1}, "x"),
    ):
        refused = await change(body)
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["errors"][0]["field"] == field, refused.text
        assert _row(system, "berater1") == stored
    done = await change({"current_password": temporary, "new_password": "neu-und-gut"})
    assert done.status_code == 200, done.text
    assert done.json()["password_change_required"] is False
    assert _row(system, "berater1")["must_change_password"] is False
    assert await _pending_change(system, "berater1") is False
    fresh = done.json()["access_token"]
    assert (await system.http.get("/me", headers=_bearer(fresh))).status_code == 200
    again = await _token(system, "berater1", "neu-und-gut")
    assert again.json()["password_change_required"] is False
    actions = [action for _, action, _ in _audit(system, "berater1")]
    assert actions[-3:] == [
        "admin.user_password_reset",
        "account.password_change_failed",
        "account.password_change",
    ]


async def test_anyone_changes_her_own_password_and_her_older_tokens_end(
    system: StoreOnly,
) -> None:
    body = {"current_password": "demo", "new_password": "ein-eigenes-passwort"}
    for username in ("sprachkurs", "auswertung"):
        older = _earlier_token(system, username)
        response = await system.http.post("/me/password", json=body, headers=_bearer(older))
        assert response.status_code == 200, response.text
        assert (await system.http.get("/me", headers=_bearer(older))).status_code == 401
        fresh = response.json()["access_token"]
        assert (await system.http.get("/me", headers=_bearer(fresh))).status_code == 200
        assert (await _token(system, username, "ein-eigenes-passwort")).status_code == 200
        assert (await _token(system, username, "demo")).status_code == 401
    assert (await system.http.post("/me/password", json=body)).status_code == 401


async def test_a_new_accounts_password_is_held_to_the_rule(system: StoreOnly) -> None:
    account = {"username": "neu1", "role": "admin"}
    before = await system.api("admin", "/admin/users")
    for password in ("kurz", "geheim\x00genug", "geheim\ngenug", "x" * 257):
        response = await system.call(
            "admin", "POST", "/admin/users", json=account | {"password": password}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "password"
    assert await system.api("admin", "/admin/users") == before


async def test_every_text_field_refuses_each_hostile_value_on_create_and_change(
    system: StoreOnly,
) -> None:
    """NUL, C1, ESC, bidi controls, line breaks and huge values in the name (a person's
    words) and the contact: a German 422 naming the field and its words, nothing stored."""
    before = await system.api("admin", "/admin/users")
    new = {"username": "neu1", "password": "geheim-genug", "role": "admin"}
    for field in ("display_name", "phone", "email"):
        for label, value, words in variants("line"):
            for method, path, body in (
                ("PATCH", "/admin/users/berater1", {field: value}),
                ("POST", "/admin/users", new | {field: value}),
            ):
                response = await system.call("admin", method, path, json=body)
                assert response.status_code == 422, (field, label, method)
                [error] = response.json()["errors"]
                assert error["field"] == field, (field, label, error)
                # The contact fields say their format; the name says what is wrong with it.
                if field == "display_name":
                    assert words in error["message"], (label, error)
    assert await system.api("admin", "/admin/users") == before
    assert store_texts_are_clean(system.engine)


async def test_guessing_the_current_password_is_throttled_like_a_login(system: StoreOnly) -> None:
    """A stolen token alone cannot find the password: wrong current passwords count as failed
    logins of the account (10 in 15 minutes), then 429 with Retry-After, even for the right
    one, and nothing changed."""
    token = (await _token(system, "berater2", "demo")).json()["access_token"]
    wrong = {"current_password": "geraten-0", "new_password": "neu-und-gut"}
    answers = [
        (await system.http.post("/me/password", json=wrong, headers=_bearer(token))).status_code
        for _ in range(11)
    ]
    assert answers[:10] == [422] * 10 and answers[10] == 429
    right = {"current_password": "demo", "new_password": "neu-und-gut"}
    refused = await system.http.post("/me/password", json=right, headers=_bearer(token))
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert (await _token(system, "berater2", "demo")).status_code == 429
    assert verify_password(_row(system, "berater2")["password_hash"], "demo")
