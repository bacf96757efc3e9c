"""Linking accounts to identities of the municipality's identity provider (api/oidc.py), kept
by administrators: `GET`, `PUT` and `DELETE /admin/users/{username}/oidc`.

The work itself, shared with the account page (/verwaltung/konten/{username}), is
api/oidc_links.py: the payload, one identity per account and one account per identity, the
audit entries naming the account, never the subject.
"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status

from api import oidc_links
from api.deps import Admin, ServicesDep, SessionDep
from api.oidc_links import OidcLinkIn, OidcLinkOut
from store.models import User

router = APIRouter(prefix="/admin/users", tags=["admin"])

UsernamePath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$", description="Benutzername")
]


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
    link = oidc_links.current(session, user.username)
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
    link = oidc_links.link(session, admin.username, user.username, body, issuer)
    return OidcLinkOut.model_validate(link, from_attributes=True)


@router.delete(
    "/{username}/oidc", name="admin.user_oidc_unlink", status_code=status.HTTP_204_NO_CONTENT
)
def unlink_account(username: UsernamePath, admin: Admin, session: SessionDep) -> Response:
    """Remove the account's link: it signs in with its password only. 204 also when there was
    none (nothing changes then, and nothing is recorded)."""
    user = _account(session, username)
    oidc_links.unlink(session, admin.username, user.username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
