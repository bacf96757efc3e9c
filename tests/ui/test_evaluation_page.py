"""The page „Auswertung" in a real browser: Playwright drives Debian's Chromium against the app
served by uvicorn, with cases built through the real workflows (the shared dev server, the
API, the seeded SQLite store).

Six agreements (four at MBE Mitte, two at MBE Nord), each reviewed once with the survey; the
language school completes two referrals with „erreicht", the Jobcenter declines two. Checked,
for the supervisor and the evaluator: the four charts load as images from this origin and
render, each has its table, the figures are German, nothing is requested from another origin
and no Content-Security-Policy violation is reported; printed, the navigation and the form
are gone and charts and tables stay; at the default minimum group the suppressed figures are
marked; the evaluator lands on the page, picks a municipality, downloads the CSV and opens no
other page. The screenshot docs/screenshots/auswertung.png is written here.
"""

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api_harness import Lotse, eventually, running_lotse
from tests.ui_harness import CHROMIUM, Watched, app_of, served

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright not installed")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed (apt-get install chromium); the httpx-level "
    "page tests in test_evaluation_access.py still run",
)

CHARTS = ("vereinbarungen", "umfrage", "ueberpruefungen", "vermittlungen")
CAPTIONS = (
    "Abgeschlossene Vereinbarungen je Monat",
    "Befragung je Beratungsstelle",
    "Überprüfungen je Monat des Termins",
    "Vermittlungen je Art der Partnerstelle",
)
# (agreement helped, easier to keep at it) at each client's review: every cell 0 or at least
# 2, so at a minimum group of 2 the survey is published whole.
MITTE_ANSWERS = ((True, True), (True, True), (False, True), (False, True))
NORD_ANSWERS = ((True, False), (True, False))
# True when every image has loaded and has a size: a broken or refused SVG has none.
CHARTS_DRAWN = """() => Array.from(document.querySelectorAll('figure.chart img'))
  .map(img => img.complete && img.naturalWidth > 0)"""


@pytest.fixture(scope="module")
async def lotse(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lotse]:
    # The dev server: each review continues the case as new (see tests/ui/test_pages.py).
    async with running_lotse(dev_env, tmp_path_factory.mktemp("lotse")) as system:
        await _figures(system)
        yield system


async def _review(lotse: Lotse, counsellor: str, case_id: str, answers: tuple[bool, bool]) -> None:
    helped, easier = answers
    body = {
        "goal_progress": [],
        "survey": {"agreement_helped": helped, "easier_to_keep_at_it": easier},
        "new_needs": [],
    }
    result = await lotse.ok(counsellor, "POST", f"/cases/{case_id}/reviews", json=body)
    await lotse.projected(case_id, result["sequence"])


async def _figures(lotse: Lotse) -> None:
    """The module's cases, once the report counts all of them."""
    mitte = [await lotse.active_case("berater1") for _ in MITTE_ANSWERS]
    nord = [await lotse.active_case("berater2") for _ in NORD_ANSWERS]
    for case_id, answers in zip(mitte, MITTE_ANSWERS, strict=True):
        await _review(lotse, "berater1", case_id, answers)
    for case_id, answers in zip(nord, NORD_ANSWERS, strict=True):
        await _review(lotse, "berater2", case_id, answers)
    for case_id in mitte[:2]:
        school = await lotse.inbox_item("sprachkurs", case_id)
        await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/acknowledge")
        done = {"result": "achieved", "note": "Kurs bestanden"}
        await lotse.ok("sprachkurs", "POST", f"/referrals/{school['id']}/complete", json=done)
    for case_id in mitte[2:]:
        jobcenter = await lotse.inbox_item("jobcenter", case_id)
        refused = {"reason": "Kein Termin frei"}
        await lotse.ok("jobcenter", "POST", f"/referrals/{jobcenter['id']}/decline", json=refused)

    async def counted() -> bool:
        found = await lotse.ok("koordination", "GET", "/reports/evaluation")
        by_actor = {row["actor"]: row for row in found["referrals"]["by_actor"]}
        school = by_actor.get("language_course_provider", {})
        jobcenter = by_actor.get("jobcenter", {})
        return bool(
            found["agreements"]["concluded"] == 6
            and found["survey"]["clients_answered"] == 6
            and school.get("achieved") == 2
            and jobcenter.get("declined") == 2
        )

    lotse.settings.report_min_group = 2
    try:
        await eventually(counted, timeout=60)
    finally:
        lotse.settings.report_min_group = 5


@pytest.fixture(scope="module")
async def base_url(lotse: Lotse) -> AsyncIterator[str]:
    async with served(app_of(lotse)) as url:
        yield url


@pytest.fixture
def min_group(lotse: Lotse) -> Iterator[None]:
    """The report's minimum group lowered to 2 for one test, so the figures are published."""
    lotse.settings.report_min_group = 2
    yield None
    lotse.settings.report_min_group = 5


async def _login(browser: Any, base_url: str, username: str) -> Watched:
    context = await browser.new_context(
        base_url=base_url,
        viewport={"width": 1100, "height": 800},
        locale="de-DE",
        accept_downloads=True,
    )
    context.set_default_timeout(10_000)
    watched = Watched(await context.new_page(), base_url)
    page = watched.page
    await page.goto("/login")
    await page.get_by_label("Benutzername").fill(username)
    await page.get_by_label("Passwort").fill("demo")
    await page.get_by_role("button", name="Anmelden").click()
    await page.wait_for_load_state()
    return watched


async def _charts_drawn(watched: Watched) -> None:
    """The page's four charts: loaded from this origin as SVG images, and drawn."""
    page = watched.page
    images = page.locator("figure.chart img")
    await expect(images).to_have_count(4)
    for name in CHARTS:
        await expect(
            page.locator(f'img[src^="/auswertung/diagramme/{name}.svg"]')
        ).to_have_attribute("alt", re.compile(r"\w+ .*Tabelle darunter"))
    await page.wait_for_function(f"() => ({CHARTS_DRAWN})().every(Boolean)")
    for name in CHARTS:
        loaded = [url for url in watched.requests if f"/auswertung/diagramme/{name}.svg?" in url]
        assert loaded, f"chart {name} was not requested"
        answer = await page.request.get(loaded[-1])
        assert answer.status == 200
        assert answer.headers["content-type"] == "image/svg+xml"
        assert "<script" not in await answer.text()
    for caption in CAPTIONS:
        await expect(page.get_by_role("table", name=caption, exact=True)).to_have_count(1)


async def test_the_supervisor_sees_charts_with_their_tables_in_german(
    browser: Any, base_url: str, min_group: None
) -> None:
    watched = await _login(browser, base_url, "koordination")
    page = watched.page
    await expect(page).to_have_url(re.compile(r"/aufsicht$"))
    await page.get_by_role("navigation").get_by_role("link", name="Auswertung").click()
    await expect(page).to_have_url(re.compile(r"/auswertung$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Auswertung")
    await expect(page.locator(".scope")).to_contain_text("Musterstadt")
    await expect(page.locator(".scope")).to_contain_text(re.compile(r"\d\d\.\d\d\.\d{4} bis "))
    await _charts_drawn(watched)

    agreements = page.locator("section", has=page.locator("#agreements-title"))
    await expect(agreements).to_contain_text("Im Zeitraum in Kraft getreten: 6")
    centres = page.get_by_role("table", name="Je Beratungsstelle", exact=True)
    await expect(centres.locator("tr", has_text="MBE Musterstadt-Mitte")).to_contain_text("4")
    survey = page.get_by_role("table", name="Befragung")
    mitte = survey.locator("tr", has_text="MBE Musterstadt-Mitte")
    await expect(mitte.locator('td[data-label="geholfen: Anteil ja"]')).to_have_text("50 %")
    await expect(mitte.locator('td[data-label="leichter: Anteil ja"]')).to_have_text("100 %")
    funnel = page.get_by_role("table", name="Vermittlungen je Art")
    school = funnel.locator("tr", has_text="Sprachkursträger")
    await expect(school.locator('td[data-label="vermittelt"]')).to_have_text("6")
    await expect(school.locator('td[data-label="davon „erreicht“"]')).to_have_text("2")
    jobcenter = funnel.locator("tr", has_text="Jobcenter")
    await expect(jobcenter.locator('td[data-label="abgelehnt"]')).to_have_text("2")
    # No due review yet: a share of nothing is a dash, not a suppressed figure.
    reviews = page.get_by_role("table", name="Überprüfungen je")
    await expect(reviews.locator("td.suppressed")).to_have_count(0)
    await expect(page.locator("main")).not_to_contain_text("Amina")
    await watched.check()
    await watched.fits_360()
    await page.set_viewport_size({"width": 1100, "height": 1500})
    await watched.shot("auswertung", full_page=False)
    await page.set_viewport_size({"width": 1100, "height": 800})

    # On paper: no navigation, no form, no buttons; the charts and tables stay.
    await page.emulate_media(media="print")
    await expect(page.locator("header.top")).to_be_hidden()
    await expect(page.locator("form.filters")).to_be_hidden()
    await expect(page.locator(".downloads")).to_be_hidden()
    await expect(page.locator("figure.chart img").first).to_be_visible()
    await expect(survey).to_be_visible()
    await page.emulate_media(media="screen")
    await watched.check()


async def test_suppressed_figures_are_marked_on_the_page_and_in_the_chart(
    browser: Any, base_url: str
) -> None:
    # The default minimum group of 5: MBE Mitte (4) and Nord (2) are folded together, and
    # the Jobcenter's two declines are not published.
    watched = await _login(browser, base_url, "koordination")
    page = watched.page
    await page.goto("/auswertung")
    await expect(page.locator(".hint").first).to_contain_text("„unterdrückt (< 5)“")
    funnel = page.get_by_role("table", name="Vermittlungen je Art")
    declined = funnel.locator("tr", has_text="Jobcenter").locator('td[data-label="abgelehnt"]')
    await expect(declined).to_have_text("unterdrückt (< 5)")
    await expect(declined).to_have_class(re.compile(r"\bsuppressed\b"))
    survey = page.get_by_role("table", name="Befragung")
    folded = survey.locator("tr", has_text="weitere Beratungsstellen (zusammengefasst)")
    await expect(folded.locator("td.suppressed").first).to_have_text("unterdrückt (< 5)")
    await _charts_drawn(watched)
    chart = next(url for url in watched.requests if "/diagramme/umfrage.svg?" in url)
    drawn = await (await page.request.get(chart)).text()
    assert "weitere Beratungsstellen (zusammengefasst) – unterdrückt (&lt; 5)" in drawn
    await watched.check()


async def test_the_evaluator_picks_a_municipality_downloads_the_csv_and_sees_nothing_else(
    browser: Any, base_url: str, min_group: None
) -> None:
    watched = await _login(browser, base_url, "auswertung")
    page = watched.page
    await expect(page).to_have_url(re.compile(r"/auswertung$"))
    nav = page.get_by_role("navigation", name="Hauptnavigation")
    await expect(nav.get_by_role("link")).to_have_count(1)
    await expect(page.locator(".scope")).to_contain_text("alle Kommunen")
    await page.get_by_role("combobox", name="Kommune").select_option(label="Musterstadt")
    await page.get_by_role("button", name="Anzeigen").click()
    await expect(page).to_have_url(re.compile(r"kommune=musterstadt"))
    await expect(page.locator(".scope")).to_contain_text("Musterstadt")
    await _charts_drawn(watched)
    await expect(page.locator("section", has=page.locator("#agreements-title"))).to_contain_text(
        "in Kraft getreten: 6"
    )
    await watched.check()

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Als CSV herunterladen").click()
    download = await waiting.value
    assert re.fullmatch(
        r"auswertung-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv", download.suggested_filename
    )
    content = (await download.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbfperiod_from;period_to;municipality;centre;")
    assert b";musterstadt;;agreements;total;gesamt;concluded;" in content

    for path in ("/faelle", "/aufsicht", "/aufsicht/faelle", "/eingang"):
        await page.goto(path)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Nicht gefunden")
    await watched.check()
