"""The coordination works escalated referrals and sees the ones that found no partner, on its
pages, without a browser (an httpx client with a cookie jar), against a real Temporal (a
time-skipping server of this module's own: time skips once, to the referrals' escalation
deadline, and the unanswered ones escalate), the real workflows and activities and the
seeded SQLite store.

Checked: the referral's page is the supervisor's of its municipality alone (404 for another
municipality's supervisor, a counsellor and a partner, exactly as for a missing id); it names
partner, kind, measure, need, centre and counsellor, never the client; a referral that is not
escalated gets no forms and the reason why; hostile input comes back in German next to its
field with the typed text kept and nothing changed; a withdrawal and a re-route reach the
workflow and return to the dashboard with a confirmation; a measure that found no partner
appears under „Vermittlungen ohne Partner“.
"""

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.ui.web import german_date
from store.models import Municipality, Role
from store.projections import ReferralSummary
from store.seed import DEMO_PASSWORD
from store.users import create_user, hash_password
from tests.api_harness import Lotse, eventually
from tests.hostile_values import HUGE, store_texts_are_clean
from tests.ui_harness import Browser

REASON = "Der Jobcenter-Standort antwortet seit drei Wochen nicht."
FOREIGN_SUPERVISOR = "koordination-anderswo"
MISSING = "case-00000000-0000-4000-8000-000000000000-ref-1"


@dataclass(frozen=True)
class World:
    """The module's referrals, by what the tests do with them."""

    to_withdraw: str  # escalated (case A, Jobcenter)
    acknowledged: str  # acknowledged before it escalated (case A, language school)
    to_reroute: str  # escalated (case B, Jobcenter)
    hostile: str  # escalated (case B, language school): hostile input changes nothing
    to_next_free: str  # escalated (case C, language school): no other school in the directory
    declined: str  # declined before (case C, Jobcenter): no other Jobcenter then
    fresh: str  # dispatched after the others escalated: not escalated (case D)
    cases: tuple[str, ...]


async def _referral(lotse: Lotse, case_id: str, partner: str) -> str:
    async def dispatched() -> str | None:
        state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
        found = [r["id"] for r in state["referrals"] if r["partner_id"] == partner]
        return found[-1] if found else None

    return await eventually(dispatched)


def _row(lotse: Lotse, referral_id: str) -> ReferralSummary | None:
    with Session(lotse.engine) as session:
        return session.get(ReferralSummary, referral_id)


async def _projected(lotse: Lotse, referral_id: str) -> ReferralSummary:
    def ready() -> ReferralSummary | None:
        return _row(lotse, referral_id)

    return await eventually(ready)


async def _escalated(lotse: Lotse, referral_id: str) -> ReferralSummary:
    def ready() -> ReferralSummary | None:
        row = _row(lotse, referral_id)
        return row if row is not None and row.escalated else None

    return await eventually(ready)


async def _referral_state(lotse: Lotse, case_id: str, referral_id: str) -> dict[str, Any]:
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    found: dict[str, Any] = next(r for r in state["referrals"] if r["id"] == referral_id)
    return found


@pytest.fixture(scope="module")
async def world(lotse: Lotse, own_env: WorkflowEnvironment) -> World:
    school, jobcenter = "sprachschule-musterstadt", "jobcenter-musterstadt"
    case_a, case_b, case_c = [await lotse.active_case() for _ in range(3)]
    ids = {
        (case, partner): await _referral(lotse, case, partner)
        for case in (case_a, case_b, case_c)
        for partner in (school, jobcenter)
    }
    await lotse.inbox_item("sprachkurs", case_a)
    await lotse.ok("sprachkurs", "POST", f"/referrals/{ids[case_a, school]}/acknowledge")
    await lotse.inbox_item("jobcenter", case_c)
    declined = ids[case_c, jobcenter]
    await lotse.ok("jobcenter", "POST", f"/referrals/{declined}/decline", json={"reason": "voll"})
    # Ten working days without an answer from the others: escalated. Slept to the last of
    # their deadlines (how many days that is depends on the holidays of the server's date);
    # the first expires five working days after its escalation, long after that.
    unanswered = [i for i in ids.values() if i not in (ids[case_a, school], declined)]
    rows = [await _projected(lotse, referral_id) for referral_id in unanswered]
    last = max(row.escalate_at for row in rows if row.escalate_at is not None)
    await own_env.sleep(last - await own_env.get_current_time() + timedelta(hours=1))
    for referral_id in unanswered:
        await _escalated(lotse, referral_id)
    case_d = await lotse.active_case()
    fresh = await _referral(lotse, case_d, school)
    await _projected(lotse, fresh)
    # A municipality of its own, with its own coordination.
    with Session(lotse.engine) as session:
        session.add(Municipality(id="anderswo", name="Anderswo", land="BY"))
        session.flush()
        create_user(
            session,
            FOREIGN_SUPERVISOR,
            Role.SUPERVISOR,
            password_hash=hash_password(DEMO_PASSWORD),
            municipality_id="anderswo",
        )
        session.commit()
    return World(
        to_withdraw=ids[case_a, jobcenter],
        acknowledged=ids[case_a, school],
        to_reroute=ids[case_b, jobcenter],
        hostile=ids[case_b, school],
        to_next_free=ids[case_c, school],
        declined=declined,
        fresh=fresh,
        cases=(case_a, case_b, case_c, case_d),
    )


@pytest.fixture
async def supervisor(lotse: Lotse) -> AsyncIterator[Browser]:
    browser = Browser(lotse)
    assert (await browser.login("koordination")).status_code == 303
    yield browser
    await browser.aclose()


def _page(referral_id: str) -> str:
    return f"/aufsicht/vermittlungen/{referral_id}"


def _form(page: str, label: str) -> str:
    """The form of `label` on the page (its opening tag to its end)."""
    start = page.index(f'aria-label="{label}"')
    return page[start : page.index("</form>", start)]


def _case_of(referral_id: str) -> str:
    return referral_id.rsplit("-ref-", 1)[0]


async def test_the_referral_page_shows_names_and_offers_both_forms(
    lotse: Lotse, world: World, supervisor: Browser
) -> None:
    page = await supervisor.get(_page(world.to_withdraw))
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    for shown in (
        "Jobcenter Musterstadt",  # the partner's name and its kind
        "· Jobcenter",
        "Vermittlung in Arbeit",  # the measure and the need, in German
        "Arbeit",
        "eskaliert",
        "MBE Musterstadt-Mitte",  # the centre and the counsellor, by name
        "Katrin Schulte",
        "An anderen Partner geben",
        "Zurückziehen",
        "nächster freier Partner",
    ):
        assert shown in text, shown
    row = _row(lotse, world.to_withdraw)
    assert row is not None
    for day in (row.dispatched_at, row.acknowledge_by, row.escalate_at, row.expires_at):
        assert german_date(day) in text
    # Nothing of the client, and no slugs where people expect names.
    assert "Amina" not in text and "Karimi" not in text
    assert ">jobcenter-musterstadt<" not in text and ">berater1<" not in text
    # The dashboard links the escalated row to this page, by the partner's name.
    dashboard = html.unescape((await supervisor.get("/aufsicht")).text)
    unanswered = dashboard.split('id="unanswered-title"')[1].split("</section>")[0]
    assert f'href="{_page(world.to_withdraw)}"' in unanswered
    assert "Jobcenter Musterstadt" in unanswered and ">jobcenter-musterstadt<" not in unanswered
    # The case overview links it too.
    overview = html.unescape((await supervisor.get(f"/aufsicht/faelle/{row.case_id}")).text)
    assert f'href="{_page(world.to_withdraw)}"' in overview and "Katrin Schulte" in overview


async def test_only_the_municipality_s_coordination_opens_the_page(
    lotse: Lotse, world: World, supervisor: Browser
) -> None:
    missing = await supervisor.get(_page(MISSING))
    assert missing.status_code == 404 and "Nicht gefunden" in missing.text
    for username in (FOREIGN_SUPERVISOR, "berater1", "jobcenter"):
        other = Browser(lotse)
        assert (await other.login(username)).status_code == 303
        for path in (_page(world.to_withdraw), _page(MISSING)):
            refused = await other.get(path)
            assert refused.status_code == 404, (username, path)
            assert "Nicht gefunden" in refused.text and "Jobcenter Musterstadt" not in refused.text
        # A form sent anyway (with a token of one of its own pages): 404, nothing changes.
        for action in ("zurueckziehen", "weitergeben"):
            sent = await other.submit(
                "/benachrichtigungen", f"{_page(world.to_withdraw)}/{action}", {"reason": REASON}
            )
            assert sent.status_code == 404, (username, action)
        await other.aclose()
    state = await _referral_state(lotse, _case_of(world.to_withdraw), world.to_withdraw)
    assert state["status"] == "dispatched"
    # Without the form's token: refused before anything else.
    forged = await supervisor.http.post(
        f"{_page(world.to_withdraw)}/zurueckziehen", data={"reason": REASON}
    )
    assert forged.status_code == 403


async def test_a_referral_that_is_not_escalated_offers_no_form_and_says_why(
    lotse: Lotse, world: World, supervisor: Browser
) -> None:
    acknowledged = html.unescape((await supervisor.get(_page(world.acknowledged))).text)
    assert "im Status „angenommen“" in acknowledged
    assert "nur eskalierte Vermittlungen" in acknowledged
    assert "/zurueckziehen" not in acknowledged and "/weitergeben" not in acknowledged

    fresh = await supervisor.get(_page(world.fresh))
    row = _row(lotse, world.fresh)
    assert fresh.status_code == 200 and row is not None and row.escalate_at is not None
    text = html.unescape(fresh.text)
    assert "noch nicht eskaliert: Antwortet der Partner nicht, eskaliert sie am " in text
    assert german_date(row.escalate_at) in text
    assert "<form" not in text.split("<main")[1]
    # A form sent anyway: the workflow's refusal (409) in German, nothing changed.
    sent = await supervisor.submit(
        _page(world.fresh), f"{_page(world.fresh)}/zurueckziehen", {"reason": REASON}
    )
    assert sent.status_code == 409
    assert "nur bei eskalierten Vermittlungen" in html.unescape(sent.text)
    state = await _referral_state(lotse, _case_of(world.fresh), world.fresh)
    assert state["status"] == "dispatched"


async def test_hostile_input_is_refused_next_to_its_field_and_changes_nothing(
    lotse: Lotse, world: World, supervisor: Browser
) -> None:
    page = _page(world.hostile)
    for reason, words in (
        ("", "Bitte nennen Sie einen Grund für das Zurückziehen."),
        ("   ", "Bitte nennen Sie einen Grund für das Zurückziehen."),
        (HUGE, "Zu lang"),
        ("Kurs\x00voll", "Steuerzeichen (U+0000"),
        ("Kurs\x1b[31mvoll", "Steuerzeichen (U+001B"),
        ("Kurs\u202evoll", "Schreibrichtung (U+202E"),
    ):
        refused = await supervisor.submit(page, f"{page}/zurueckziehen", {"reason": reason})
        assert refused.status_code == 422, (reason[:10], refused.text[:300])
        form = html.unescape(_form(refused.text, "Vermittlung zurückziehen"))
        error = re.search(r'id="f-zurueck-grund-error">([^<]*)<', form)
        assert error and words in error.group(1), (reason[:10], form[:500])
        if reason == HUGE:
            assert HUGE in form  # what was typed is still there
        # The other form stays as it was: no error there.
        assert "has-error" not in _form(refused.text, "Vermittlung an anderen Partner geben")

    typed = "Die Sprachschule hat keinen Kursplatz frei."
    for partner_id, words in (
        ("x" * 200, "Zu lang"),
        ("schule\x00", "Steuerzeichen (U+0000"),
        ("jobcenter-musterstadt", "Kein Partner der Art „Sprachkursträger“"),  # another kind
        ("nirgendwo", "Kein Partner der Art"),  # not in the directory
    ):
        refused = await supervisor.submit(
            page, f"{page}/weitergeben", {"partner_id": partner_id, "reason": typed}
        )
        assert refused.status_code == 422, (partner_id[:10], refused.text[:300])
        form = html.unescape(_form(refused.text, "Vermittlung an anderen Partner geben"))
        error = re.search(r'id="f-weiter-partner-error">([^<]*)<', form)
        assert error and words in error.group(1), (partner_id[:10], form[:600])
        assert typed in form
    # A body beyond the API's limit: refused before it is read.
    too_big = await supervisor.submit(page, f"{page}/zurueckziehen", {"reason": "x" * 70_000})
    assert too_big.status_code == 413

    state = await _referral_state(lotse, _case_of(world.hostile), world.hostile)
    assert state["status"] == "dispatched" and len(state["history"]) == 1
    assert store_texts_are_clean(lotse.engine)
    # Still the coordination's to act on.
    assert "Vermittlung zurückziehen" in (await supervisor.get(page)).text


async def test_the_coordination_withdraws_an_escalated_referral(
    lotse: Lotse, world: World, supervisor: Browser
) -> None:
    page = _page(world.to_withdraw)
    done = await supervisor.submit(page, f"{page}/zurueckziehen", {"reason": REASON})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/aufsicht?erledigt=zurueckgezogen"
    dashboard = html.unescape((await supervisor.get(done.headers["location"])).text)
    assert "Die Vermittlung ist zurückgezogen." in dashboard

    case_id = _case_of(world.to_withdraw)
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    referral = next(r for r in state["referrals"] if r["id"] == world.to_withdraw)
    assert referral["status"] == "withdrawn"
    assert (referral["history"][-1]["status"], referral["history"][-1]["note"]) == (
        "withdrawn",
        REASON,
    )
    escalations = [
        t
        for t in state["tasks"]
        if t["kind"] == "referral_escalation" and t["referral_id"] == world.to_withdraw
    ]
    assert escalations and all(t["done"] for t in escalations)

    # Once the read model has it, the page says why there is nothing more to do.
    async def settled() -> str | None:
        text = html.unescape((await supervisor.get(page)).text)
        return text if "im Status „zurückgezogen“" in text else None

    assert "/zurueckziehen" not in await eventually(settled)


async def test_the_coordination_hands_an_escalated_referral_to_another_jobcenter(
    lotse: Lotse, world: World, supervisor: Browser
) -> None:
    def jobcenter(partner_id: str, name: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": partner_id,
            "name": name,
            "kind": "jobcenter",
            "municipality_id": "musterstadt",
            "measures": ["placement"],
        } | extra

    for body in (
        jobcenter("jobcenter-musterstadt-sued", "Jobcenter Musterstadt, Standort Süd"),
        jobcenter("jobcenter-musterstadt-west", "Jobcenter West (geschlossen)", active=False),
        jobcenter("jobcenter-musterstadt-ost", "Jobcenter Ost (nur Beratung)", measures=["x"]),
    ):
        await lotse.ok("admin", "POST", "/admin/partners", json=body)
    page = _page(world.to_reroute)
    shown = await supervisor.get(page)
    choice = _form(shown.text, "Vermittlung an anderen Partner geben")
    options = re.findall(r'<option value="([^"]*)"', choice)
    # Active, of the kind, offering the measure, not the one that had it; or the next free.
    assert options == ["", "jobcenter-musterstadt-sued"]
    assert "Jobcenter Musterstadt, Standort Süd" in html.unescape(choice)

    reason = "Standort Süd hat Termine frei"
    done = await supervisor.submit(
        page,
        f"{page}/weitergeben",
        {"partner_id": "jobcenter-musterstadt-sued", "reason": reason},
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/aufsicht?erledigt=weitergegeben"
    dashboard = html.unescape((await supervisor.get(done.headers["location"])).text)
    assert "an den gewählten Partner weitergegeben" in dashboard

    state = await lotse.ok("berater1", "GET", f"/cases/{_case_of(world.to_reroute)}")
    old = next(r for r in state["referrals"] if r["id"] == world.to_reroute)
    newest = state["referrals"][-1]
    assert old["status"] == "withdrawn" and old["history"][-1]["note"] == reason
    assert newest["partner_id"] == "jobcenter-musterstadt-sued"
    assert newest["status"] == "dispatched"
    assert newest["tried_partner_ids"] == ["jobcenter-musterstadt", "jobcenter-musterstadt-sued"]


async def test_a_measure_that_found_no_partner_appears_on_the_dashboard(
    lotse: Lotse, world: World, supervisor: Browser
) -> None:
    page = _page(world.to_next_free)
    shown = await supervisor.get(page)
    # No other language school: the page says where the referral will then show up.
    assert "Kein anderer aktiver Partner dieser Art" in html.unescape(shown.text)
    done = await supervisor.submit(
        page, f"{page}/weitergeben", {"partner_id": "", "reason": "Kein Kursplatz frei"}
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/aufsicht?erledigt=naechster-partner"

    async def listed() -> list[str] | None:
        dashboard = (await supervisor.get("/aufsicht")).text
        section = dashboard.split('id="unassigned-title"')[1].split("</section>")[0]
        rows = html.unescape(section).split("<tr>")[2:]
        mine = [row for row in rows if _case_of(world.to_next_free) in row]
        return mine if len(mine) == 2 else None

    newest, older = await eventually(listed)
    # Newest first: the language course the coordination just handed on, then the Jobcenter's
    # decline from before they escalated; each with its need, kind and centre.
    assert "Sprache" in newest and "Sprachkursträger" in newest
    assert "Arbeit" in older and "Jobcenter" in older
    for row in (newest, older):
        assert "MBE Musterstadt-Mitte" in row and "Kein weiterer Partner für" in row
        assert "Amina" not in row and "Karimi" not in row
