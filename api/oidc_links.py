"""The administrators' links of accounts to identities of the municipality's identity provider
(api/oidc.py), shared by the API (api/routes/admin_oidc.py, `/admin/users/{username}/oidc`)
and the account page (api/ui/account_admin_pages.py, the panel „Anmeldung über die Kommune“):
the payload, linking and unlinking, each with its audit entry, and each refusal as the German
4xx naming the field that api/errors.py and api/ui/forms.py understand.

An identity is (issuer, subject): the issuer is the configured LOTSE_OIDC_ISSUER, the subject
is what the sign-in page showed the person who was refused as unknown (api/ui/oidc_pages.py).
One identity per account and one account per identity (store/oidc.py's unique constraint
decides); a link to a deactivated account is kept and signs in nobody. An audit entry names
the account, never the subject; a refusal never says which account holds an identity.

What this module must not do: look an account up by what the caller sent (each caller answers
its own 404 for a missing account first), or talk to the provider (a link needs none).
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import HTTPException, status
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api.errors import named
from store import audit
from store.oidc import SUBJECT_LENGTH, OidcLink, link_of, remove_link, set_link

NOT_CONFIGURED = (
    "Die Anmeldung mit dem Konto der Kommune ist nicht eingerichtet (LOTSE_OIDC_ISSUER)."
)
TAKEN = "Schon mit einem anderen Konto verknüpft."


def _printable(value: Any) -> Any:
    """Says why a subject is refused (the pattern alone would say only „Format“)."""
    if isinstance(value, str) and any(not " " <= char <= "~" for char in value):
        raise ValueError(
            "Erlaubt sind nur Buchstaben ohne Umlaute, Ziffern, Leerzeichen und Satzzeichen "
            "(keine Zeilenumbrüche oder Steuerzeichen)."
        )
    return value


class OidcLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # OpenID Connect Core 1.0, 2: printable ASCII, at most 255 characters.
    subject: Annotated[
        str,
        Field(min_length=1, max_length=SUBJECT_LENGTH, pattern=r"^[\x20-\x7e]+$"),
        BeforeValidator(_printable),
    ]


class OidcLinkOut(BaseModel):
    username: str
    issuer: str
    subject: str
    linked_at: datetime


def current(session: Session, username: str) -> OidcLink | None:
    """The account's identity at the provider, if an administrator linked one."""
    return link_of(session, username)


def link(
    session: Session, admin: str, username: str, body: OidcLinkIn, issuer: str | None
) -> OidcLink:
    """Link the existing account `username` to the identity `body.subject` of `issuer` (the
    configured provider), replacing its link, if any, as administrator `admin`; audited.
    409 when no provider is configured, or when the identity is another account's (naming
    the field `subject`, as a 422 would)."""
    if not issuer:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=NOT_CONFIGURED)
    try:
        set_link(session, username, issuer, body.subject, admin, datetime.now(UTC))
    except IntegrityError as error:
        session.rollback()
        said = named("subject", TAKEN)
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail={"detail": said, "errors": [{"field": "subject", "message": said}]},
        ) from error
    # add_entry commits the link and its entry together.
    audit.add_entry(session, admin, "admin.user_oidc_link", "user", username)
    linked = link_of(session, username)
    assert linked is not None  # written and committed just now
    return linked


def unlink(session: Session, admin: str, username: str) -> bool:
    """Remove the account's link as administrator `admin`: it signs in with its password
    only. False when it had none (nothing changes then, and nothing is recorded)."""
    if not remove_link(session, username):
        return False
    audit.add_entry(session, admin, "admin.user_oidc_unlink", "user", username)
    return True
