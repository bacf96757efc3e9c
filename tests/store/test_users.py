"""Accounts and password checks on both backends: the right password, a wrong one, an unknown or
inactive account (which must cost an argon2 verification all the same), scopes that fit the
role, and old hashes upgraded on login."""

from collections.abc import Iterator
from functools import cache

import pytest
from argon2 import PasswordHasher, extract_parameters, profiles
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from domain.enums import CentreKind
from store import users
from store.models import Centre, Municipality, Role, User


@pytest.fixture(autouse=True)
def production_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The suite hashes cheaply (tests/conftest.py); this module checks the real thing.
    monkeypatch.setattr(users, "_hasher", PasswordHasher())
    users._dummy_hash.cache_clear()
    yield
    users._dummy_hash.cache_clear()


def test_passwords_are_hashed_with_argon2id_at_rfc_9106_low_memory() -> None:
    assert extract_parameters(users.hash_password("richtig")) == profiles.RFC_9106_LOW_MEMORY


@cache
def _richtig_hash() -> str:
    # argon2 is slow on purpose; one hash serves every test's account.
    return users.hash_password("richtig")


@pytest.fixture
def session(store_engine: Engine) -> Iterator[Session]:
    with Session(store_engine) as session:
        session.add(Municipality(id="musterstadt", name="Musterstadt", land="NW"))
        # No ORM relationships, so the unit of work does not order inserts by foreign key.
        session.flush()
        session.add(
            Centre(
                id="mbe-mitte", name="MBE Mitte", kind=CentreKind.MBE, municipality_id="musterstadt"
            )
        )
        session.flush()
        users.create_user(
            session,
            "berater1",
            Role.COUNSELLOR,
            password_hash=_richtig_hash(),
            centre_id="mbe-mitte",
        )
        session.commit()
        yield session


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hashes `authenticate` verified against, in order."""
    seen: list[str] = []
    verify = users.verify_password

    def spy(password_hash: str, password: str) -> bool:
        seen.append(password_hash)
        return verify(password_hash, password)

    monkeypatch.setattr(users, "verify_password", spy)
    return seen


def test_the_right_password_returns_the_account(session: Session) -> None:
    user = users.authenticate(session, "berater1", "richtig")
    assert user is not None and user.username == "berater1" and user.role is Role.COUNSELLOR


def test_the_username_is_matched_case_insensitively(session: Session) -> None:
    assert users.authenticate(session, " Berater1 ", "richtig") is not None


def test_a_wrong_password_returns_none(session: Session) -> None:
    assert users.authenticate(session, "berater1", "falsch") is None
    assert users.authenticate(session, "berater1", "") is None


def test_an_unknown_user_costs_one_verification_against_the_dummy_hash(
    session: Session, verifications: list[str]
) -> None:
    assert users.authenticate(session, "niemand", "richtig") is None
    assert verifications == [users._dummy_hash()]
    assert verifications[0].startswith("$argon2id$")


def test_an_inactive_account_is_refused_like_an_unknown_one(
    session: Session, verifications: list[str]
) -> None:
    user = session.get(User, "berater1")
    assert user is not None
    user.active = False
    session.commit()
    assert users.authenticate(session, "berater1", "richtig") is None
    assert verifications == [users._dummy_hash()]


def test_a_hash_with_outdated_parameters_is_replaced_on_login(session: Session) -> None:
    user = session.get(User, "berater1")
    assert user is not None
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("richtig")
    user.password_hash = weak
    session.commit()
    assert users.authenticate(session, "berater1", "richtig") is not None
    session.expire_all()
    stored = session.get(User, "berater1")
    assert stored is not None and stored.password_hash != weak
    assert users.verify_password(stored.password_hash, "richtig")


def test_a_malformed_hash_is_a_mismatch_not_a_crash() -> None:
    assert users.verify_password("not-a-hash", "richtig") is False


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (Role.COUNSELLOR, {}),
        (Role.COUNSELLOR, {"centre_id": "mbe-mitte", "municipality_id": "musterstadt"}),
        (Role.SUPERVISOR, {"centre_id": "mbe-mitte"}),
        (Role.PARTNER, {}),
        (Role.ADMIN, {"municipality_id": "musterstadt"}),
        (Role.RULE_EDITOR, {}),
        (Role.RULE_EDITOR, {"centre_id": "mbe-mitte", "municipality_id": "musterstadt"}),
    ],
)
def test_a_scope_that_does_not_fit_the_role_is_refused(
    session: Session, role: Role, scope: dict[str, str]
) -> None:
    with pytest.raises(users.InvalidUser, match=f"a {role.value} account needs"):
        users.create_user(
            session,
            "neu",
            role,
            password="x",
            centre_id=scope.get("centre_id"),
            partner_id=scope.get("partner_id"),
            municipality_id=scope.get("municipality_id"),
        )


def test_the_database_refuses_a_misfit_scope_that_bypasses_create_user(session: Session) -> None:
    session.add(User(username="neu", role=Role.SUPERVISOR, password_hash="x"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_a_rule_editor_is_scoped_to_one_municipality_in_the_database_too(
    session: Session,
) -> None:
    editor = users.create_user(
        session, "regeln2", Role.RULE_EDITOR, password="x", municipality_id="musterstadt"
    )
    session.commit()
    assert (editor.role, editor.municipality_id) == (Role.RULE_EDITOR, "musterstadt")
    session.add(User(username="neu", role=Role.RULE_EDITOR, password_hash="x"))
    with pytest.raises(IntegrityError):
        session.commit()


@pytest.mark.parametrize("username", ["A", "Berater", "with space", "x" * 65, "-lead"])
def test_a_bad_username_is_refused(session: Session, username: str) -> None:
    with pytest.raises(users.InvalidUser, match="username"):
        users.create_user(session, username, Role.ADMIN, password="x")


def test_a_taken_username_fails_at_create(session: Session) -> None:
    with pytest.raises(IntegrityError):
        users.create_user(session, "berater1", Role.ADMIN, password="x")


def test_an_empty_password_is_refused(session: Session) -> None:
    with pytest.raises(users.InvalidUser, match="empty"):
        users.create_user(session, "neu", Role.ADMIN, password="")


def test_set_password_replaces_the_old_one(session: Session) -> None:
    user = session.get(User, "berater1")
    assert user is not None
    users.set_password(session, user, "neu und lang")
    session.commit()
    assert users.authenticate(session, "berater1", "richtig") is None
    assert users.authenticate(session, "berater1", "neu und lang") is not None
