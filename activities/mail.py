"""Sending mail over SMTP with aiosmtplib: the `MailSender` the notification activity uses
when `LOTSE_SMTP_URL` is set.

`SmtpSender.from_url("smtps://user:password@mail.example.org:465", "lotse@example.org")`:
`smtp://` connects in plain text and upgrades with STARTTLS when the server offers it (port
587 by default), `smtps://` speaks TLS from the first byte (465 by default); user and password
in the URL (percent-encoded) log in. Certificates are checked against the system's trust store
(`SSL_CERT_FILE` names another one).

A failure becomes `MailFailed` with the exception's type and, for an SMTP reply, its code,
never the reply's text or the URL: the text may quote the address, the URL holds the password.
`permanent` is true only when the server refused this recipient or this message for good (a
5xx reply to RCPT or DATA); an outage, a timeout, a refused login or a 4xx reply may pass and
is tried again.

Imported by the worker only (worker/worker.py), never by the workflows: aiosmtplib stays out
of the workflow sandbox.
"""

import email.utils
import hashlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from activities.notifications import MailConnection, MailFailed
from domain.notifications import RenderedMail

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
# Per SMTP command; a notice's activity has minutes (activities/notifications.py NOTIFY_CALL).
TIMEOUT_SECONDS = 30.0


class InvalidSmtpUrl(ValueError):
    """The URL is no smtp:// or smtps:// URL with a host (the message never quotes it)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool  # smtps://
    username: str | None
    password: str | None
    mail_from: str
    tls_context: ssl.SSLContext | None = None  # None: the system's trust store

    def __repr__(self) -> str:
        # The password never reaches a log line or a traceback through this object.
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"SmtpConfig({scheme}://{self.host}:{self.port}, login={self.username is not None})"


def parse_smtp_url(url: str, mail_from: str) -> SmtpConfig:
    """The configuration `url` describes (see the module docstring)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidSmtpUrl("LOTSE_SMTP_URL: erwartet smtp://… oder smtps://… mit einem Host.")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise InvalidSmtpUrl("LOTSE_SMTP_URL: der Port ist keine Zahl.") from None
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        implicit_tls=scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        mail_from=mail_from,
    )


def message_id(event_key: str, address: str, mail_from: str) -> str:
    """The same Message-ID for the same notice and address: should a mail go out twice after
    all (a worker lost between the server's yes and the ledger's row), receiving servers and
    mail programs can tell it is one message."""
    digest = hashlib.sha256(f"{event_key}\n{address.lower()}".encode()).hexdigest()[:40]
    domain = email.utils.parseaddr(mail_from)[1].rpartition("@")[2] or "lotse.invalid"
    return f"<{digest}@{domain}>"


def build_message(mail: RenderedMail, address: str, mail_from: str, event_key: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = mail_from
    message["To"] = address
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = message_id(event_key, address, mail_from)
    # RFC 3834: no vacation replies to a machine's mail.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def _failure(error: BaseException) -> MailFailed:
    kind = type(error).__name__
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return MailFailed(f"{kind} {codes[0]}" if codes else kind, permanent=permanent)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return MailFailed(f"{kind} {error.code}", permanent=error.code >= 500)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        # The sender refused, the login refused, a greeting refused: the server's or our
        # configuration's fault, which an administrator can mend before the next attempt.
        return MailFailed(f"{kind} {error.code}", permanent=False)
    return MailFailed(kind, permanent=False)


class _Connection:
    """One SMTP session for a notice's mails; reconnects for the next mail after a failure
    (a refused recipient may leave the session in any state)."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None:
            config = self._config
            client = aiosmtplib.SMTP(
                hostname=config.host,
                port=config.port,
                use_tls=config.implicit_tls,
                # smtp://: STARTTLS when offered (aiosmtplib's None); smtps:// is TLS already.
                start_tls=False if config.implicit_tls else None,
                username=config.username,
                password=config.password,
                tls_context=config.tls_context,
                timeout=TIMEOUT_SECONDS,
            )
            await client.connect()
            self._client = client
        return self._client

    async def send(self, address: str, mail: RenderedMail, event_key: str) -> None:
        message = build_message(mail, address, self._config.mail_from, event_key)
        sender = email.utils.parseaddr(self._config.mail_from)[1]
        try:
            client = await self._connected()
            await client.send_message(message, sender=sender, recipients=[address])
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            self.close()
            raise _failure(error) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def quit(self) -> None:
        if self._client is not None:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass  # every mail is sent or recorded by now; a failing goodbye changes nothing
            finally:
                self.close()


class SmtpSender:
    """The `MailSender` on an SMTP server (see the module docstring)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    @classmethod
    def from_url(cls, url: str, mail_from: str) -> "SmtpSender":
        return cls(parse_smtp_url(url, mail_from))

    def __repr__(self) -> str:
        return f"SmtpSender({self.config!r})"

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[MailConnection]:
        """A session that connects with the first mail, and says goodbye at the end."""
        connection = _Connection(self.config)
        try:
            yield connection
        finally:
            await connection.quit()
