"""Notifications end to end: a real case of „Amina Karimi" (born 17 May 1990) through the API,
a notice of every kind about it run by the notification activity on Temporal with a real SMTP
server in the test process (aiosmtpd), then what each recipient gets by mail and sees through
`GET /notifications`, what the administrators see of a mail that failed, and a counsellor who
turned mail off."""

import re
from typing import Any

from activities.mail import SmtpSender
from activities.notifications import NotificationActivities
from domain.notifications import ADDRESSEE_OF, Addressee, AddresseeKind, Notice, NoticeKind
from domain.notifications import event_key as key_of
from store.notifications import SqlNoticeLedger
from tests.api_harness import Lotse, eventually
from tests.mail_harness import MAIL_FROM, MailServer, emit, mail_server

BASE = "https://lotse.musterstadt.example"
PARTNER = "sprachschule-musterstadt"  # its contact address: sprachkurs@musterstadt.example
REFERRING_PARTNER = "jobcenter-musterstadt"  # contact address refused by the server
ADDRESS = {
    AddresseeKind.PARTNER: "sprachkurs@musterstadt.example",
    AddresseeKind.COUNSELLOR: "berater1@musterstadt.example",
    AddresseeKind.SUPERVISORS: "koordination@musterstadt.example",
    AddresseeKind.CENTRE: "berater1@musterstadt.example",
}
REFUSED = "jobcenter@musterstadt.example"
SUBJECTS = {
    NoticeKind.REFERRAL_NEW: "Lotse: Neue Vermittlung an Ihre Stelle",
    NoticeKind.REFERRAL_REMINDER: "Lotse: Erinnerung: Vermittlung noch nicht angenommen",
    NoticeKind.REFERRAL_WITHDRAWN: "Lotse: Vermittlung zurückgezogen",
    NoticeKind.REFERRAL_DECLINED: "Lotse: Vermittlung abgelehnt",
    NoticeKind.REFERRAL_COMPLETED: "Lotse: Vermittlung abgeschlossen",
    NoticeKind.PROGRESS_NOTE: "Lotse: Neuer Zwischenstand einer Partnerstelle",
    NoticeKind.REVIEW_DUE_SOON: "Lotse: Überprüfung in 7 Tagen fällig",
    NoticeKind.REVIEW_OVERDUE: "Lotse: Überprüfung überfällig",
    NoticeKind.INBOUND_REFERRAL: "Lotse: Neue Zuweisung an Ihre Beratungsstelle",
    NoticeKind.ESCALATION: "Lotse: Eskalation: Vermittlung ohne Antwort",
    NoticeKind.DAILY_DIGEST: "Lotse: Tagesübersicht der Koordination",
    NoticeKind.INBOUND_ACCEPTED: "Lotse: Zuweisung angenommen",
    NoticeKind.INBOUND_DECLINED: "Lotse: Zuweisung abgelehnt",
}
# The client of tests/samples.py, in every form a leak could take.
CLIENT_DATA = re.compile(r"Amina|Karimi|1990-05-17|17\.0?5\.1990|17\. Mai 1990", re.IGNORECASE)


def addressee(kind: NoticeKind) -> Addressee:
    to = ADDRESSEE_OF[kind]
    if kind in (NoticeKind.INBOUND_ACCEPTED, NoticeKind.INBOUND_DECLINED):
        return Addressee.partner(REFERRING_PARTNER)
    return {
        AddresseeKind.PARTNER: Addressee.partner(PARTNER),
        AddresseeKind.COUNSELLOR: Addressee.counsellor("berater1"),
        AddresseeKind.SUPERVISORS: Addressee.supervisors("musterstadt"),
        AddresseeKind.CENTRE: Addressee.centre("mbe-mitte"),
    }[to]


def notice(kind: NoticeKind, case_id: str, referral_id: str, sequence: int) -> Notice:
    return Notice(
        event_key=key_of(case_id, sequence, kind),
        kind=kind,
        to=addressee(kind),
        case_id=case_id,
        referral_id=referral_id,
        inbound_referral_id="inbound-1",
        deadline="2026-12-08",  # type: ignore[arg-type]
        count=2,
    )


def activities(lotse: Lotse, server: MailServer) -> NotificationActivities:
    mailer = SmtpSender.from_url(server.url(), MAIL_FROM)
    return NotificationActivities(SqlNoticeLedger(lotse.engine), mailer, BASE)


async def _a_case_with_referrals(lotse: Lotse) -> tuple[str, str]:
    case_id = await lotse.active_case("berater1")  # Amina Karimi, born 1990-05-17

    async def referral() -> str | None:
        state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
        ids = {r["partner_id"]: r["id"] for r in state["referrals"]}
        return ids.get(PARTNER)

    return case_id, await eventually(referral)


async def test_every_kind_reaches_its_recipients_in_german_without_client_data(
    lotse: Lotse,
) -> None:
    case_id, referral_id = await _a_case_with_referrals(lotse)
    summary = await lotse.projected(case_id)
    assert summary.client_display_name == "Amina K."  # the data is there to leak
    # The digest goes to supervisors who asked for it.
    digest_on = {"email": True, "daily_digest": True}
    await lotse.ok("koordination", "PUT", "/me/notification-settings", json=digest_on)
    notices = [
        notice(kind, case_id, referral_id, sequence)
        for sequence, kind in enumerate(NoticeKind, start=100)
    ]
    with mail_server() as server:
        server.refuse(REFUSED, "550 5.1.1 Unbekannter Empfänger")
        results = await emit(lotse.client, activities(lotse, server), notices)
        received = server.received
    assert all(result.mails_pending == 0 for result in results)

    by_subject: dict[str, list[tuple[str, ...]]] = {}
    for mail in received:
        by_subject.setdefault(mail.subject, []).append(mail.recipients)
        assert not CLIENT_DATA.search(mail.everything()), mail.everything()
        assert not CLIENT_DATA.search(mail.raw.decode("utf-8", "replace"))
        assert case_id in mail.parts()["text/plain"] or "inbound-1" in mail.parts()["text/plain"]
    for kind in NoticeKind:
        if addressee(kind).id == REFERRING_PARTNER:
            assert SUBJECTS[kind] not in by_subject  # refused for good: see the admins' list
            continue
        assert by_subject[SUBJECTS[kind]] == [(ADDRESS[ADDRESSEE_OF[kind]],)], kind
    assert len(received) == len(NoticeKind) - 2

    # In the app: each account sees its own, newest first, with the German title and link.
    mine = await lotse.ok("berater1", "GET", "/notifications")
    kinds = [item["kind"] for item in mine["items"]]
    counsellor_kinds = [
        k.value
        for k in NoticeKind
        if ADDRESSEE_OF[k] in (AddresseeKind.COUNSELLOR, AddresseeKind.CENTRE)
    ]
    assert kinds == list(reversed(counsellor_kinds))
    declined = next(i for i in mine["items"] if i["kind"] == "referral_declined")
    assert declined["title"] == "Vermittlung abgelehnt"
    assert declined["link"] == f"/faelle/{case_id}" and declined["read_at"] is None
    assert declined["deadline"] == "2026-12-08"
    assert not CLIENT_DATA.search(str(mine))
    partner = await lotse.ok("sprachkurs", "GET", "/notifications")
    assert {item["link"] for item in partner["items"]} == {f"/eingang/{referral_id}"}
    # The referring partner's two (the case's own notice of its referral comes beside them).
    jobcenter = (await lotse.ok("jobcenter", "GET", "/notifications"))["items"]
    assert sorted(i["kind"] for i in jobcenter if i["kind"].startswith("inbound_")) == [
        "inbound_accepted",
        "inbound_declined",
    ]

    # Read: once by its owner; another user's answers 404 like a missing one.
    read = await lotse.ok("berater1", "POST", f"/notifications/{declined['id']}/read")
    assert read["read_at"] is not None
    foreign = await lotse.post("sprachkurs", f"/notifications/{declined['id']}/read")
    missing = await lotse.post("sprachkurs", "/notifications/99999999/read")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    unread = await lotse.ok("berater1", "GET", "/notifications", params={"unread": "true"})
    assert len(unread["items"]) == len(counsellor_kinds) - 1
    assert declined["id"] not in [item["id"] for item in unread["items"]]

    # The administrators see the mail that never arrived: ids, kind, address, error type.
    failed = await lotse.ok("admin", "GET", "/admin/mail-deliveries", params={"status": "failed"})
    rows = {(row["kind"], row["address"], row["last_error"]) for row in failed["items"]}
    assert rows == {
        ("inbound_accepted", REFUSED, "SMTPRecipientsRefused 550"),
        ("inbound_declined", REFUSED, "SMTPRecipientsRefused 550"),
    }
    assert not CLIENT_DATA.search(str(failed))
    sent = await lotse.ok("admin", "GET", "/admin/mail-deliveries", params={"status": "sent"})
    assert len(sent["items"]) == len(NoticeKind) - 2


async def test_a_counsellor_who_turned_mail_off_gets_none_but_sees_it_in_the_app(
    lotse: Lotse,
) -> None:
    case_id, referral_id = await _a_case_with_referrals(lotse)
    off = await lotse.ok("berater1", "PUT", "/me/notification-settings", json={"email": False})
    assert off == {"email": False}
    assert (await lotse.ok("berater1", "GET", "/me/notification-settings")) == {"email": False}
    try:
        overdue = notice(NoticeKind.REVIEW_OVERDUE, case_id, referral_id, 500)
        with mail_server() as server:
            [result] = await emit(lotse.client, activities(lotse, server), [overdue])
            assert server.received == []
        assert (result.in_app_new, result.mails_sent) == (1, 0)
        mine: dict[str, Any] = await lotse.ok("berater1", "GET", "/notifications")
        assert mine["items"][0]["kind"] == "review_overdue"
        assert mine["items"][0]["case_id"] == case_id
    finally:
        await lotse.ok("berater1", "PUT", "/me/notification-settings", json={"email": True})
