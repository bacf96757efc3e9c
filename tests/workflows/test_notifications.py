"""The notification activity (activities/notifications.py) with a real SMTP server in the test
process (aiosmtpd, tests/mail_harness.py), a real SQLite store with the demo directory, and
Temporal's own retries (the dev server: the time-skipping one does not tell an activity
its retry policy): recipients, a retried activity that sends each
mail exactly once, a mail that finally fails, a permanent refusal, mail turned off, no SMTP
at all, and smtps:// and smtp:// with a login."""

import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.mail import SmtpSender, parse_smtp_url
from activities.notifications import NOTIFY_CALL, MailFailed, NotificationActivities
from domain.notifications import (
    Addressee,
    DeliveryStatus,
    Notice,
    NoticeKind,
    RenderedMail,
    event_key,
    render_mail,
)
from store.models import Role
from store.notifications import (
    MailDelivery,
    NotificationRecord,
    SqlNoticeLedger,
    set_email_notifications,
)
from store.seed import seed_demo
from store.testing import sqlite_store
from store.users import create_user
from tests.mail_harness import (
    MAIL_FROM,
    PASSWORD,
    MailServer,
    emit,
    mail_server,
    sender,
    throwaway_tls,
)

# A server with a login: aiosmtpd warns that it lets AUTH through without STARTTLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://lotse.musterstadt.example"
BERATER1 = "berater1@musterstadt.example"
BERATER5 = "berater5@musterstadt.example"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with sqlite_store(tmp_path_factory.mktemp("store")) as store:
        seed_demo(store, environment="development")
        with Session(store) as session:
            # mbe-mitte gets a second counsellor with an address: a notice with two mails.
            create_user(
                session,
                "berater5",
                Role.COUNSELLOR,
                password_hash="-",
                centre_id="mbe-mitte",
                email=BERATER5,
            )
            session.commit()
        yield store


@pytest.fixture
def server() -> Iterator[MailServer]:
    with mail_server() as running:
        yield running


def activities(engine: Engine, server: MailServer | None) -> NotificationActivities:
    mailer = SmtpSender.from_url(server.url(), MAIL_FROM) if server is not None else None
    return NotificationActivities(SqlNoticeLedger(engine), mailer, BASE)


def inbound(sequence: int) -> Notice:
    return Notice(
        event_key=event_key("inbound-42", sequence, NoticeKind.INBOUND_REFERRAL),
        kind=NoticeKind.INBOUND_REFERRAL,
        to=Addressee.centre("mbe-mitte"),
        inbound_referral_id="inbound-42",
        deadline=date(2026, 12, 8),
    )


def deliveries(engine: Engine, key: str) -> dict[str, tuple[DeliveryStatus, int, str | None]]:
    with Session(engine) as session:
        rows = session.exec(select(MailDelivery).where(MailDelivery.event_key == key)).all()
        return {row.address: (row.status, row.attempts, row.last_error) for row in rows}


def in_app(engine: Engine, key: str) -> list[str]:
    with Session(engine) as session:
        query = select(NotificationRecord.username).where(NotificationRecord.event_key == key)
        return sorted(session.exec(query.order_by(col(NotificationRecord.username))).all())


async def test_a_notice_to_a_centre_reaches_its_counsellors_in_the_app_and_by_mail(
    dev_env: WorkflowEnvironment, engine: Engine, server: MailServer
) -> None:
    notice = inbound(1)
    [result] = await emit(dev_env.client, activities(engine, server), [notice])
    assert (result.in_app_new, result.mails_sent) == (2, 2)
    assert in_app(engine, notice.event_key) == ["berater1", "berater5"]
    # One mail per address, each to that address only, from the configured sender.
    assert sorted(mail.recipients for mail in server.received) == [(BERATER1,), (BERATER5,)]
    for mail in server.received:
        assert mail.mail_from == "lotse@musterstadt.example"
        assert mail.subject == "Lotse: Neue Zuweisung an Ihre Beratungsstelle"
        assert set(mail.parts()) == {"text/plain", "text/html"}
        assert "8. Dezember 2026" in mail.parts()["text/plain"]
        assert mail.message["Auto-Submitted"] == "auto-generated"


async def test_a_retried_activity_sends_each_mail_exactly_once(
    dev_env: WorkflowEnvironment, engine: Engine, server: MailServer
) -> None:
    # The first attempt mails berater1, then the server turns berater5 away for now (451);
    # Temporal retries the activity, which then mails berater5 only.
    server.refuse(BERATER5, "451 4.3.0 Bitte später noch einmal", times=1)
    notice = inbound(2)
    [result] = await emit(dev_env.client, activities(engine, server), [notice])
    assert result.mails_sent == 1 and result.mails_already_sent == 1
    assert [len(server.to(BERATER1)), len(server.to(BERATER5))] == [1, 1]
    assert len(server.received) == 2
    assert deliveries(engine, notice.event_key) == {
        BERATER1: (DeliveryStatus.SENT, 1, None),
        BERATER5: (DeliveryStatus.SENT, 2, None),
    }
    # The in-app rows were written once, too.
    assert in_app(engine, notice.event_key) == ["berater1", "berater5"]


async def test_a_mail_still_failing_on_the_last_attempt_is_recorded_failed(
    dev_env: WorkflowEnvironment, engine: Engine, server: MailServer
) -> None:
    server.refuse(BERATER5, "451 4.3.0 Bitte später noch einmal")  # for ever
    notice = inbound(3)
    [result] = await emit(dev_env.client, activities(engine, server), [notice], attempts=3)
    # The activity ends after its last attempt, so the workflow goes on.
    assert (result.mails_failed, result.mails_pending) == (1, 0)
    assert deliveries(engine, notice.event_key) == {
        BERATER1: (DeliveryStatus.SENT, 1, None),
        BERATER5: (DeliveryStatus.FAILED, 3, "SMTPRecipientsRefused 451"),
    }
    assert len(server.to(BERATER1)) == 1 and server.to(BERATER5) == []


async def test_a_recipient_refused_for_good_is_failed_at_once(
    dev_env: WorkflowEnvironment, engine: Engine, server: MailServer
) -> None:
    server.refuse(BERATER5, "550 5.1.1 Unbekannter Empfänger")
    notice = inbound(4)
    [result] = await emit(dev_env.client, activities(engine, server), [notice])
    assert (result.mails_sent, result.mails_failed) == (1, 1)
    assert deliveries(engine, notice.event_key)[BERATER5] == (
        DeliveryStatus.FAILED,
        1,
        "SMTPRecipientsRefused 550",
    )


async def test_an_unreachable_server_is_retried_and_then_failed_for_every_address(
    dev_env: WorkflowEnvironment, engine: Engine
) -> None:
    with mail_server() as gone:
        pass  # stopped: its port refuses connections
    notice = inbound(5)
    [result] = await emit(dev_env.client, activities(engine, gone), [notice], attempts=2)
    assert (result.mails_failed, result.in_app_new) == (2, 0)  # in the app on attempt 1
    assert {status for status, _, _ in deliveries(engine, notice.event_key).values()} == {
        DeliveryStatus.FAILED
    }
    assert in_app(engine, notice.event_key) == ["berater1", "berater5"]


async def test_a_user_who_turned_mail_off_gets_none_but_the_row_in_the_app(
    engine: Engine, server: MailServer
) -> None:
    with Session(engine) as session:
        set_email_notifications(session, "berater5", False)
    try:
        notice = inbound(6)
        result = await ActivityEnvironment().run(activities(engine, server).notify, notice)
        assert result.mails_sent == 1
        assert server.to(BERATER5) == [] and len(server.to(BERATER1)) == 1
        assert in_app(engine, notice.event_key) == ["berater1", "berater5"]
    finally:
        with Session(engine) as session:
            set_email_notifications(session, "berater5", True)


async def test_without_smtp_notices_go_to_the_app_only(engine: Engine) -> None:
    notice = inbound(7)
    result = await ActivityEnvironment().run(activities(engine, None).notify, notice)
    assert (result.in_app_new, result.mails_sent) == (2, 0)
    assert deliveries(engine, notice.event_key) == {}


async def test_an_attempt_with_mails_pending_fails_retryably_naming_no_address(
    engine: Engine, server: MailServer
) -> None:
    server.refuse(BERATER5, "451 4.3.0 Bitte später noch einmal")
    env = ActivityEnvironment()
    env.info = replace(env.info, attempt=1, retry_policy=NOTIFY_CALL.retry)
    with pytest.raises(Exception) as failed:
        await env.run(activities(engine, server).notify, inbound(8))
    assert type(failed.value).__name__ == "ApplicationError"
    assert "berater5" not in str(failed.value) and "1 E-Mail" in str(failed.value)
    # The same attempt as the retry policy's last one records it failed and succeeds.
    env.info = replace(env.info, attempt=NOTIFY_CALL.retry.maximum_attempts)
    result = await env.run(activities(engine, server).notify, inbound(8))
    assert result.mails_failed == 1 and result.mails_already_sent == 1


async def test_smtps_with_a_login_sends(engine: Engine) -> None:
    tls = throwaway_tls()
    with mail_server(tls=tls.server, login=True) as secure:
        mailer = sender(secure.url("smtps", credentials=True), tls.client)
        activity = NotificationActivities(SqlNoticeLedger(engine), mailer, BASE)
        result = await ActivityEnvironment().run(activity.notify, inbound(9))
        assert result.mails_sent == 2
        assert len(secure.to(BERATER1)) == 1


async def test_smtp_upgrades_with_starttls_when_the_server_offers_it(engine: Engine) -> None:
    tls = throwaway_tls()
    with mail_server(starttls=tls.server) as upgrading:
        # The server refuses MAIL before STARTTLS: a mail that arrives went over TLS.
        mailer = sender(upgrading.url("smtp"), tls.client)
        activity = NotificationActivities(SqlNoticeLedger(engine), mailer, BASE)
        result = await ActivityEnvironment().run(activity.notify, inbound(11))
        assert result.mails_sent == 2 and len(upgrading.received) == 2


async def test_smtp_with_a_login_sends_and_a_wrong_password_never_shows(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with mail_server(login=True) as guarded:
        mailer = sender(guarded.url("smtp", credentials=True))
        activity = NotificationActivities(SqlNoticeLedger(engine), mailer, BASE)
        result = await ActivityEnvironment().run(activity.notify, inbound(10))
        assert result.mails_sent == 2
        wrong = guarded.url("smtp", credentials=True).replace("S3hr", "Falsch")
        with caplog.at_level(logging.DEBUG), pytest.raises(MailFailed) as refused:
            async with sender(wrong).connection() as connection:
                await connection.send(BERATER1, _any_mail(), "k:1:x")
        assert refused.value.error_type == "SMTPAuthenticationError 535"
        assert not refused.value.permanent  # an administrator may mend the settings
        logged = "\n".join(record.getMessage() for record in caplog.records)
        for secret in (PASSWORD, "Falsch"):
            assert secret not in logged and secret not in str(refused.value)
            assert secret not in repr(sender(wrong))


def test_the_smtp_url_is_read_with_its_defaults() -> None:
    plain = parse_smtp_url("smtp://mail.example.org", MAIL_FROM)
    assert (plain.port, plain.implicit_tls, plain.username) == (587, False, None)
    tls = parse_smtp_url("smtps://a%40b:p%3Aw@mail.example.org", MAIL_FROM)
    assert (tls.port, tls.implicit_tls, tls.username, tls.password) == (
        465,
        True,
        "a@b",
        "p:w",
    )
    assert "p:w" not in repr(tls)
    for bad in ("http://u:geheim@mail.example.org", "smtp://u:geheim@", "smtp://u:geheim@h:x"):
        with pytest.raises(ValueError) as refused:
            parse_smtp_url(bad, MAIL_FROM)
        assert "geheim" not in str(refused.value)


def _any_mail() -> RenderedMail:
    return render_mail(inbound(1), BASE)


def test_a_workflow_can_import_the_activity_without_the_store_or_the_smtp_client() -> None:
    # What workflows/ may load (tests/workflows/test_determinism.py), plus the SMTP client.
    probe = (
        "import sys, activities.notifications\n"
        "print('\\n'.join(m for m in sys.modules if m.split('.')[0] in "
        "('aiosmtplib', 'store', 'sqlalchemy', 'api', 'worker', 'rules', 'durable')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert loaded.stdout.split() == []
