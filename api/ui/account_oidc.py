"""The panel „Anmeldung über die Kommune“ of an account's page (/verwaltung/konten/{username},
api/ui/account_admin_pages.py, which has the routes): whether the account is linked to an
identity of the municipality's identity provider, a form to link one (the subject the refused
person was shown on the sign-in page) and one to remove the link.

The work is api/oidc_links.py, as for `/admin/users/{username}/oidc`: the same payload, the
same refusals (named at the field „Kennung beim Anmeldedienst“), the same audit entries. Without
a configured provider (LOTSE_OIDC_ISSUER) the panel is absent and its posts are 404, as the
sign-in pages are. Nothing here talks to the provider.
"""

from dataclasses import dataclass, field

from fastapi import HTTPException, Request, status
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from api import oidc_links
from api.deps import NOT_FOUND
from api.oidc_links import OidcLinkIn
from api.ui.forms import FormState, errors_of_http, errors_of_validation, text
from api.ui.session import services_of
from store.oidc import OidcLink

FORM = "oidc"  # the flash name of the link form
ANCHOR = "anmeldung-kommune"  # the panel's heading: where a refusal lands
DONE = {
    "verknuepft": "Das Konto ist jetzt mit dem Konto der Kommune verknüpft.",
    "entknuepft": "Die Verknüpfung mit dem Konto der Kommune wurde entfernt.",
    "ohne-verknuepfung": "Das Konto war mit keinem Konto der Kommune verknüpft.",
}


@dataclass
class Panel:
    """What the panel shows: the link, if any, and its two forms."""

    form: FormState
    link: OidcLink | None
    # Linked at another provider than the configured one (LOTSE_OIDC_ISSUER changed since):
    # such a link signs nobody in, which the panel says.
    elsewhere: bool
    remove_form: FormState = field(default_factory=FormState)


def configured_issuer(request: Request) -> str | None:
    return services_of(request).settings.oidc_issuer or None


def required_issuer(request: Request) -> str:
    """The configured provider's issuer; 404 without one (the panel is not there)."""
    issuer = configured_issuer(request)
    if issuer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    return issuer


def panel(request: Request, session: Session, username: str, state: FormState) -> Panel | None:
    """The panel for the account `username` with the link form `state`; None without a
    configured provider."""
    issuer = configured_issuer(request)
    if issuer is None:
        return None
    link = oidc_links.current(session, username)
    return Panel(state, link, elsewhere=link is not None and link.issuer != issuer)


def link(
    session: Session, admin: str, username: str, form: FormData, issuer: str
) -> FormState | None:
    """Link the account to the subject the form names; None when done, else the form as
    sent with its errors (nothing written then)."""
    submitted = FormState.submitted(form, {})
    try:
        # Blanks around an id copied from the sign-in page are the copying's.
        body = OidcLinkIn.model_validate({"subject": text(form, "subject")})
        oidc_links.link(session, admin, username, body, issuer)
    except ValidationError as error:
        submitted.errors = errors_of_validation(error)
        return submitted
    except HTTPException as error:
        submitted.errors = errors_of_http(error)
        return submitted
    return None
