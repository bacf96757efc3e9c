"""User accounts: creating them with a scope that fits the role, and checking passwords.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).
`authenticate` costs one argon2 verification whether or not the account exists, so response
times do not tell an attacker which usernames are real. Token issuing and the permission checks
belong to the API; this module only answers "is this the account's password".
"""

import re
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session

from store.models import Role, User

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")

_hasher = PasswordHasher()


class InvalidUser(ValueError):
    """An account that must not be stored: bad username, empty password, scope not fitting."""


def hash_password(password: str) -> str:
    """An argon2id hash in PHC string format (algorithm, parameters and salt included)."""
    if not password:
        raise InvalidUser("the password must not be empty")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches; a malformed or foreign hash is a mismatch, not a crash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    # Made with the same hasher as real accounts, so verifying against it takes as long.
    return _hasher.hash("no account has this password")


def scope_error(
    role: Role, centre_id: str | None, partner_id: str | None, municipality_id: str | None
) -> str | None:
    """Why this scope does not fit the role, or None when it does (mirrors the table's CHECK)."""
    required = {
        Role.COUNSELLOR: "centre_id",
        Role.PARTNER: "partner_id",
        Role.SUPERVISOR: "municipality_id",
        Role.ADMIN: None,
        Role.EVALUATOR: None,  # her municipalities: `evaluator_municipalities`
        Role.DATA_PROTECTION: "municipality_id",
        Role.RULE_EDITOR: "municipality_id",
    }[role]
    given = {
        name
        for name, value in (
            ("centre_id", centre_id),
            ("partner_id", partner_id),
            ("municipality_id", municipality_id),
        )
        if value is not None
    }
    expected = {required} if required else set()
    if given == expected:
        return None
    needs = f"exactly {required}" if required else "no scope"
    return f"a {role.value} account needs {needs}, got {sorted(given) or 'none'}"


def create_user(
    session: Session,
    username: str,
    role: Role,
    *,
    password: str | None = None,
    password_hash: str | None = None,
    centre_id: str | None = None,
    partner_id: str | None = None,
    municipality_id: str | None = None,
    active: bool = True,
    display_name: str = "",
    phone: str = "",
    email: str = "",
) -> User:
    """Add an account to the session and flush it (a taken username or an unknown scope id
    fails here, as IntegrityError); the caller commits. Pass the password, or a hash made by
    `hash_password` when many accounts share one (the demo data)."""
    if not USERNAME.fullmatch(username):
        raise InvalidUser(
            f"username {username!r}: 2-64 characters, lower-case letters, digits, '.', '_', '-'"
        )
    if (password is None) == (password_hash is None):
        raise InvalidUser("pass either password or password_hash")
    problem = scope_error(role, centre_id, partner_id, municipality_id)
    if problem:
        raise InvalidUser(problem)
    user = User(
        username=username,
        role=role,
        centre_id=centre_id,
        partner_id=partner_id,
        municipality_id=municipality_id,
        password_hash=password_hash if password_hash is not None else hash_password(password or ""),
        active=active,
        display_name=display_name,
        phone=phone,
        email=email,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Replace the account's password (the caller commits)."""
    user.password_hash = hash_password(password)
    session.add(user)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active account with this username and password, or None. Unknown and inactive
    accounts cost the same argon2 verification as a wrong password. A hash made with older
    parameters is replaced by a current one on a successful login (and committed)."""
    name = username.strip().lower()
    # A name no account can have is not looked up (a NUL fails the query on PostgreSQL), but
    # costs the same verification as a wrong password.
    user = session.get(User, name) if USERNAME.fullmatch(name) else None
    if user is None or not user.active:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.add(user)
        session.commit()
    return user
