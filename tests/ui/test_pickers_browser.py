"""The language and country pickers in a real browser (Debian's Chromium through Playwright):
without JavaScript the checkbox list and the country select still record the intake, and
with it the filter is usable by keyboard alone and announces how many languages match.
"""

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api_harness import Lotse, running_lotse
from tests.ui_harness import CHROMIUM, app_of, served

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright not installed")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium is not installed (apt-get install chromium)"
)


@pytest.fixture(scope="module")
async def lotse(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lotse]:
    async with running_lotse(dev_env, tmp_path_factory.mktemp("lotse")) as system:
        yield system


@pytest.fixture(scope="module")
async def base_url(lotse: Lotse) -> AsyncIterator[str]:
    async with served(app_of(lotse)) as url:
        yield url


async def _intake_page(browser: Any, base_url: str, lotse: Lotse, *, script: bool) -> Any:
    """berater1's page of a new case in intake, in a browser with or without JavaScript."""
    case_id = await lotse.open_case("berater1")
    context = await browser.new_context(
        base_url=base_url, locale="de-DE", java_script_enabled=script
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto("/login")
    await page.get_by_label("Benutzername").fill("berater1")
    await page.get_by_label("Passwort").fill("demo")
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page).to_have_url(re.compile(r"/faelle$"))
    await page.goto(f"/faelle/{case_id}")
    return page


async def test_without_javascript_the_pickers_record_languages_and_country(
    browser: Any, base_url: str, lotse: Lotse
) -> None:
    page = await _intake_page(browser, base_url, lotse, script=False)
    # The filter needs script: without it, it is not offered at all.
    await expect(page.get_by_label("Sprache suchen")).to_be_hidden()
    await page.get_by_label("Tigrinya", exact=True).check()
    await page.get_by_label("Sorani (Zentralkurdisch)", exact=True).check()
    await page.get_by_label("Andere Sprache").fill("Englisch, pes")
    await page.locator("#f-birth_date").fill("1991-04-02")
    await page.get_by_label("Deutschkenntnisse").select_option("A1")
    await page.get_by_label("Erwerbssituation").select_option("unemployed")
    await page.get_by_label("Aufenthaltsstatus").select_option("gestattung")
    await page.get_by_label("Abschluss 1").fill("Krankenpfleger")
    await page.get_by_label("Land des Abschlusses").select_option(label="Eritrea")
    await page.get_by_role("button", name="Aufnahme abschließen").click()
    summary = page.locator(".facts-list")
    await expect(summary).to_contain_text(
        "Sorani (Zentralkurdisch), Tigrinya, Englisch, Iranisches Persisch"
    )
    await expect(summary).to_contain_text("Krankenpfleger (Eritrea")
    await page.context.close()


async def test_the_language_filter_works_by_keyboard_alone(
    browser: Any, base_url: str, lotse: Lotse
) -> None:
    page = await _intake_page(browser, base_url, lotse, script=True)
    search = page.get_by_label("Sprache suchen")
    await search.focus()
    await page.keyboard.type("kurd")
    count = page.locator("#f-languages-count")
    await expect(count).to_have_attribute("aria-live", "polite")
    await expect(count).to_have_text(re.compile(r"^[2-9] Sprachen gefunden$"))
    await expect(page.get_by_label("Arabisch", exact=True)).to_be_hidden()
    # Tab from the filter reaches the first matching language; Space ticks it.
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.labels[0].textContent")
    assert "urd" in focused
    await page.keyboard.press("Space")
    await expect(page.locator("[data-picker-chosen]")).to_have_text(f"Gewählt: {focused}")
    # Enter in the filter never sends the form.
    await search.fill("zzz")
    await expect(count).to_have_text("0 Sprachen gefunden")
    await search.press("Enter")
    await expect(page.locator(".error-summary")).to_have_count(0)
    await page.context.close()
