"""The case tells people what happened, in the app and by mail, through the real system: the
HTTP API, the real workflows and activities on a time-skipping server, the seeded SQLite
store, and a real SMTP server in the test process (aiosmtpd).

A new referral reaches the partner's contact address; a partner that never answers is
reminded at its acknowledgement deadline (working days, time skipped), then the
coordination gets the escalation; a decline and a withdrawal reach the counsellor and the
partner. No mail names the client or her birth date; each event is told once.
"""

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from store.models import User
from tests.api_harness import Lotse, eventually, running_lotse, time_skipping_server
from tests.mail_harness import MailServer, Received, mail_server, sender
from tests.samples import INTAKE

PARTNER_MAIL = "jobcenter@musterstadt.example"
SCHOOL_MAIL = "sprachkurs@musterstadt.example"
COUNSELLOR_MAIL = "berater1@musterstadt.example"
SUPERVISOR_MAIL = "koordination@musterstadt.example"
# What the client's profile holds that no mail may carry (tests/samples.py).
CLIENT_WORDS = ("Amina", "Karimi", "Amina K.")


@pytest.fixture(scope="module")
def smtp() -> Iterator[MailServer]:
    with mail_server() as server:
        yield server


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as environment:
        yield environment


@pytest.fixture(scope="module")
async def lotse(
    env: WorkflowEnvironment, smtp: MailServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lotse]:
    async with running_lotse(
        env, tmp_path_factory.mktemp("lotse"), mailer=sender(smtp.url())
    ) as system:
        yield system


def _birth_dates() -> list[str]:
    born = str(INTAKE["birth_date"])
    year, month, day = born.split("-")
    return [born, f"{day}.{month}.{year}"]


def _assert_no_client_data(mails: list[Received]) -> None:
    for mail in mails:
        text = mail.raw.decode("utf-8", "replace") + "".join(mail.parts().values())
        for word in (*CLIENT_WORDS, *_birth_dates()):
            assert word not in text, (mail.subject, word)


async def _mails_to(smtp: MailServer, address: str, subject: str, count: int = 1) -> list[Received]:
    def arrived() -> list[Received] | None:
        found = [m for m in smtp.to(address) if m.subject == subject]
        return found if len(found) >= count else None

    return await eventually(arrived, timeout=30)


async def test_a_partner_that_never_answers_is_reminded_then_the_coordination_is_told(
    lotse: Lotse, env: WorkflowEnvironment, smtp: MailServer
) -> None:
    case_id = await lotse.active_case()
    placement = await lotse.open_referral(case_id, "jobcenter-musterstadt")

    # The new referral: to the Jobcenter's contact address and the language school's, once.
    [new] = await _mails_to(smtp, PARTNER_MAIL, "Lotse: Neue Vermittlung an Ihre Stelle")
    await _mails_to(smtp, SCHOOL_MAIL, "Lotse: Neue Vermittlung an Ihre Stelle")
    assert placement["id"] in new.parts()["text/plain"]
    deadlines = placement["deadlines"]
    acknowledge_by = datetime.fromisoformat(deadlines["acknowledge_by"])
    escalate_at = datetime.fromisoformat(deadlines["escalate_at"])

    # Nothing more until the deadline to acknowledge (five working days) has passed.
    now = await env.get_current_time()
    await env.sleep(acknowledge_by - now - timedelta(hours=1))
    reminder_subject = "Lotse: Erinnerung: Vermittlung noch nicht angenommen"
    assert [m for m in smtp.to(PARTNER_MAIL) if m.subject == reminder_subject] == []
    await env.sleep(timedelta(hours=2))
    [reminder] = await _mails_to(smtp, PARTNER_MAIL, reminder_subject)
    assert placement["id"] in reminder.parts()["text/plain"]
    escalation_subject = "Lotse: Eskalation: Vermittlung ohne Antwort"
    assert smtp.to(SUPERVISOR_MAIL) == []

    # Ten working days: the coordination is told of each unanswered referral (the language
    # school did not answer either), with the day it expires.
    now = await env.get_current_time()
    await env.sleep(escalate_at - now + timedelta(hours=1))
    escalations = await _mails_to(smtp, SUPERVISOR_MAIL, escalation_subject, count=2)
    told = {m.parts()["text/plain"].split("Vermittlung: ")[1].split()[0] for m in escalations}
    assert placement["id"] in told and len(told) == 2
    for escalation in escalations:
        assert f"/aufsicht/faelle/{case_id}" in escalation.parts()["text/plain"]
        assert escalation.recipients == (SUPERVISOR_MAIL,)

    # Each told once, in the app too; no mail says who the client is.
    assert len([m for m in smtp.to(PARTNER_MAIL) if m.subject == reminder_subject]) == 1
    _assert_no_client_data(smtp.received)
    bell = await lotse.ok("koordination", "GET", "/notifications", params={"unread": "true"})
    assert [n["kind"] for n in bell["items"]].count("escalation") == 2


async def test_a_decline_reaches_the_counsellor_and_a_withdrawal_the_partner(
    lotse: Lotse, smtp: MailServer
) -> None:
    case_id = await lotse.active_case()
    school = await lotse.open_referral(case_id, "sprachschule-musterstadt")
    placement = await lotse.open_referral(case_id, "jobcenter-musterstadt")
    reason = {"reason": "Amina Karimi passt nicht in unsere Kurse"}  # words no mail may carry
    await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/decline", json=reason)
    declined = await _mails_to(smtp, COUNSELLOR_MAIL, "Lotse: Vermittlung abgelehnt")
    assert any(school["id"] in m.parts()["text/plain"] for m in declined)

    withdrawal = {"reason": "Die Klientin ist umgezogen."}
    path = f"/cases/{case_id}/referrals/{placement['id']}/withdraw"
    await lotse.ok("berater1", "POST", path, json=withdrawal)
    withdrawn = await _mails_to(smtp, PARTNER_MAIL, "Lotse: Vermittlung zurückgezogen")
    assert any(placement["id"] in m.parts()["text/plain"] for m in withdrawn)
    _assert_no_client_data(smtp.received)
    for mail in smtp.received:
        assert "umgezogen" not in mail.raw.decode("utf-8", "replace")


async def test_a_counsellor_who_turned_mail_off_is_told_in_the_app_only(
    lotse: Lotse, smtp: MailServer
) -> None:
    await lotse.ok("berater2", "PUT", "/me/notification-settings", json={"email": False})
    case_id = await lotse.active_case("berater2")
    school = await lotse.open_referral(case_id, "sprachschule-musterstadt", "berater2")
    before = len(smtp.to("berater2@musterstadt.example"))
    await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/acknowledge")
    note = {"note": "Einstufungstest am Montag"}
    await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/progress", json=note)

    async def in_the_app() -> list[dict[str, Any]] | None:
        page = await lotse.ok("berater2", "GET", "/notifications")
        found = [n for n in page["items"] if n["kind"] == "progress_note"]
        return found or None

    [told] = await eventually(in_the_app)
    assert told["case_id"] == case_id
    assert len(smtp.to("berater2@musterstadt.example")) == before
    with Session(lotse.engine) as session:
        user = session.exec(select(User).where(User.username == "berater2")).one()
        assert user.email_notifications is False


async def test_a_referral_to_a_centre_and_its_answer_are_told_both_ways(
    lotse: Lotse, smtp: MailServer
) -> None:
    body = {
        "centre_id": "mbe-mitte",
        "client": {"given_name": "Amina", "family_name": "Karimi"},
        "contact": {"phone": "0151 2345678"},
        "reason": "Amina Karimi braucht Beratung zur Anerkennung",
        "client_consents": True,
    }
    created = await lotse.ok("jobcenter", "POST", "/inbound-referrals", json=body)
    [told] = await _mails_to(smtp, COUNSELLOR_MAIL, "Lotse: Neue Zuweisung an Ihre Beratungsstelle")
    assert "/eingehende-vermittlungen" in told.parts()["text/plain"]
    # The other centre's counsellor hears nothing of it.
    assert not [m for m in smtp.to("berater2@musterstadt.example") if "Zuweisung" in m.subject]

    await lotse.ok("berater1", "POST", f"/inbound-referrals/{created['id']}/accept")
    [accepted] = await _mails_to(smtp, PARTNER_MAIL, "Lotse: Zuweisung angenommen")
    assert created["id"] in accepted.parts()["text/plain"]
    page = await lotse.ok("jobcenter", "GET", "/notifications")
    assert "inbound_accepted" in [n["kind"] for n in page["items"]]
    _assert_no_client_data(smtp.received)
    for mail in smtp.received:
        assert "0151" not in mail.raw.decode("utf-8", "replace")
