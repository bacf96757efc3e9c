"""Lotse's one settings object, read from `LOTSE_*` environment variables.

Every process entry point (worker, dev server, `lotse up`, the API) builds a `Settings` and
passes it down; nothing else reads the environment, and every setting the code reads is a
field here (tests/system/test_readme.py holds the README's table to it). The defaults run
everything on one machine against the dev server (`lotse up`); production sets at least
`LOTSE_ENV=production`, `LOTSE_TEMPORAL_ADDRESS` and `LOTSE_DATABASE_URL`.
"""

from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.retention_period import RetentionPeriod


class OidcGrant(BaseModel):
    """What one value of the identity provider's role claim stands for: a role (a value of
    `store.models.Role`, checked when the API starts: app/ imports no store) and its scope."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")]
    centre_id: Annotated[str, Field(max_length=64)] | None = None
    partner_id: Annotated[str, Field(max_length=64)] | None = None
    municipality_id: Annotated[str, Field(max_length=64)] | None = None


# The proxy `lotse up` or a developer puts in front of the API on the same machine.
_LOCALHOST: list[IPv4Network | IPv6Network] = [IPv4Network("127.0.0.1/32")]


class Settings(BaseSettings):
    # hide_input_in_errors: a refused LOTSE_SMTP_URL holds a password, which the error must
    # not quote (it goes to the terminal and the logs).
    model_config = SettingsConfigDict(
        env_prefix="LOTSE_", extra="ignore", hide_input_in_errors=True
    )

    env: Literal["development", "production"] = Field(
        "development",
        description="production: no demo data, no dev server; development: `lotse up` defaults.",
    )
    demo_cases: bool = Field(
        True,
        description="`lotse up` on an empty data dir plays the demo cases through the workflows "
        "(worker/demo.py); false: the demo directory and accounts only. Never in production.",
    )
    data_dir: Path = Field(
        Path(".lotse"),
        description="Local state: the dev server's SQLite file (temporal.sqlite), its log, and "
        "the store's SQLite file when no database URL is set.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the read model, e.g. postgresql+psycopg://...; "
        "empty: <data_dir>/lotse.sqlite.",
    )

    temporal_address: str = Field("127.0.0.1:7233", description="host:port of Temporal's frontend.")
    temporal_namespace: str = "default"
    temporal_tls: bool = Field(False, description="TLS to the frontend (a managed cluster).")
    temporal_api_key: SecretStr | None = Field(
        None, description="API key for a managed cluster; implies nothing about TLS."
    )
    # TLS and mTLS to the frontend (app/temporal.py `tls_config`): any of them implies TLS.
    temporal_tls_ca: Path | None = Field(
        None,
        description="PEM file of the CA that signed the frontend's certificate; unset: the "
        "system's CAs.",
    )
    temporal_tls_cert: Path | None = Field(
        None,
        description="PEM file of this process's client certificate (mTLS); needs "
        "LOTSE_TEMPORAL_TLS_KEY.",
    )
    temporal_tls_key: Path | None = Field(
        None,
        description="PEM file of the client certificate's private key (mTLS); needs "
        "LOTSE_TEMPORAL_TLS_CERT.",
    )
    task_queue: str = Field("lotse", description="The one task queue of cases and referrals.")

    worker_concurrency: Annotated[int, Field(ge=1, le=10_000)] = Field(
        100,
        description="Workflow tasks and activities one worker runs at once (each, not together).",
    )
    worker_shutdown_grace: timedelta = Field(
        timedelta(seconds=30),
        description="On SIGTERM/SIGINT: how long running activities may finish before they are "
        "cancelled (keep it below the orchestrator's kill timeout).",
    )
    worker_sticky_timeout: timedelta = Field(
        timedelta(seconds=10),
        description="How long the next task of a workflow cached on this worker waits for it "
        "before any worker may take it: the delay after a worker crashes.",
    )

    dev_server_ip: str = Field("127.0.0.1", description="Where `lotse dev-server`/`up` listens.")
    dev_server_port: Annotated[int, Field(ge=1, le=65_535)] = 7233
    dev_server_ui_port: Annotated[int, Field(ge=0, le=65_535)] = Field(
        8233, description="Port of the Temporal web UI; 0 runs the dev server without it."
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # The HTTP API (`lotse api`, `lotse up`).
    api_host: str = Field("127.0.0.1", description="Where the HTTP API listens.")
    api_port: Annotated[int, Field(ge=1, le=65_535)] = 8000
    jwt_secret: SecretStr | None = Field(
        None,
        description="Key that signs the API's access tokens (HS256, at least 32 characters). "
        "Required in production; in development a random one is kept in <data_dir>/jwt-secret.",
    )
    master_key: SecretStr | None = Field(
        None,
        description="Key-encryption key (32 bytes, base64) that wraps each case's data key; "
        "every payload in Temporal is encrypted with its case's data key (app/payload_codec.py). "
        "Required in production; in development a random one is kept in <data_dir>/master-key. "
        "Changed with `lotse keys rotate`.",
    )
    temporal_ui_origin: str | None = Field(
        None,
        description="Origin of the Temporal web UI (https://temporal-ui.example.org) that may "
        "call the codec server (/codec/decode, /codec/encode) from the browser (CORS); unset: "
        "in development the dev server's UI, in production none.",
    )
    access_token_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = Field(
        15, description="Lifetime of an access token; a client logs in again after it."
    )
    api_max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = Field(
        64 * 1024, description="Largest request body the API accepts (larger: 413)."
    )
    # At most 32: the checks run in the threadpool of 40 that every other request shares.
    report_min_group: Annotated[int, Field(ge=2, le=1000)] = Field(
        5,
        description="The evaluation publishes no figure resting on fewer clients "
        "(domain/disclosure.py).",
    )
    evaluation_refresh_seconds: Annotated[int, Field(ge=0, le=86400)] = Field(
        300,
        description="How often the API counts the evaluation's stale months of past months in "
        "the background (api/evaluation_refresh.py); 0: never (reports count what they need).",
    )
    login_concurrency: Annotated[int, Field(ge=1, le=32)] = Field(
        4,
        description="Password checks (argon2, 64 MiB and up to a second each) one API process "
        "runs at once; a login beyond that is answered 503 with Retry-After at once.",
    )
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=lambda: _LOCALHOST.copy(),
        description="Addresses (CIDRs, comma-separated) of the reverse proxies whose "
        "X-Forwarded-For names the client; from any other peer the header is ignored. Behind an "
        "Ingress: the Ingress controller's pod network.",
    )

    ui_secure_cookies: bool | None = Field(
        None,
        description="The web interface's session and CSRF cookies only over HTTPS; unset: in "
        "production yes, in development no (`lotse up` serves plain HTTP).",
    )
    ui_session_minutes: Annotated[int, Field(ge=5, le=24 * 60)] = Field(
        8 * 60,
        description="How long a web session lasts without a new login (one working day).",
    )

    # Notifications (activities/notifications.py): the in-app list always, mail when set.
    smtp_url: SecretStr | None = Field(
        None,
        description="Mail server for notifications: smtp://user:password@host:587 (STARTTLS "
        "when offered) or smtps://user:password@host:465 (TLS); user and password "
        "percent-encoded. Unset: notifications only in the app. Never logged (it holds the "
        "password).",
    )
    mail_from: str | None = Field(
        None,
        description="Sender of the notification mails, e.g. 'Lotse <lotse@example.org>'; "
        "required with LOTSE_SMTP_URL.",
    )
    public_url: str | None = Field(
        None,
        description="Where people reach Lotse (https://lotse.example.org), for the links in "
        "mails; unset: http://<api_host>:<api_port>.",
    )

    # Sign-in with the municipality's identity provider (api/oidc.py); off without an issuer.
    oidc_issuer: str | None = Field(
        None,
        description="Issuer URL of the municipality's OpenID Connect provider (its discovery "
        "document is <issuer>/.well-known/openid-configuration); unset: local passwords only, "
        "the login page shows no button for it.",
    )
    oidc_client_id: str | None = Field(
        None, description="Lotse's client id at the provider; required with LOTSE_OIDC_ISSUER."
    )
    oidc_client_secret: SecretStr | None = Field(
        None,
        description="Lotse's client secret at the provider (client_secret_basic); required with "
        "LOTSE_OIDC_ISSUER. Never logged.",
    )
    oidc_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA that signed the provider's certificate (a municipality's "
        "own CA); unset: the system's CAs.",
    )
    oidc_role_claim: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        "groups",
        description="The ID token claim (a string or a list of strings) that LOTSE_OIDC_ROLE_MAP "
        "maps to a role and scope.",
    )
    oidc_role_map: dict[str, OidcGrant] = Field(
        default_factory=dict,
        description='JSON: claim value -> {"role": .., "centre_id"|"partner_id"|'
        '"municipality_id": ..}. Set: a sign-in is admitted only when a value of the token\'s '
        "claim maps to exactly the linked account's role and scope. Empty: the linked account "
        "alone decides.",
    )

    # Retention (worker/retention.py): a daily Temporal Schedule erases what has expired.
    retention_after_close: Annotated[RetentionPeriod, NoDecode] = Field(
        RetentionPeriod(years=3),
        description="How long a closed case that was signed is kept after its closure "
        "(ISO 8601, PnYnMnD), then erased automatically like an erasure by hand.",
    )
    retention_unsigned: Annotated[RetentionPeriod, NoDecode] = Field(
        RetentionPeriod(months=6),
        description="How long a case closed without ever being signed is kept after its "
        "closure (ISO 8601, PnYnMnD), then erased automatically.",
    )

    @field_validator("retention_after_close", "retention_unsigned", mode="before")
    @classmethod
    def _iso_period(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            return RetentionPeriod.parse(value, f"LOTSE_{(info.field_name or '').upper()}")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        # Said at start, not with the first mail hours later; the message never quotes the URL.
        if value is None or not value.get_secret_value():
            return None
        scheme = value.get_secret_value().partition("://")[0].lower()
        if scheme not in ("smtp", "smtps"):
            raise ValueError("LOTSE_SMTP_URL must start with smtp:// or smtps://")
        return value

    @field_validator("temporal_tls_ca", "temporal_tls_cert", "temporal_tls_key", "oidc_ca_file")
    @classmethod
    def _readable_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        # Said at start, naming the setting, not as a TLS error at the first connection.
        if value is not None and not value.is_file():
            setting = f"LOTSE_{(info.field_name or '').upper()}"
            raise ValueError(f"{setting} muss eine lesbare PEM-Datei nennen")
        return value

    @model_validator(mode="after")
    def _client_certificate_with_its_key(self) -> Self:
        # A certificate without its key (or the reverse) would fail at the first connection,
        # as a TLS error that names neither setting.
        if self.temporal_tls_cert is not None and self.temporal_tls_key is None:
            raise ValueError(
                "LOTSE_TEMPORAL_TLS_CERT ist gesetzt: LOTSE_TEMPORAL_TLS_KEY muss den "
                "privaten Schlüssel des Zertifikats nennen"
            )
        if self.temporal_tls_key is not None and self.temporal_tls_cert is None:
            raise ValueError(
                "LOTSE_TEMPORAL_TLS_KEY ist gesetzt: LOTSE_TEMPORAL_TLS_CERT muss das "
                "Client-Zertifikat nennen"
            )
        return self

    @model_validator(mode="after")
    def _oidc_complete(self) -> Self:
        # Said at start, naming the setting, not at the first sign-in.
        if not self.oidc_issuer:
            self.oidc_issuer = None
            return self
        if not self.oidc_client_id:
            raise ValueError("LOTSE_OIDC_ISSUER ist gesetzt: LOTSE_OIDC_CLIENT_ID fehlt")
        if self.oidc_client_secret is None or not self.oidc_client_secret.get_secret_value():
            raise ValueError("LOTSE_OIDC_ISSUER ist gesetzt: LOTSE_OIDC_CLIENT_SECRET fehlt")
        if not self.oidc_issuer.lower().startswith("https://"):
            # OpenID Connect Discovery 1.0, 3: the issuer is an https URL.
            raise ValueError("LOTSE_OIDC_ISSUER muss mit https:// beginnen")
        return self

    @model_validator(mode="after")
    def _mail_needs_a_sender(self) -> Self:
        if self.smtp_url is not None and not self.mail_from:
            raise ValueError("LOTSE_SMTP_URL is set: LOTSE_MAIL_FROM must name the sender")
        return self

    @model_validator(mode="after")
    def _production_encrypts(self) -> Self:
        # Refused at start: a production worker must never write a payload in plaintext, nor
        # make a key of its own that the other processes do not share.
        if self.env == "production" and (
            self.master_key is None or not self.master_key.get_secret_value()
        ):
            raise ValueError("LOTSE_ENV=production: LOTSE_MASTER_KEY must be set")
        return self

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # "10.0.0.0/8, 192.168.0.0/16" in an environment variable; an empty one trusts nobody.
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def codec_origins(self) -> list[str]:
        """The browser origins allowed to call the codec server."""
        if self.temporal_ui_origin:
            return [self.temporal_ui_origin.rstrip("/")]
        if self.is_production or not self.dev_server_ui_port:
            return []
        return [f"http://{self.dev_server_ip}:{self.dev_server_ui_port}"]

    @property
    def link_base(self) -> str:
        """The address the links in mails start with (no trailing slash)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.api_host}:{self.api_port}"
