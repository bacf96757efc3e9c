"""Lotse as an OpenID Connect relying party of the municipality's identity provider: the
authorization code flow with PKCE (S256), through Authlib.

- `RelyingParty.authorization_url`: where the browser goes to sign in, with the state, nonce
  and PKCE challenge the caller made (api/ui/oidc_pages.py keeps them in the store).
- `RelyingParty.identity`: the code exchanged at the token endpoint (client_secret_basic, with
  the PKCE verifier), the ID token validated by Authlib: signature by the provider's JWKS
  (fetched from its discovery document, fetched again for an unknown key id), issuer, audience,
  expiry and nonce. What Lotse keeps of it: the issuer, the subject and the values of the role
  claim; no name, no e-mail address.
- `RelyingParty.admits`: whether the claim's values allow the linked account. With a role map
  (LOTSE_OIDC_ROLE_MAP) a value must map to exactly the account's role and scope, so removing
  the person's group at the provider removes her access at the next sign-in; without one, the
  link alone decides.

Nothing here touches the store or the session: the pages do (api/ui/oidc_pages.py).
"""

import ssl
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.errors import JoseError

from app.settings import OidcGrant, Settings
from store.models import Role, User

with warnings.catch_warnings():
    # Authlib 1.9 warns on import that it runs on httpx rather than its fork httpx2; the
    # fallback is what we want (httpx is the API's client everywhere), the warning only noise.
    # authlib.deprecate sets its warning to "always" when imported: first that, then ours.
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.common.errors import AuthlibBaseError
    from authlib.integrations.starlette_client import OAuth
    from authlib.oidc.core import CodeIDToken

DISCOVERY = "/.well-known/openid-configuration"
# OpenID Connect Core 1.0, 2: a subject is at most 255 ASCII characters.
SUBJECT_MAX = 255


class ProviderUnreachable(Exception):
    """The provider did not answer (down, or the network): the page says to try again."""


class SignInNotConfirmed(Exception):
    """The provider's answer does not prove a sign-in: a refused code, a token that fails
    validation, a subject no identity can have. Never says more to the browser than that."""


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    claim_values: frozenset[str]


def checked_grants(settings: Settings) -> dict[str, OidcGrant]:
    """The role map, with each role a role of Lotse (said at start, naming the value)."""
    known = {role.value for role in Role}
    for value, grant in settings.oidc_role_map.items():
        if grant.role not in known:
            raise ValueError(
                f"LOTSE_OIDC_ROLE_MAP: '{value}' nennt die unbekannte Rolle '{grant.role}'"
            )
    return dict(settings.oidc_role_map)


def grant_fits(grant: OidcGrant, user: User) -> bool:
    """The grant names exactly the account's role and scope."""
    return (grant.role, grant.centre_id, grant.partner_id, grant.municipality_id) == (
        user.role.value,
        user.centre_id,
        user.partner_id,
        user.municipality_id,
    )


def _claim_values(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    value = claims.get(name)
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def valid_subject(subject: object) -> bool:
    return (
        isinstance(subject, str)
        and 0 < len(subject) <= SUBJECT_MAX
        and all(" " <= char <= "~" for char in subject)
    )


class RelyingParty:
    """The one provider of LOTSE_OIDC_ISSUER (built once per app; see `of_settings`)."""

    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self.role_claim = settings.oidc_role_claim
        self.grants = checked_grants(settings)
        self.redirect_uri = f"{settings.link_base}/login/oidc/callback"
        client_kwargs: dict[str, Any] = {
            "scope": "openid",
            "code_challenge_method": "S256",
            "timeout": 10,
        }
        if settings.oidc_ca_file is not None:
            client_kwargs["verify"] = ssl.create_default_context(cafile=str(settings.oidc_ca_file))
        oauth = OAuth()
        self._client: Any = oauth.register(
            "kommune",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value(),
            server_metadata_url=self.issuer.rstrip("/") + DISCOVERY,
            client_kwargs=client_kwargs,
        )

    @classmethod
    def of_settings(cls, settings: Settings) -> "RelyingParty | None":
        return cls(settings) if settings.oidc_issuer else None

    async def _metadata(self) -> dict[str, Any]:
        try:
            metadata: dict[str, Any] = await self._client.load_server_metadata()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnreachable() from error
        if metadata.get("issuer") != self.issuer:
            # A discovery document of another issuer: no token of it is accepted.
            self._client.server_metadata.clear()
            raise ProviderUnreachable()
        return metadata

    async def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        await self._metadata()
        made = await self._client.create_authorization_url(
            self.redirect_uri, state=state, nonce=nonce, code_verifier=code_verifier
        )
        url: str = made["url"]
        return url

    async def identity(self, *, code: str, code_verifier: str, nonce: str) -> Identity:
        """The identity the code stands for, validated (see the module docstring)."""
        await self._metadata()
        try:
            token = await self._client.fetch_access_token(
                redirect_uri=self.redirect_uri, code=code, code_verifier=code_verifier
            )
        except httpx.TransportError as error:
            raise ProviderUnreachable() from error
        except (AuthlibBaseError, httpx.HTTPError, ValueError, KeyError) as error:
            raise SignInNotConfirmed() from error
        if not isinstance(token, dict) or "id_token" not in token:
            raise SignInNotConfirmed()
        options = {
            "iss": {"essential": True, "values": [self.issuer]},
            # Authlib checks the audience only through `azp` unless told: a token for another
            # client that names Lotse as its authorized party would pass.
            "aud": {"essential": True, "values": [self.client_id]},
            "sub": {"essential": True},
            "nonce": {"essential": True},
        }
        try:
            claims = await self._client.parse_id_token(
                token, nonce=nonce, claims_options=options, claims_cls=CodeIDToken
            )
        except httpx.TransportError as error:
            raise ProviderUnreachable() from error
        except (AuthlibBaseError, JoseError, httpx.HTTPError, ValueError, KeyError) as error:
            raise SignInNotConfirmed() from error
        if claims is None or not valid_subject(claims.get("sub")):
            raise SignInNotConfirmed()
        return Identity(self.issuer, claims["sub"], _claim_values(claims, self.role_claim))

    def admits(self, identity: Identity, user: User) -> bool:
        """Whether the identity's claim allows the linked account (see the module docstring)."""
        if not self.grants:
            return True
        return any(
            grant_fits(self.grants[value], user)
            for value in identity.claim_values
            if value in self.grants
        )
