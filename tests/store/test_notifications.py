"""Notifications in the store (store/notifications.py, store/reads/notifications.py) on SQLite
and PostgreSQL: whom a notice reaches according to the directory, in-app rows and the mail
ledger written once per key, read marks only by their owner, and the lists."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from domain.notifications import Addressee, DeliveryStatus, Notice, NoticeKind, event_key
from store.models import Role
from store.notifications import (
    MailDelivery,
    SqlNoticeLedger,
    mark_read,
    set_email_notifications,
)
from store.reads import notifications as reads
from store.seed import seed_demo
from store.users import create_user

CASE = "case-0b6c1a52-3f0e-4d0b-9a57-1c2d3e4f5a6b"
REFERRAL = f"{CASE}-ref-1"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def notice(kind: NoticeKind, to: Addressee, sequence: int = 5) -> Notice:
    return Notice(
        event_key=event_key(CASE, sequence, kind),
        kind=kind,
        to=to,
        case_id=CASE,
        referral_id=REFERRAL,
        deadline=date(2026, 12, 8),
    )


def seeded(engine: Engine) -> SqlNoticeLedger:
    seed_demo(engine, environment="development")
    with Session(engine) as session:
        # A second counsellor of mbe-mitte without an e-mail address, and a deactivated one.
        # (A placeholder hash: nobody logs in here.)
        create_user(session, "berater3", Role.COUNSELLOR, password_hash="-", centre_id="mbe-mitte")
        create_user(
            session,
            "berater4",
            Role.COUNSELLOR,
            password_hash="-",
            centre_id="mbe-mitte",
            email="berater4@musterstadt.example",
            active=False,
        )
        session.commit()
    return SqlNoticeLedger(engine)


def test_recipients_come_from_the_directory(store_engine: Engine) -> None:
    ledger = seeded(store_engine)
    partner = ledger.recipients(
        notice(NoticeKind.REFERRAL_NEW, Addressee.partner("sprachschule-musterstadt"))
    )
    # In the app the agency's accounts; by mail its contact address.
    assert partner.usernames == ("sprachkurs",)
    assert partner.addresses == ("sprachkurs@musterstadt.example",)
    counsellor = ledger.recipients(
        notice(NoticeKind.REFERRAL_DECLINED, Addressee.counsellor("berater1"))
    )
    assert counsellor.usernames == ("berater1",)
    assert counsellor.addresses == ("berater1@musterstadt.example",)
    supervisors = ledger.recipients(
        notice(NoticeKind.ESCALATION, Addressee.supervisors("musterstadt"))
    )
    assert supervisors.usernames == ("koordination",)
    assert supervisors.addresses == ("koordination@musterstadt.example",)
    centre = ledger.recipients(
        Notice(
            event_key="inbound-1:1:inbound_referral",
            kind=NoticeKind.INBOUND_REFERRAL,
            to=Addressee.centre("mbe-mitte"),
            inbound_referral_id="inbound-1",
        )
    )
    # Active counsellors only; the one without an address is in the app only.
    assert centre.usernames == ("berater1", "berater3")
    assert centre.addresses == ("berater1@musterstadt.example",)
    # A counsellor of another centre is not reached as "berater1" of this one.
    nobody = ledger.recipients(notice(NoticeKind.REVIEW_OVERDUE, Addressee.counsellor("admin")))
    assert nobody.usernames == () and nobody.addresses == ()


def test_a_user_who_turned_mail_off_is_reached_in_the_app_only(store_engine: Engine) -> None:
    ledger = seeded(store_engine)
    with Session(store_engine) as session:
        set_email_notifications(session, "berater1", False)
    found = ledger.recipients(notice(NoticeKind.REVIEW_OVERDUE, Addressee.counsellor("berater1")))
    assert found.usernames == ("berater1",) and found.addresses == ()
    with Session(store_engine) as session:
        set_email_notifications(session, "berater1", True)
    found = ledger.recipients(notice(NoticeKind.REVIEW_OVERDUE, Addressee.counsellor("berater1")))
    assert found.addresses == ("berater1@musterstadt.example",)


def test_in_app_rows_are_written_once_per_key_and_user(store_engine: Engine) -> None:
    ledger = seeded(store_engine)
    first = notice(NoticeKind.REFERRAL_DECLINED, Addressee.counsellor("berater1"), 5)
    second = notice(NoticeKind.REFERRAL_COMPLETED, Addressee.counsellor("berater1"), 6)
    assert ledger.record_in_app(first, ["berater1", "berater3"], T0) == 2
    assert ledger.record_in_app(first, ["berater1", "berater3"], T0 + timedelta(1)) == 0
    assert ledger.record_in_app(second, ["berater1"], T0 + timedelta(hours=1)) == 1
    with Session(store_engine) as session:
        page = reads.notifications_page(session, "berater1", 1, 50, unread_only=False)
        assert [row.kind for row in page.rows] == [
            NoticeKind.REFERRAL_COMPLETED,
            NoticeKind.REFERRAL_DECLINED,
        ]
        assert reads.unread_count(session, "berater1") == 2
        newest = page.rows[0]
        assert newest.id is not None
        # Someone else's notification cannot be marked read: it is not hers.
        assert not mark_read(session, "berater3", newest.id, T0)
        assert not mark_read(session, "berater1", 10**12, T0)
        assert mark_read(session, "berater1", newest.id, T0 + timedelta(hours=2))
        assert mark_read(session, "berater1", newest.id, T0 + timedelta(hours=3))  # no change
        unread = reads.notifications_page(session, "berater1", 1, 50, unread_only=True)
        assert [row.kind for row in unread.rows] == [NoticeKind.REFERRAL_DECLINED]
        assert reads.unread_count(session, "berater1") == 1
        assert reads.unread_count(session, "berater3") == 1
        again = reads.notifications_page(session, "berater1", 1, 1, unread_only=False)
        assert again.has_more and again.rows[0].read_at == T0 + timedelta(hours=2)


def test_the_mail_ledger_counts_attempts_and_knows_what_was_sent(store_engine: Engine) -> None:
    ledger = seeded(store_engine)
    sent = notice(NoticeKind.REFERRAL_NEW, Addressee.partner("sprachschule-musterstadt"))
    address = "sprachkurs@musterstadt.example"
    ledger.record_delivery(sent, address, DeliveryStatus.PENDING, "SMTPConnectError", T0)
    assert ledger.sent_addresses(sent.event_key) == set()
    ledger.record_delivery(sent, address, DeliveryStatus.SENT, None, T0 + timedelta(minutes=1))
    assert ledger.sent_addresses(sent.event_key) == {address}
    lost = notice(NoticeKind.REFERRAL_WITHDRAWN, Addressee.partner("sprachschule-musterstadt"))
    ledger.record_delivery(lost, address, DeliveryStatus.FAILED, "SMTPRecipientsRefused 550", T0)
    with Session(store_engine) as session:
        row = session.get(MailDelivery, (sent.event_key, address))
        assert row is not None
        assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 2, None)
        assert row.sent_at == T0 + timedelta(minutes=1)
        failed = reads.deliveries_page(session, DeliveryStatus.FAILED, 1, 50)
        assert [(r.event_key, r.kind, r.last_error) for r in failed.rows] == [
            (lost.event_key, NoticeKind.REFERRAL_WITHDRAWN, "SMTPRecipientsRefused 550")
        ]
        everything = reads.deliveries_page(session, None, 1, 50)
        assert len(everything.rows) == 2
