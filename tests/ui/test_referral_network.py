"""The network both ways, on the pages. Who sent a referral, and whom to call: the partner's
inbox and referral page name the sending centre and the counsellor with their contact, the
priority and the deadline to acknowledge; after a transfer they name the centre and counsellor
that hold the case now. What the partner said: the counsellor's case page shows each
referral's timeline with the partner's words, and a decline as a task with the reason.

Real Temporal (the shared dev server), the real workflows and the seeded SQLite store; the
pages through an httpx client with a cookie jar, the list through the JSON API.
"""

import html
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api_harness import Lotse, eventually, running_lotse
from tests.ui_harness import Browser


@pytest.fixture(scope="module")
async def lotse(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lotse]:
    async with running_lotse(dev_env, tmp_path_factory.mktemp("lotse")) as system:
        yield system


async def _item(lotse: Lotse, partner: str, case_id: str) -> dict[str, Any]:
    return await lotse.inbox_item(partner, case_id)


async def test_the_partner_page_names_the_sender_and_the_priority(lotse: Lotse) -> None:
    case_id = await lotse.active_case()
    item = await _item(lotse, "sprachkurs", case_id)
    assert item["priority"] in (1, 2, 3) and item["acknowledge_by"]

    partner = Browser(lotse)
    assert (await partner.login("sprachkurs")).status_code == 303
    inbox = html.unescape((await partner.get("/eingang")).text)
    assert "MBE Musterstadt-Mitte" in inbox
    page = await partner.get(f"/eingang/{item['id']}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    for shown in (
        "Vermittelt von",
        "MBE Musterstadt-Mitte",
        "Marktplatz 4, 12345 Musterstadt",
        "01234 5678-210",
        "mbe-mitte@musterstadt.example",
        "Katrin Schulte",
        "01234 5678-211",
        "Annehmen bis",
        "Priorität",
        "Weitere Angaben erhalten Sie von MBE Musterstadt-Mitte.",
    ):
        assert shown in text, shown
    # Still nothing of the client beyond the consented minimum: her first name, no family name.
    assert "Amina" in text and "Karimi" not in text


async def test_after_a_transfer_the_partner_sees_whom_to_call_now(lotse: Lotse) -> None:
    case_id = await lotse.active_case()
    before = await _item(lotse, "jobcenter", case_id)
    assert before["centre"]["id"] == "mbe-mitte"
    moved = {"centre_id": "mbe-nord", "counsellor_id": "berater2"}
    result = await lotse.ok("berater1", "POST", f"/cases/{case_id}/transfer", json=moved)
    await lotse.projected(case_id, result["sequence"])

    after = await _item(lotse, "jobcenter", case_id)
    assert after["id"] == before["id"]
    assert after["centre"] == {
        "id": "mbe-nord",
        "name": "MBE Musterstadt-Nord",
        "phone": "01234 5678-310",
        "email": "mbe-nord@musterstadt.example",
        "address": "Nordring 17, 12347 Musterstadt",
    }
    assert after["counsellor"] == {
        "name": "Murat Yılmaz",
        "phone": "01234 5678-311",
        "email": "berater2@musterstadt.example",
    }


async def test_the_counsellor_sees_the_partners_words_and_the_decline_as_a_task(
    lotse: Lotse,
) -> None:
    case_id = await lotse.active_case()
    school = await _item(lotse, "sprachkurs", case_id)
    jobcenter = await _item(lotse, "jobcenter", case_id)
    await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/acknowledge")
    note = {"note": "Einstufungstest am 12. Januar, Kurs ab Februar"}
    await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/progress", json=note)
    reason = {"reason": "Bis März keine freien Beratungstermine <b>leider</b>"}
    await lotse.ok("jobcenter", "POST", f"/referrals/{jobcenter['id']}/decline", json=reason)

    counsellor = Browser(lotse)
    assert (await counsellor.login("berater1")).status_code == 303

    async def page_with_decline() -> str | None:
        text = (await counsellor.get(f"/faelle/{case_id}")).text
        return text if "Grund des Partners" in text else None

    page = await eventually(page_with_decline)
    # The words are shown as text, never as markup.
    assert "<b>leider</b>" not in page and "&lt;b&gt;leider&lt;/b&gt;" in page
    text = html.unescape(page)
    timeline = text.split('id="referrals-title"')[1]
    assert "Zwischenstand: <q>Einstufungstest am 12. Januar, Kurs ab Februar</q>" in timeline
    assert "abgelehnt: <q>Bis März keine freien Beratungstermine <b>leider</b></q>" in timeline
    # No other Jobcenter is left: the one task shows the partner's reason beside it.
    tasks = text.split('id="tasks-title"')[1].split("</section>")[0]
    assert "Kein weiterer Partner für „Arbeit“" in tasks
    assert "Grund des Partners: <q>Bis März keine freien Beratungstermine" in tasks

    # The counsellor's task list names the client of each task.
    listed = html.unescape((await counsellor.get("/faelle")).text)
    tasks = listed.split("Meine offenen Aufgaben")[1]
    assert "<strong>Amina K.</strong>: " in tasks


async def test_the_counsellor_withdraws_a_referral_from_its_timeline(lotse: Lotse) -> None:
    case_id = await lotse.active_case()
    school = await _item(lotse, "sprachkurs", case_id)
    counsellor = Browser(lotse)
    assert (await counsellor.login("berater1")).status_code == 303
    page = await counsellor.get(f"/faelle/{case_id}")
    assert "Zurückziehen" in page.text and "An einen anderen Partner geben" in page.text

    # Without a reason: the form comes back with the error at the field of this referral.
    action = f"/faelle/{case_id}/vermittlung/zurueckziehen"
    empty = await counsellor.submit(
        f"/faelle/{case_id}", action, {"referral_id": school["id"], "reason": ""}
    )
    assert empty.status_code == 422
    # The error stands in this referral's withdrawal form, next to its reason field.
    form = html.unescape(empty.text).split('aria-label="Vermittlung zurückziehen"')[-1]
    assert 'class="field has-error"' in form.split("</form>")[0]
    assert "Bitte nennen Sie einen Grund für das Zurückziehen." in form.split("</form>")[0]
    # A referral of another case, sent from this case's page: 404, nothing changes.
    other_case = await lotse.active_case()
    other = await _item(lotse, "sprachkurs", other_case)
    foreign = await counsellor.submit(
        f"/faelle/{case_id}", action, {"referral_id": other["id"], "reason": "falsch"}
    )
    assert foreign.status_code == 404
    done = await counsellor.submit(
        f"/faelle/{case_id}", action, {"referral_id": school["id"], "reason": "Kurs woanders"}
    )
    assert done.status_code == 303
    shown = html.unescape((await counsellor.get(done.headers["location"])).text)
    assert "Die Vermittlung ist zurückgezogen" in shown
    assert "zurückgezogen: <q>Kurs woanders</q>" in shown
    state = await lotse.ok("berater1", "GET", f"/cases/{other_case}")
    assert all(r["status"] != "withdrawn" for r in state["referrals"])


async def test_the_counsellor_reports_a_measure_without_partner_to_the_coordination(
    lotse: Lotse,
) -> None:
    case_id = await lotse.active_case()
    school = await _item(lotse, "sprachkurs", case_id)
    await lotse.ok(
        "sprachkurs", "POST", f"/referrals/{school['id']}/decline", json={"reason": "voll"}
    )
    counsellor = Browser(lotse)
    assert (await counsellor.login("berater1")).status_code == 303

    async def offered() -> str | None:
        text = html.unescape((await counsellor.get(f"/faelle/{case_id}")).text)
        return text if "Ruhen lassen oder der Koordination melden" in text else None

    await eventually(offered)
    action = f"/faelle/{case_id}/vermittlung/zurueckstellen"
    form = {
        "referral_id": school["id"],
        "how": "coordination",
        "reason": "Kein Kurs mit Kinderbetreuung",
    }
    done = await counsellor.submit(f"/faelle/{case_id}", action, form)
    assert done.status_code == 303, done.text
    shown = html.unescape((await counsellor.get(done.headers["location"])).text)
    assert "Die Maßnahme ist zurückgestellt." in shown
    assert "an Koordination gemeldet" in shown  # the badge beside the referral
    timeline = shown.split('id="referrals-title"')[1]
    step = "Beratungsstelle: <q>An Koordination gemeldet: Kein Kurs mit Kinderbetreuung</q>"
    assert step in timeline
