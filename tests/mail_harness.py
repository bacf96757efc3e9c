"""A real SMTP server in the test process (aiosmtpd, on a thread of its own), for the
notification tests: it keeps every mail it accepted, can refuse a recipient (once, or for
good) with a reply code the test chooses, and can ask for a login and speak TLS from the first
byte (smtps://) with a certificate of a throw-away CA (trustme).

Also a tiny workflow that runs the notification activity with its real options, so a test sees
Temporal retry it, and `emit`, which runs it on a worker of the test's own.

Used by tests/workflows/test_notifications.py and tests/api/test_notifications.py; not a test
module itself.
"""

import email
import email.policy
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.mail import SmtpConfig, SmtpSender
from activities.notifications import NOTIFY_CALL, NotificationActivities, NotifyResult
from domain.notifications import Notice

USER = "lotse-mailer"
PASSWORD = "S3hr-geheim:/@pass"  # URL-special characters on purpose
MAIL_FROM = "Lotse <lotse@musterstadt.example>"


@dataclass(frozen=True)
class Received:
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def parts(self) -> dict[str, str]:
        """content type -> decoded text of each part (text/plain, text/html)."""
        found: dict[str, str] = {}
        for part in self.message.walk():
            if part.get_content_maintype() == "text":
                found[part.get_content_type()] = str(part.get_content())  # type: ignore[attr-defined]
        return found

    def everything(self) -> str:
        """Headers and every part, decoded: what a reader of the mail could see."""
        decoded = [f"{name}: {value}" for name, value in self.message.items()]
        return "\n".join(decoded + list(self.parts().values()))


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    # address -> (the reply its RCPT gets instead of 250, how many more times; None: always)
    refusals: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        with self.lock:
            if address in self.refusals:
                reply, times = self.refusals[address]
                if times is not None and times <= 1:
                    del self.refusals[address]
                elif times is not None:
                    self.refusals[address] = (reply, times - 1)
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        with self.lock:
            self.received.append(
                Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(content))
            )
        return "250 Message accepted for delivery"


class MailServer:
    """aiosmtpd on a free port (see the module docstring)."""

    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
        login: bool = False,
    ) -> None:
        """`tls`: TLS from the first byte (smtps://); `starttls`: plain, and STARTTLS required
        before MAIL."""
        self.handler = Handler()
        self.port = _free_port()
        kwargs: dict[str, Any] = {}
        if starttls is not None:
            kwargs.update(tls_context=starttls, require_starttls=True)
        if login:
            kwargs.update(
                auth_required=True,
                # aiosmtpd counts only STARTTLS as TLS, not a TLS port (smtps://); and the test
                # of smtp:// with AUTH needs it without TLS anyway (aiosmtpd warns).
                auth_require_tls=False,
                authenticator=_authenticator,
            )
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=tls,
            server_hostname="localhost",
            **kwargs,
        )

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def refuse(self, address: str, reply: str, times: int | None = None) -> None:
        """Answer `address`'s next `times` RCPTs (None: all) with `reply` instead of 250."""
        with self.handler.lock:
            self.handler.refusals[address] = (reply, times)

    def to(self, address: str) -> list[Received]:
        return [mail for mail in self.received if address in mail.recipients]

    def url(self, scheme: str = "smtp", *, credentials: bool = False) -> str:
        from urllib.parse import quote

        login = f"{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@" if credentials else ""
        return f"{scheme}://{login}127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    # handled=False: aiosmtpd answers a refusal with its 535 itself.
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def mail_server(**options: Any) -> Iterator[MailServer]:
    server = MailServer(**options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext  # trusts the throw-away CA only


def throwaway_tls() -> Tls:
    ca = trustme.CA()
    certificate = ca.issue_cert("localhost", "127.0.0.1")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Tls(server, client)


def sender(url: str, tls_client: ssl.SSLContext | None = None) -> SmtpSender:
    """The production sender for `url`, trusting `tls_client`'s CA (production: the system's
    trust store)."""
    config: SmtpConfig = SmtpSender.from_url(url, MAIL_FROM).config
    return SmtpSender(replace(config, tls_context=tls_client))


# --- running the activity as a workflow would ---------------------------------------------


@workflow.defn(sandboxed=False)
class EmitNotices:
    """Runs the notification activity for each notice in turn with `NOTIFY_CALL`, the options a
    workflow uses, but 1 s between attempts (the time-skipping server has real time too) and
    `attempts` attempts at most."""

    @workflow.run
    async def run(self, notices: list[Notice], attempts: int) -> list[NotifyResult]:
        retry = RetryPolicy(
            initial_interval=NOTIFY_CALL.retry.initial_interval / 30,
            backoff_coefficient=1.0,
            maximum_attempts=attempts,
            non_retryable_error_types=NOTIFY_CALL.retry.non_retryable_error_types,
        )
        results: list[NotifyResult] = []
        for notice in notices:
            results.append(
                await workflow.execute_activity_method(
                    NotificationActivities.notify,
                    notice,
                    start_to_close_timeout=NOTIFY_CALL.start_to_close,
                    retry_policy=retry,
                )
            )
        return results


async def emit(
    client: Client,
    activities: NotificationActivities,
    notices: list[Notice],
    attempts: int = 10,
) -> list[NotifyResult]:
    """Run `EmitNotices` on a worker of its own (task queue of its own) until it ends."""
    queue = f"notify-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[EmitNotices],
        activities=[activities.notify],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        return await client.execute_workflow(
            EmitNotices.run,
            args=[notices, attempts],
            id=f"notify-{uuid.uuid4()}",
            task_queue=queue,
        )
