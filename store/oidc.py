"""Sign-in with the municipality's identity provider, as the store keeps it (migration 0017):

- `OidcLink`: which account an identity of the provider signs in as, by (issuer, subject),
  set and removed by an administrator (api/oidc_links.py, for the API and the account page).
  One identity per account and one account per identity. The subject is the provider's
  opaque, stable id of the person, not her name; nothing else of the token is stored.
- `OidcPendingLogin`: a sign-in under way, between the redirect to the provider and its answer:
  the hash of the `state` sent there, the hash of the browser's binding cookie, the nonce and
  the PKCE verifier. The callback takes the row away (`take_pending`), so a state works once,
  only in the browser that started it, and for `PENDING_LIFETIME` at most. In the store, not in
  a process's memory, because any API process may answer the callback.

No module but api/oidc.py, api/ui/oidc_pages.py and api/oidc_links.py uses this.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import UniqueConstraint, delete
from sqlmodel import Field, Session, SQLModel, col, select

from store.models import SLUG_LENGTH
from store.types import UTCDateTime

ISSUER_LENGTH = 255
SUBJECT_LENGTH = 255  # OpenID Connect Core 1.0, 2: at most 255 ASCII characters
HASH_LENGTH = 64
NEXT_LENGTH = 500
PENDING_LIFETIME = timedelta(minutes=10)


class OidcLink(SQLModel, table=True):
    """An account's identity at the provider (migration 0017)."""

    __tablename__ = "oidc_links"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    username: str = Field(foreign_key="users.username", primary_key=True, max_length=SLUG_LENGTH)
    issuer: str = Field(max_length=ISSUER_LENGTH)
    subject: str = Field(max_length=SUBJECT_LENGTH)
    linked_at: datetime = Field(sa_type=UTCDateTime)
    linked_by: str = Field(max_length=SLUG_LENGTH)


class OidcPendingLogin(SQLModel, table=True):
    """A sign-in sent to the provider and not answered yet (migration 0017)."""

    __tablename__ = "oidc_pending_logins"

    state_hash: str = Field(primary_key=True, max_length=HASH_LENGTH)
    browser_hash: str = Field(max_length=HASH_LENGTH)
    nonce: str = Field(max_length=HASH_LENGTH)
    code_verifier: str = Field(max_length=128)
    next_path: str = Field(default="", max_length=NEXT_LENGTH)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


def digest(value: str) -> str:
    """A state or a browser cookie as the store keeps it: a leaked table row replays nothing."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Pending:
    nonce: str
    code_verifier: str
    next_path: str


def add_pending(
    session: Session,
    *,
    state: str,
    browser: str,
    nonce: str,
    code_verifier: str,
    next_path: str,
    now: datetime,
) -> None:
    """Record a sign-in under way; sign-ins left unanswered past their lifetime go now."""
    session.exec(
        delete(OidcPendingLogin).where(col(OidcPendingLogin.created_at) < now - PENDING_LIFETIME)
    )
    session.add(
        OidcPendingLogin(
            state_hash=digest(state),
            browser_hash=digest(browser),
            nonce=nonce,
            code_verifier=code_verifier,
            next_path=next_path[:NEXT_LENGTH],
            created_at=now,
        )
    )
    session.commit()


def take_pending(session: Session, *, state: str, browser: str, now: datetime) -> Pending | None:
    """The sign-in `state` names, if this browser started it and it has not expired, removed
    in the same step: of two callbacks with one state, only one gets it."""
    row = session.get(OidcPendingLogin, digest(state))
    if row is None or row.browser_hash != digest(browser):
        return None
    pending = Pending(row.nonce, row.code_verifier, row.next_path)
    created = row.created_at
    removed = session.exec(
        delete(OidcPendingLogin).where(col(OidcPendingLogin.state_hash) == row.state_hash)
    )
    session.commit()
    if removed.rowcount != 1 or created < now - PENDING_LIFETIME:
        return None
    return pending


def linked_username(session: Session, issuer: str, subject: str) -> str | None:
    """The account the identity signs in as, or None when no administrator linked one."""
    statement = select(OidcLink.username).where(
        col(OidcLink.issuer) == issuer, col(OidcLink.subject) == subject
    )
    return session.exec(statement).first()


def link_of(session: Session, username: str) -> OidcLink | None:
    return session.get(OidcLink, username)


def set_link(
    session: Session, username: str, issuer: str, subject: str, by: str, now: datetime
) -> None:
    """Link (or re-link) the account to the identity; the caller commits. An identity linked
    to another account raises IntegrityError at flush (the unique constraint decides, also for
    two administrators at once)."""
    row = session.get(OidcLink, username)
    if row is None:
        row = OidcLink(
            username=username, issuer=issuer, subject=subject, linked_at=now, linked_by=by
        )
    else:
        row.issuer, row.subject, row.linked_at, row.linked_by = issuer, subject, now, by
    session.add(row)
    session.flush()


def remove_link(session: Session, username: str) -> bool:
    """Unlink the account; False when it had no link. The caller commits."""
    row = session.get(OidcLink, username)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
