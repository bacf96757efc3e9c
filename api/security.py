"""Access tokens: short-lived JWTs (HS256, PyJWT) naming the account, nothing else.

A token carries the username (`sub`), issue and expiry time and an id; role and scope are not
trusted from it but loaded from the store on every request (`deps.get_current_user`), so a
deactivated account or a changed scope takes effect at once, not when the token runs out.
A token issued before the account's last password change or reset no longer counts
(`issued_before`).

The signing key comes from the settings. In development, when none is set, a random key is
kept in the data dir (created once, readable by the owner only), so several API processes on
one machine and a restart of `lotse up` accept each other's tokens. Production refuses to start
without an explicit key: a generated one would differ per container.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from app.data_dir_secret import kept_secret
from app.settings import Settings

ALGORITHM = "HS256"
SECRET_FILE = "jwt-secret"
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_LENGTH = 32
# Tolerated clock difference between API processes when checking `exp` and `iat`.
LEEWAY = timedelta(seconds=10)


class InvalidToken(Exception):
    """The token is malformed, badly signed, expired or lacks a claim we need."""


class SigningKeyError(RuntimeError):
    """No usable signing key: the API must not start."""


@dataclass(frozen=True)
class TokenIssuer:
    """Issues and checks the API's access tokens with one key and lifetime."""

    secret: str
    lifetime: timedelta

    def issue(self, username: str, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        claims = {
            "sub": username,
            "iat": issued,
            "exp": issued + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def username(self, token: str) -> str:
        """The account a valid token names; `InvalidToken` otherwise."""
        return self.subject(token)[0]

    def subject(self, token: str) -> tuple[str, datetime]:
        """The account a valid token names and when it was issued (whole seconds, as the
        token holds it); `InvalidToken` otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                # A fixed list: never take the algorithm from the token's header ("none", RS/HS
                # confusion).
                algorithms=[ALGORITHM],
                options={"require": ["sub", "exp", "iat"]},
                leeway=LEEWAY,
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("token without a subject")
        issued = claims.get("iat")
        if not isinstance(issued, int | float):
            raise InvalidToken("token without a numeric issue time")
        return subject, datetime.fromtimestamp(issued, UTC)


def issued_before(issued: datetime, changed: datetime | None) -> bool:
    """Whether a token issued at `issued` predates the account's last password change or reset
    (`changed`), and so no longer counts. Tokens hold whole seconds: one issued within the
    second of the change counts (the session that made the change gets it then)."""
    return changed is not None and issued < changed.replace(microsecond=0)


def signing_secret(settings: Settings) -> str:
    """The configured key, or in development the one kept in the data dir (made on first use)."""
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
        if len(secret) < MIN_SECRET_LENGTH:
            raise SigningKeyError(
                f"LOTSE_JWT_SECRET ist zu kurz: mindestens {MIN_SECRET_LENGTH} Zeichen."
            )
        return secret
    if settings.is_production:
        raise SigningKeyError(
            "LOTSE_JWT_SECRET fehlt: in Produktion muss der Schlüssel für die Zugangstoken "
            "gesetzt sein (z. B. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
        )
    return _data_dir_secret(settings.data_dir)


def _data_dir_secret(data_dir: Path) -> str:
    path, text = kept_secret(data_dir, SECRET_FILE, lambda: secrets.token_urlsafe(48))
    secret = text.strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise SigningKeyError(
            f"{path}: Schlüssel zu kurz oder leer; Datei löschen und neu starten."
        )
    return secret


def issuer_from_settings(settings: Settings) -> TokenIssuer:
    return TokenIssuer(
        secret=signing_secret(settings),
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )
