"""Linking accounts to identities of the municipality's identity provider (api/oidc.py), kept
by administrators: `GET`, `PUT` and `DELETE /admin/users/{username}/oidc`.

An identity is (issuer, subject): the issuer is the configured LOTSE_OIDC_ISSUER, the subject
is what the sign-in page showed the person who was refused as unknown (api/ui/oidc_pages.py).
One identity per account and one account per identity; a link to a deactivated account is
kept and signs in nobody. Each change is an audit entry naming the account, never the subject.
Reads and writes are store/oidc.py.
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from api.deps import Admin, ServicesDep, SessionDep
from store import audit
from store.models import User
from store.oidc import SUBJECT_LENGTH, link_of, remove_link, set_link

router = APIRouter(prefix="/admin/users", tags=["admin"])

UsernamePath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$", description="Benutzername")
]


class OidcLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # OpenID Connect Core 1.0, 2: printable ASCII, at most 255 characters.
    subject: Annotated[
        str, Field(min_length=1, max_length=SUBJECT_LENGTH, pattern=r"^[\x20-\x7e]+$")
    ]


class OidcLinkOut(BaseModel):
    username: str
    issuer: str
    subject: str
    linked_at: datetime


def _account(session: SessionDep, username: str) -> User:
    user = session.get(User, username.lower())
    if user is None:
        detail = f"Das Konto '{username}' gibt es nicht."
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=detail)
    return user


@router.get("/{username}/oidc", name="admin.user_oidc")
def read_link(username: UsernamePath, admin: Admin, session: SessionDep) -> OidcLinkOut:
    """The account's identity at the provider; 404 when it has none."""
    user = _account(session, username)
    link = link_of(session, user.username)
    if link is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"Das Konto '{user.username}' ist mit keinem Konto der Kommune verknüpft.",
        )
    return OidcLinkOut.model_validate(link, from_attributes=True)


@router.put("/{username}/oidc", name="admin.user_oidc_link")
def link_account(
    username: UsernamePath,
    body: OidcLinkIn,
    admin: Admin,
    session: SessionDep,
    services: ServicesDep,
) -> OidcLinkOut:
    """Link the account to the identity `subject` of the configured provider (replacing its
    link, if any). 409 when no provider is configured or the identity is another account's."""
    user = _account(session, username)
    issuer = services.settings.oidc_issuer
    if not issuer:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="Die Anmeldung mit dem Konto der Kommune ist nicht eingerichtet "
            "(LOTSE_OIDC_ISSUER).",
        )
    try:
        set_link(session, user.username, issuer, body.subject, admin.username, datetime.now(UTC))
    except IntegrityError as error:
        session.rollback()
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail={
                "detail": "subject: Diese Kennung ist schon mit einem anderen Konto verknüpft.",
                "errors": [
                    {
                        "field": "subject",
                        "message": "Diese Kennung ist schon mit einem anderen Konto verknüpft.",
                    }
                ],
            },
        ) from error
    # add_entry commits the link and its entry together.
    audit.add_entry(session, admin.username, "admin.user_oidc_link", "user", user.username)
    link = link_of(session, user.username)
    return OidcLinkOut.model_validate(link, from_attributes=True)


@router.delete(
    "/{username}/oidc", name="admin.user_oidc_unlink", status_code=status.HTTP_204_NO_CONTENT
)
def unlink_account(username: UsernamePath, admin: Admin, session: SessionDep) -> Response:
    """Remove the account's link: it signs in with its password only. 204 also when there was
    none (nothing changes then, and nothing is recorded)."""
    user = _account(session, username)
    if remove_link(session, user.username):
        audit.add_entry(session, admin.username, "admin.user_oidc_unlink", "user", user.username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
