"""The notification activity: `NotificationActivities.notify(notice)` puts a notice into the
in-app list of everyone it reaches and mails it to their addresses.

A workflow emits a notice like this (`Notice` and `event_key` are domain/notifications.py):

    await workflow.execute_activity_method(
        NotificationActivities.notify,
        Notice(event_key=event_key(case_id, sequence, NoticeKind.REFERRAL_DECLINED),
               kind=NoticeKind.REFERRAL_DECLINED, to=Addressee.counsellor(counsellor_id),
               case_id=case_id, referral_id=referral_id),
        start_to_close_timeout=NOTIFY_CALL.start_to_close,
        retry_policy=NOTIFY_CALL.retry,
    )

Idempotent per event key, however often Temporal retries it: the store writes one in-app row
per (event key, user), and the mail ledger (`NoticeLedger.sent_addresses`) says which
addresses got their mail already, so a retry after a partial failure sends only what is
missing. A mail that fails for a while is recorded `pending` and the activity fails retryably
(`MailUnavailable`), so Temporal tries again later; on the activity's last attempt (its retry
policy's `maximum_attempts`) it is recorded `failed` and the activity succeeds: the workflow
goes on, the administrators see the mail (`GET /admin/mail-deliveries?status=failed`). A
recipient the server refuses for good (5xx) is `failed` at once. Without a mail sender (no
`LOTSE_SMTP_URL`) only the in-app rows are written.

The one gap Temporal cannot close: a worker lost after the SMTP server accepted a mail and
before the ledger recorded it sends that mail again on the retry (at least once, never lost);
its Message-ID is the same, so mail programs show it once.

Its dependencies are protocols, like the case activities' (activities/case.py): the store
implements `NoticeLedger` (store/notifications.py), activities/mail.py the `MailSender`; the
worker wires both. This module is light enough for the workflows to import for the name and
the options (it loads neither the store nor aiosmtplib).
"""

import asyncio
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Protocol

from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from activities.case import CallOptions
from domain.notifications import (
    DeliveryStatus,
    Notice,
    Recipients,
    RenderedMail,
    render_mail,
)
from domain.profile import StrictModel

# Nobody waits for a notice: retried for about two and a half hours (30 s, doubling to 30
# minutes between attempts), long enough for a mail server's restart or an administrator to
# mend its settings; then the mails still missing are `failed` and the activity succeeds.
NOTIFY_ATTEMPTS = 10
NOTIFY_CALL = CallOptions(
    # Each attempt talks to the mail server once per recipient (a centre: a few dozen at most),
    # 30 s per SMTP command at worst.
    start_to_close=timedelta(minutes=5),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=30),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=30),
        maximum_attempts=NOTIFY_ATTEMPTS,
        non_retryable_error_types=["Invalid"],
    ),
)
MAIL_UNAVAILABLE = "MailUnavailable"


class MailFailed(Exception):
    """A mail that did not go out: the error's type (and SMTP code), and whether trying again
    is pointless (the server refused the recipient or the message for good)."""

    def __init__(self, error_type: str, *, permanent: bool) -> None:
        super().__init__(error_type)
        self.error_type = error_type
        self.permanent = permanent


class MailConnection(Protocol):
    async def send(self, address: str, mail: RenderedMail, event_key: str) -> None:
        """Send `mail` to `address`; raises `MailFailed`."""
        ...


class MailSender(Protocol):
    def connection(self) -> AbstractAsyncContextManager[MailConnection]:
        """A session with the mail server for one notice's mails."""
        ...


class NoticeLedger(Protocol):
    def recipients(self, notice: Notice) -> Recipients:
        """Whom the notice reaches, from the directory."""
        ...

    def record_in_app(self, notice: Notice, usernames: Iterable[str], at: datetime) -> int:
        """One in-app row per user, once per (event key, user); how many were new."""
        ...

    def sent_addresses(self, event_key: str) -> set[str]:
        """The addresses the notice's mail reached already."""
        ...

    def record_delivery(
        self,
        notice: Notice,
        address: str,
        status: DeliveryStatus,
        error_type: str | None,
        at: datetime,
    ) -> None:
        """The outcome of one try to mail `address` (counts the attempt)."""
        ...


class NotifyResult(StrictModel):
    in_app_new: int  # in-app rows written by this attempt
    mails_sent: int  # by this attempt
    mails_already_sent: int  # by an earlier attempt
    mails_failed: int  # recorded `failed` by this attempt
    mails_pending: int  # still to be tried again


def _is_last_attempt() -> bool:
    """Whether Temporal will not try this activity again after a failure: its attempt is its
    retry policy's last. A server that does not tell the policy (the time-skipping test server)
    is taken to use `NOTIFY_CALL`'s."""
    info = activity.info()
    policy = info.retry_policy
    maximum = policy.maximum_attempts if policy is not None else NOTIFY_ATTEMPTS
    return maximum > 0 and info.attempt >= maximum


class NotificationActivities:
    def __init__(self, ledger: NoticeLedger, mailer: MailSender | None, base_url: str) -> None:
        """`mailer` None: notices go to the in-app list only. `base_url`: Lotse's public
        address, for the links in the mails."""
        self._ledger = ledger
        self._mailer = mailer
        self._base_url = base_url

    @activity.defn
    async def notify(self, notice: Notice) -> NotifyResult:
        ledger = self._ledger
        recipients = await asyncio.to_thread(ledger.recipients, notice)
        now = datetime.now(UTC)
        new = await asyncio.to_thread(ledger.record_in_app, notice, recipients.usernames, now)
        result = NotifyResult(
            in_app_new=new, mails_sent=0, mails_already_sent=0, mails_failed=0, mails_pending=0
        )
        if self._mailer is None or not recipients.addresses:
            if not recipients.usernames:
                activity.logger.warning("Notice %s reaches nobody", notice.event_key)
            return result
        result = await self._mail(notice, recipients.addresses, result)
        activity.logger.info(
            "Notice %s: %d new in the app, %d mails sent, %d sent before, %d failed, %d pending",
            notice.event_key,
            result.in_app_new,
            result.mails_sent,
            result.mails_already_sent,
            result.mails_failed,
            result.mails_pending,
        )
        if result.mails_pending:
            # No address and no server reply in the message: they may be personal data.
            raise ApplicationError(
                f"Benachrichtigung {notice.event_key}: {result.mails_pending} E-Mail(s) "
                "nicht zugestellt; neuer Versuch folgt.",
                type=MAIL_UNAVAILABLE,
            )
        return result

    async def _mail(
        self, notice: Notice, addresses: Iterable[str], result: NotifyResult
    ) -> NotifyResult:
        assert self._mailer is not None
        ledger = self._ledger
        sent_before = await asyncio.to_thread(ledger.sent_addresses, notice.event_key)
        missing = [address for address in addresses if address not in sent_before]
        mail = render_mail(notice, self._base_url)
        last = _is_last_attempt()
        sent = failed = pending = 0
        async with self._mailer.connection() as connection:
            for address in missing:
                try:
                    await connection.send(address, mail, notice.event_key)
                except MailFailed as failure:
                    status = (
                        DeliveryStatus.FAILED
                        if failure.permanent or last
                        else DeliveryStatus.PENDING
                    )
                    failed += status is DeliveryStatus.FAILED
                    pending += status is DeliveryStatus.PENDING
                    await asyncio.to_thread(
                        ledger.record_delivery,
                        notice,
                        address,
                        status,
                        failure.error_type,
                        datetime.now(UTC),
                    )
                    activity.logger.warning(
                        "Notice %s: a mail failed (%s, %s)",
                        notice.event_key,
                        failure.error_type,
                        status.value,
                    )
                    continue
                sent += 1
                await asyncio.to_thread(
                    ledger.record_delivery,
                    notice,
                    address,
                    DeliveryStatus.SENT,
                    None,
                    datetime.now(UTC),
                )
        return result.model_copy(
            update={
                "mails_sent": sent,
                "mails_already_sent": len(sent_before),
                "mails_failed": failed,
                "mails_pending": pending,
            }
        )
