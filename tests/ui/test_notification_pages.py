"""The notification pages over HTTP (api/ui/notification_pages.py): the bell with the unread
count on every role's page, the list with its „gelesen" buttons and links, the mail switch,
the administrators' page of failed mails, and what each refuses (another user's notification,
a form without its CSRF token, a bad value, a role that has no business there)."""

import re
from datetime import UTC, date, datetime

from domain.notifications import Addressee, DeliveryStatus, Notice, NoticeKind, event_key
from store.notifications import SqlNoticeLedger
from tests.api_harness import Lotse
from tests.ui_harness import Browser, csrf_of

CASE = "case-0b6c1a52-3f0e-4d0b-9a57-1c2d3e4f5a6b"
BELL = re.compile(r'id="bell-count">(\d+)<')


def _notify(lotse: Lotse, kind: NoticeKind, to: Addressee, username: str, seq: int) -> Notice:
    notice = Notice(
        event_key=event_key(CASE, seq, kind),
        kind=kind,
        to=to,
        case_id=CASE,
        referral_id=f"{CASE}-ref-1",
        deadline=date(2026, 12, 8),
    )
    SqlNoticeLedger(lotse.engine).record_in_app(notice, [username], datetime.now(UTC))
    return notice


async def _browser(lotse: Lotse, username: str) -> Browser:
    browser = Browser(lotse)
    assert (await browser.login(username)).status_code == 303
    return browser


def _bell(html: str) -> int:
    found = BELL.search(html)
    assert found, "page without the bell"
    return int(found.group(1))


async def test_the_bell_counts_each_user_s_own_unread_notifications_on_every_page(
    lotse: Lotse,
) -> None:
    _notify(lotse, NoticeKind.ESCALATION, Addressee.supervisors("musterstadt"), "koordination", 1)
    _notify(lotse, NoticeKind.ESCALATION, Addressee.supervisors("musterstadt"), "koordination", 2)
    _notify(
        lotse, NoticeKind.REFERRAL_NEW, Addressee.partner("jobcenter-musterstadt"), "jobcenter", 3
    )
    for username, pages, count in (
        ("koordination", ("/aufsicht", "/aufsicht/faelle", "/benachrichtigungen"), 2),
        ("jobcenter", ("/eingang", "/benachrichtigungen"), 1),
        ("berater2", ("/faelle", "/faelle/neu"), 0),
        ("admin", ("/", "/verwaltung/mails"), 0),
    ):
        browser = await _browser(lotse, username)
        for path in pages:
            page = await browser.get(path)
            assert page.status_code == 200, (username, path)
            assert _bell(page.text) == count, (username, path)
            assert 'href="/benachrichtigungen"' in page.text
        await browser.aclose()


async def test_the_list_links_to_the_object_marks_read_and_switches_mail(lotse: Lotse) -> None:
    mine = _notify(
        lotse, NoticeKind.REFERRAL_DECLINED, Addressee.counsellor("berater1"), "berater1", 10
    )
    theirs = _notify(
        lotse, NoticeKind.REFERRAL_DECLINED, Addressee.counsellor("berater2"), "berater2", 11
    )
    browser = await _browser(lotse, "berater1")
    page = await browser.get("/benachrichtigungen")
    assert "Vermittlung abgelehnt" in page.text and f'href="/faelle/{CASE}"' in page.text
    assert "Frist: 8. Dezember 2026" in page.text
    before = _bell(page.text)
    ids = re.findall(r'action="/benachrichtigungen/(\d+)/gelesen"', page.text)
    assert len(ids) == before >= 1
    done = await browser.submit("/benachrichtigungen", f"/benachrichtigungen/{ids[0]}/gelesen", {})
    assert done.status_code == 303
    after = await browser.get("/benachrichtigungen")
    assert _bell(after.text) == before - 1
    everything = await browser.get("/benachrichtigungen?ansicht=alle")
    assert everything.text.count("Vermittlung abgelehnt") >= 1
    # Another user's notification: the same "not found" page as a missing one.
    with_id = await browser.get("/benachrichtigungen")
    token = csrf_of(with_id.text)
    berater2 = await _browser(lotse, "berater2")
    foreign_page = await berater2.get("/benachrichtigungen")
    foreign_ids = re.findall(r'action="/benachrichtigungen/(\d+)/gelesen"', foreign_page.text)
    assert foreign_ids and theirs.event_key != mine.event_key
    for target in (foreign_ids[0], "999999999"):
        refused = await browser.http.post(
            f"/benachrichtigungen/{target}/gelesen", data={"csrf_token": token}
        )
        assert refused.status_code == 404 and "text/html" in refused.headers["content-type"]
    assert _bell((await berater2.get("/benachrichtigungen")).text) == len(foreign_ids)
    # Without the form's token nothing is marked.
    forged = await browser.http.post(f"/benachrichtigungen/{ids[-1]}/gelesen", data={})
    assert forged.status_code == 403
    # Mail off and on; a value that is neither is refused in German.
    off = await browser.submit("/benachrichtigungen", "/benachrichtigungen/email", {"email": "aus"})
    assert off.status_code == 303
    page = await browser.get(off.headers["location"])
    assert "E-Mail-Benachrichtigungen sind ausgeschaltet" in page.text
    assert (await lotse.ok("berater1", "GET", "/me/notification-settings")) == {"email": False}
    bad = await browser.submit(
        "/benachrichtigungen", "/benachrichtigungen/email", {"email": "\x00"}
    )
    assert bad.status_code == 422 and "E-Mail-Benachrichtigungen: Bitte wählen" in bad.text
    on = await browser.submit("/benachrichtigungen", "/benachrichtigungen/email", {"email": "an"})
    assert on.status_code == 303
    assert (await lotse.ok("berater1", "GET", "/me/notification-settings")) == {"email": True}
    await browser.aclose()
    await berater2.aclose()


async def test_administrators_see_the_failed_mails_and_nobody_else(lotse: Lotse) -> None:
    notice = _notify(
        lotse, NoticeKind.REFERRAL_WITHDRAWN, Addressee.partner("kita-musterstadt"), "kita", 20
    )
    ledger = SqlNoticeLedger(lotse.engine)
    now = datetime.now(UTC)
    ledger.record_delivery(
        notice, "kita@musterstadt.example", DeliveryStatus.FAILED, "SMTPRecipientsRefused 550", now
    )
    ledger.record_delivery(notice, "sent@musterstadt.example", DeliveryStatus.SENT, None, now)
    admin = await _browser(lotse, "admin")
    page = await admin.get("/verwaltung/mails")
    assert "kita@musterstadt.example" in page.text and "SMTPRecipientsRefused 550" in page.text
    assert "Vermittlung zurückgezogen" in page.text
    assert "sent@musterstadt.example" not in page.text
    assert 'href="/verwaltung/mails"' in (await admin.get("/")).text
    await admin.aclose()
    for username in ("berater1", "sprachkurs", "koordination"):
        other = await _browser(lotse, username)
        assert (await other.get("/verwaltung/mails")).status_code == 404
        await other.aclose()
