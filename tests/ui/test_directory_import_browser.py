"""„Verzeichnis importieren“ in a real browser (Debian's Chromium under Playwright, the app of a
seeded SQLite store served by uvicorn, no Temporal: the import touches only the store): an
administrator uploads the example files of deploy/README.md and sees the counts and the note
on passwords, then a file with a bad row and sees it named by line and field; every input is
labelled, nothing comes from another origin, the Content-Security-Policy holds."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from store.models import Centre
from store.seed import DEMO_PASSWORD
from tests.api_harness import StoreOnly, store_only
from tests.ui_harness import CHROMIUM, Watched, served

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright not installed")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium is not installed (apt-get install chromium)"
)

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "directory"


@pytest.fixture(scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StoreOnly]:
    async with store_only("sqlite", tmp_path_factory.mktemp("import-browser")) as system:
        yield system


@pytest.fixture(scope="module")
async def base_url(system: StoreOnly) -> AsyncIterator[str]:
    async with served(system.app) as url:
        yield url


def _centres(system: StoreOnly) -> int:
    with Session(system.engine) as session:
        return int(session.execute(select(func.count()).select_from(Centre)).scalar_one())


async def test_an_administrator_imports_the_examples_and_sees_a_bad_row_named(
    system: StoreOnly, browser: Any, base_url: str, tmp_path: Path
) -> None:
    context = await browser.new_context(base_url=base_url, locale="de-DE")
    page = await context.new_page()
    watched = Watched(page, base_url)
    await page.goto("/login")
    await page.get_by_label("Benutzername").fill("admin")
    await page.get_by_label("Passwort").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Anmelden").click()
    await page.get_by_role("link", name="Verzeichnis importieren").click()
    await expect(page.get_by_role("heading", name="Verzeichnis importieren")).to_be_visible()
    await watched.check()

    await page.get_by_label("CSV-Dateien").set_input_files(
        [
            str(EXAMPLES / name)
            for name in ("users.csv", "partners.csv", "centres.csv", "municipalities.csv")
        ]
    )
    await page.get_by_role("button", name="Importieren").click()
    status = page.get_by_role("status")
    await expect(status).to_contain_text("Importiert.")
    await expect(status).to_contain_text("Beratungsstellen: 2 neu, 0 geändert, 0 unverändert.")
    await expect(status).to_contain_text("5 neue Konten haben kein Passwort")
    await watched.check()
    centres = _centres(system)

    bad = tmp_path / "stellen.csv"
    bad.write_text("id,municipality_id,name,kind\nmbe-x,neustadt,X,MBE\nmbe-y,neustadt,Y,KITA\n")
    await page.get_by_label("CSV-Dateien").set_input_files(str(bad))
    await page.get_by_role("button", name="Importieren").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Nichts importiert")
    await expect(alert).to_contain_text(
        "stellen.csv, Zeile 3, Feld kind: Unbekannter Wert; erlaubt sind: MBE, JMD."
    )
    assert _centres(system) == centres
    await watched.check()
    await context.close()
