"""The administrators' changes to the directory (`POST /admin/partners`, `POST /admin/users`,
written by store/directory_changes.py): a new partner or account is stored; a taken id is 409,
an unknown municipality, centre or partner and a scope that does not fit the role are 422
naming the field, and a refusal stores nothing. On SQLite and PostgreSQL, without Temporal.
"""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import Session

from store.directory_changes import Taken, add_account
from store.models import Role, User
from store.users import verify_password
from tests.api_harness import StoreOnly, field_messages, store_only

PARTNER: dict[str, Any] = {
    "id": "lernwerk",
    "name": "Lernwerk Musterstadt",
    "kind": "language_course_provider",
    "municipality_id": "musterstadt",
    "measures": ["integration_course"],
}
ACCOUNT: dict[str, Any] = {
    "username": "Beraterin7",
    "password": "geheim-genug",
    "role": "counsellor",
    "centre_id": "mbe-nord",
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("directory")) as system:
        yield system


async def test_a_partner_is_added_once_and_only_to_a_known_municipality(
    system: StoreOnly,
) -> None:
    before = await system.api("admin", "/admin/partners")
    unknown = await system.call(
        "admin", "POST", "/admin/partners", json=PARTNER | {"municipality_id": "nirgendwo"}
    )
    assert unknown.status_code == 422
    assert field_messages(unknown) == {
        "municipality_id": "'nirgendwo' gibt es im Verzeichnis nicht."
    }
    assert await system.api("admin", "/admin/partners") == before

    created = await system.call("admin", "POST", "/admin/partners", json=PARTNER)
    assert created.status_code == 201, created.text
    assert created.json() == PARTNER | {"active": True, "contact_email": ""}
    again = await system.call("admin", "POST", "/admin/partners", json=PARTNER | {"name": "X"})
    assert again.status_code == 409
    assert again.json()["detail"] == "Ein Partner mit der Id 'lernwerk' existiert bereits."
    listed = await system.api("admin", "/admin/partners")
    assert [p for p in listed if p["id"] == "lernwerk"] == [created.json()]
    assert len(listed) == len(before) + 1


async def test_an_account_needs_a_free_name_and_a_known_scope_fitting_its_role(
    system: StoreOnly,
) -> None:
    before = await system.api("admin", "/admin/users")
    for change, field, words in (
        ({"centre_id": "mbe-nirgendwo"}, "centre_id", "'mbe-nirgendwo' gibt es"),
        (
            {"role": "partner", "centre_id": None, "partner_id": "weg"},
            "partner_id",
            "'weg' gibt es",
        ),
        (
            {"role": "supervisor", "centre_id": None, "municipality_id": "weg"},
            "municipality_id",
            "'weg' gibt es",
        ),
        ({"role": "supervisor"}, "municipality_id", "braucht genau das Feld municipality_id"),
        ({"role": "admin"}, "role", "braucht keine Zuordnung"),
    ):
        response = await system.call("admin", "POST", "/admin/users", json=ACCOUNT | change)
        assert response.status_code == 422, (change, response.text)
        assert words in field_messages(response)[field], (change, response.text)
    # A name taken in another case is taken: accounts are stored lower-case.
    taken = await system.call(
        "admin", "POST", "/admin/users", json=ACCOUNT | {"username": "Berater1"}
    )
    assert taken.status_code == 409
    assert taken.json()["detail"] == "Ein Konto 'berater1' existiert bereits."
    assert await system.api("admin", "/admin/users") == before

    created = await system.call("admin", "POST", "/admin/users", json=ACCOUNT)
    assert created.status_code == 201, created.text
    assert created.json() == {
        "username": "beraterin7",
        "role": "counsellor",
        "centre_id": "mbe-nord",
        "partner_id": None,
        "municipality_id": None,
        "active": True,
        "display_name": "",
        "phone": "",
        "email": "",
        "must_change_password": False,
    }
    login = await system.http.post(
        "/auth/token", data={"username": "beraterin7", "password": "geheim-genug"}
    )
    assert login.status_code == 200
    again = await system.call("admin", "POST", "/admin/users", json=ACCOUNT)
    assert again.status_code == 409
    assert len(await system.api("admin", "/admin/users")) == len(before) + 1


async def test_two_administrators_adding_the_same_account_at_once_get_one(
    system: StoreOnly,
) -> None:
    # The second one's existence check ran before the first one committed: the store's
    # primary key refuses it, as `Taken` (409), and its session is usable again.
    with Session(system.engine) as first, Session(system.engine) as second:
        add_account(
            first,
            "zugleich",
            Role.COUNSELLOR,
            "erstes-passwort",
            centre_id="mbe-mitte",
            partner_id=None,
            municipality_id=None,
        )
        with pytest.raises(Taken):
            add_account(
                second,
                "zugleich",
                Role.COUNSELLOR,
                "zweites-passwort",
                centre_id="mbe-nord",
                partner_id=None,
                municipality_id=None,
            )
        stored = second.get(User, "zugleich")
        assert stored is not None and stored.centre_id == "mbe-mitte"
        assert verify_password(stored.password_hash, "erstes-passwort")
