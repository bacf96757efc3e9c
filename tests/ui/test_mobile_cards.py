"""Tables at phone width (390 px) in Chromium: each row becomes a card, and each cell shows its
column's label before its value (`data-label` and CSS `::before`), so a card never shows bare
numbers; and a refused form in a real browser: Back after correcting it never asks to send the
form again (Post/Redirect/Get)."""

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

# Every data cell of every table on the page: its label and what `::before` shows.
CELLS = """() => Array.from(document.querySelectorAll('table tbody td:not([colspan])')).map(td => ({
  label: td.dataset.label || null,
  before: getComputedStyle(td, '::before').content,
  display: getComputedStyle(td).display,
}))"""


@pytest.fixture(scope="module")
async def lotse(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lotse]:
    async with running_lotse(dev_env, tmp_path_factory.mktemp("lotse")) as system:
        await system.open_case()
        yield system


@pytest.fixture(scope="module")
async def base_url(lotse: Lotse) -> AsyncIterator[str]:
    async with served(app_of(lotse)) as url:
        yield url


async def _page(browser: Any, base_url: str, username: str, width: int) -> Any:
    context = await browser.new_context(
        base_url=base_url, viewport={"width": width, "height": 800}, locale="de-DE"
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto("/login")
    await page.get_by_label("Benutzername").fill(username)
    await page.get_by_label("Passwort").fill("demo")
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page).not_to_have_url(re.compile(r"/login"))
    return page


@pytest.mark.parametrize(
    ("path", "cell", "label"),
    [("/aufsicht", "td[data-label='Stadium']", "Stadium"), ("/aufsicht/faelle", None, None)],
)
async def test_the_supervisors_tables_are_labelled_cards_at_390_px(
    browser: Any, base_url: str, path: str, cell: str | None, label: str | None
) -> None:
    page = await _page(browser, base_url, "koordination", 390)
    await page.goto(path)
    cells = await page.evaluate(CELLS)
    assert cells, "the page shows no table cell"
    for shown in cells:
        assert shown["display"] == "block", shown  # a card, not a squeezed table
        assert shown["label"], f"a cell without its column's label on {path}: {shown}"
        assert shown["before"] == f'"{shown["label"]}: "', shown
    if cell is not None:
        # What a person sees in the card: the label, then the value.
        text = await page.locator(cell).first.evaluate(
            "td => getComputedStyle(td, '::before').content"
        )
        assert text == f'"{label}: "'
    await page.context.close()


async def test_back_after_a_corrected_refusal_never_resubmits(browser: Any, base_url: str) -> None:
    page = await _page(browser, base_url, "berater1", 1100)
    await page.goto("/faelle/neu")
    await page.get_by_label("Nachname").fill("Haddad")
    await page.get_by_role("button", name="Fall anlegen").click()
    # Refused: a GET page at the form's own address, the surname kept, the message linked.
    await expect(page).to_have_url(re.compile(r"/faelle/neu$"))
    summary = page.locator(".error-summary a[href='#f-given_name']")
    await expect(summary).to_have_text("Bitte geben Sie den Vornamen ein.")
    await expect(page.get_by_label("Nachname")).to_have_value("Haddad")
    await page.get_by_label("Vorname").fill("Amal")
    await page.get_by_role("button", name="Fall anlegen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Amal Haddad")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    # Back: the form page by GET (no "confirm resubmission"), fresh and empty.
    response = await page.go_back()
    assert response is not None and response.request.method == "GET"
    await expect(page).to_have_url(re.compile(r"/faelle/neu$"))
    await expect(page.get_by_label("Nachname")).to_have_value("")
    assert dialogs == []
    await page.context.close()
