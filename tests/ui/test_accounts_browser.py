"""Accounts in a real browser (Debian's Chromium through Playwright), on the seeded store
without Temporal: an administrator resets a counsellor's password on /verwaltung/konten and
reads the temporary password once; the counsellor signs in with it, lands on „Neues Passwort
festlegen", cannot get past it, is told in German what is wrong, sets her password and works
on. Every page on the way: labelled inputs, own origin only, no CSP violation.
"""

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.api_harness import StoreOnly, store_only
from tests.ui_harness import CHROMIUM, Watched, served

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright not installed")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium is not installed (apt-get install chromium)"
)


@pytest.fixture(scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StoreOnly]:
    async with store_only("sqlite", tmp_path_factory.mktemp("accounts-browser")) as system:
        yield system


@pytest.fixture(scope="module")
async def base_url(system: StoreOnly) -> AsyncIterator[str]:
    async with served(system.app) as url:
        yield url


async def _signed_in(browser: Any, base_url: str, username: str, password: str) -> Watched:
    context = await browser.new_context(base_url=base_url, locale="de-DE")
    context.set_default_timeout(10_000)
    watched = Watched(await context.new_page(), base_url)
    page = watched.page
    await page.goto("/login")
    await page.get_by_label("Benutzername").fill(username)
    await page.get_by_label("Passwort").fill(password)
    await page.get_by_role("button", name="Anmelden").click()
    return watched


async def test_a_reset_password_is_replaced_at_the_next_login(browser: Any, base_url: str) -> None:
    admin = await _signed_in(browser, base_url, "admin", "demo")
    page = admin.page
    await page.get_by_role("navigation").get_by_role("link", name="Konten").click()
    await expect(page.get_by_role("heading", name="Konten")).to_be_visible()
    await admin.check()
    await page.get_by_role("link", name="berater2").click()
    await page.get_by_role("button", name="Passwort zurücksetzen").click()
    shown = page.locator("#vorlaeufiges-passwort code")
    await expect(shown).to_have_text(re.compile(r"^[a-z0-9]{4}(-[a-z0-9]{4}){3}$"))
    temporary = await shown.inner_text()
    await admin.check()
    await page.reload()
    await expect(page.locator("#vorlaeufiges-passwort")).to_have_count(0)  # shown once
    await page.context.close()

    person = await _signed_in(browser, base_url, "berater2", temporary)
    page = person.page
    await expect(page).to_have_url(re.compile(r"/passwort$"))
    await expect(page.get_by_role("heading", name="Neues Passwort festlegen")).to_be_visible()
    await expect(page.get_by_text("von der Verwaltung zurückgesetzt")).to_be_visible()
    await person.check()
    # No way past it.
    await page.goto("/faelle")
    await expect(page).to_have_url(re.compile(r"/passwort$"))

    await page.get_by_label("Bisheriges oder vorläufiges Passwort").fill(temporary)
    await page.locator("#f-new_password").fill("mein-neues-passwort")
    await page.get_by_label("Neues Passwort wiederholen").fill("mein-neues-pa55wort")
    await page.get_by_role("button", name="Passwort speichern").click()
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("Die beiden neuen Passwörter stimmen nicht überein.")
    # The error's link leads to its field, which is marked and empty again.
    repeat = page.get_by_label("Neues Passwort wiederholen")
    await expect(repeat).to_have_attribute("aria-invalid", "true")
    await expect(repeat).to_have_value("")
    await person.check()

    await page.get_by_label("Bisheriges oder vorläufiges Passwort").fill(temporary)
    await page.locator("#f-new_password").fill("mein-neues-passwort")
    await page.get_by_label("Neues Passwort wiederholen").fill("mein-neues-passwort")
    await page.get_by_role("button", name="Passwort speichern").click()
    await expect(page.get_by_role("status")).to_contain_text("Ihr neues Passwort gilt ab sofort.")
    await page.get_by_role("link", name="Weiter zur Startseite").click()
    await expect(page).to_have_url(re.compile(r"/faelle$"))
    await person.check()
    await page.context.close()

    again = await _signed_in(browser, base_url, "berater2", "mein-neues-passwort")
    await expect(again.page).to_have_url(re.compile(r"/faelle$"))
    await again.page.context.close()
