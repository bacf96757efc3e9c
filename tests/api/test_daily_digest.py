"""The coordination's daily digest, through the real system: the HTTP API, the real workflows
and activities on a time-skipping server of the module's own, the seeded SQLite store and a
real SMTP server in the test process. A supervisor turns the digest on; at seven the next
morning she gets one mail with the count of her municipality's open items; nobody else does.
"""

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api_harness import Lotse, eventually, running_lotse, time_skipping_server
from tests.mail_harness import MailServer, Received, mail_server, sender
from workflows.digest import DIGEST_HOUR, DigestWorkflow, next_digest_at

SUPERVISOR_MAIL = "koordination@musterstadt.example"
SUBJECT = "Lotse: Tagesübersicht der Koordination"


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


async def _digests(smtp: MailServer) -> list[Received] | None:
    found = [m for m in smtp.received if m.subject == SUBJECT]
    return found or None


async def test_only_the_coordination_has_a_digest_and_it_is_off_until_she_asks(
    lotse: Lotse,
) -> None:
    refused = await lotse.call(
        "berater1", "PUT", "/me/notification-settings", json={"email": True, "daily_digest": True}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "daily_digest", "message": "Die Tagesübersicht gibt es nur für die Koordination."}
    ]
    for bad in ("ja", 1, None, "\x00"):
        body = {"email": True, "daily_digest": bad}
        response = await lotse.call("koordination", "PUT", "/me/notification-settings", json=body)
        if bad is None:  # left out: unchanged
            assert response.status_code == 200
            continue
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "daily_digest"
    assert await lotse.ok("koordination", "GET", "/me/notification-settings") == {
        "email": True,
        "daily_digest": False,
    }


async def test_at_seven_the_coordination_gets_the_count_of_open_items(
    lotse: Lotse, env: WorkflowEnvironment, smtp: MailServer
) -> None:
    turned_on = await lotse.ok(
        "koordination",
        "PUT",
        "/me/notification-settings",
        json={"email": True, "daily_digest": True},
    )
    assert turned_on == {"email": True, "daily_digest": True}
    case_id = await lotse.active_case()
    # Its two referrals stay unanswered past their deadline: open items of the municipality.
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    acknowledge_by = max(r["deadlines"]["acknowledge_by"] for r in state["referrals"])
    now = await env.get_current_time()
    # A day past the deadline: the digest counts as of the start of its German day, so a case
    # opened between midnight and seven would otherwise be counted before its deadline passed
    # (the test failed when run at night).
    await env.sleep(datetime.fromisoformat(acknowledge_by) - now + timedelta(days=1))
    await env.client.start_workflow(
        DigestWorkflow.run,
        DIGEST_HOUR.hour,
        id=f"digest-{uuid.uuid4()}",
        task_queue=lotse.settings.task_queue,
    )
    now = await env.get_current_time()
    await env.sleep(next_digest_at(now) - now + timedelta(minutes=5))
    [digest] = await eventually(lambda: _digests(smtp), timeout=30)
    assert digest.recipients == (SUPERVISOR_MAIL,)
    text = digest.parts()["text/plain"]
    told = re.search(r"Ihre tägliche Übersicht: (\d+) offene Hinweise", text)
    assert told is not None and int(told.group(1)) >= 2, text
    assert "/aufsicht" in text and "Amina" not in text and "Karimi" not in text
    page = await lotse.ok("koordination", "GET", "/notifications")
    assert [n["kind"] for n in page["items"]].count("daily_digest") == 1


def test_seven_is_seven_in_germany_in_winter_and_in_summer() -> None:
    winter = next_digest_at(datetime(2026, 12, 1, 6, 59, tzinfo=UTC))
    assert winter == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 07:00 CET, the next day
    assert next_digest_at(datetime(2026, 12, 1, 5, 59, tzinfo=UTC)) == datetime(
        2026, 12, 1, 6, 0, tzinfo=UTC
    )
    summer = next_digest_at(datetime(2027, 7, 1, 4, 0, tzinfo=UTC))
    assert summer == datetime(2027, 7, 1, 5, 0, tzinfo=UTC)  # 07:00 CEST
