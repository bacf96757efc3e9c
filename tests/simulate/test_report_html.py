"""The simulation's HTML report (simulate/report_html.py) opened from disk in a real browser:
Playwright drives Debian's Chromium (as tests/ui_harness.py starts it) at the file's
`file://` URL.

The report is counted from real read-model rows (bench/evaluation.py's generated cases in a
seeded store, api.evaluation.report at the default minimum group of 5, so some figures are
suppressed). Checked: the four charts are drawn from `data:` images with German alternative
texts, each followed by its table; the tables say numbers, months and suppressed figures in
German; the note says it is a simulation; the document asks nothing of any other file or
origin (every request is recorded, and everything but `file:` and `data:` is aborted and
counted); a hostile centre name stays text; printed, charts and tables stay.
"""

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from api.evaluation import EvaluationReport, ReportRequest, report
from api.evaluation_names import ReportNames, month_label, report_names
from bench.evaluation import Directory, load
from simulate.outputs import write_outputs
from store.testing import sqlite_store
from tests.ui_harness import CHROMIUM, launched_chromium

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright not installed")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed (apt-get install chromium fonts-dejavu-core)",
)

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
REQUEST = ReportRequest(
    municipalities=None,
    municipality_id=None,
    centre_id=None,
    start=date(2025, 6, 1),
    end=date(2026, 11, 30),
)
CHART_TITLES = (
    "Abgeschlossene Vereinbarungen je Monat",
    "Befragung: Anteil „ja“ je Beratungsstelle",
    "Überprüfungen: Anteil verspätet oder überfällig je Monat",
    "Vermittlungen je Art der Partnerstelle",
)
# The table right after each chart, by its caption.
CHART_TABLES = (
    "Abgeschlossene Vereinbarungen je Monat",
    "Befragung je Beratungsstelle",
    "Überprüfungen je Monat des Termins",
    "Vermittlungen je Art der Partnerstelle",
)
OTHER_TABLES = (
    "Vereinbarungen je Beratungsstelle",
    "Vermittlungen von Partnerstellen an Beratungsstellen",
    "Ziele nach Stand",
    "Abgeschlossene Fälle nach Grund",
    "Erfasste Bedarfe je Art",
    "Treffer je Routing-Regel",
)
HOSTILE = 'MBE <script>alert("x")</script> & Süd'
SUMMARY: dict[str, object] = {
    "seed": 7,
    "scale": 0.25,
    "engine": "core",
    "agreements_opened": 4123,
    "agreements_concluded": 4012,
}
# Each chart image loaded and drawn: a broken or refused image has no natural width.
CHARTS_DRAWN = """() => Array.from(document.querySelectorAll('figure.chart img'))
  .map(img => img.complete && img.naturalWidth > 0 && img.src.startsWith('data:image/svg+xml'))"""
# Every element that could load something: all of them must be inline data.
REFERENCES = """() => Array.from(document.querySelectorAll('[src], [href], [srcset], [poster]'))
  .map(el => el.getAttribute('src') || el.getAttribute('href') || el.getAttribute('srcset')
    || el.getAttribute('poster'))"""
# The element right after each chart's figure, inside the chart's section.
TABLE_AFTER_CHART = """() => Array.from(document.querySelectorAll('figure.chart'))
  .map(figure => figure.nextElementSibling.querySelector('caption').textContent)"""


@dataclass(frozen=True)
class Rendered:
    report: EvaluationReport
    html: Path
    centre_id: str


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    """The report of 400 generated cases, written as the simulation writes it; the first
    centre with its own row has a hostile name."""
    directory = Directory.build()
    with sqlite_store(tmp_path_factory.mktemp("store")) as engine:
        load({"sqlite": engine}, directory, 400, seed=11, now=NOW)
        with Session(engine) as session:
            found = report(session, REQUEST, min_group=5)
            everywhere = [municipality for municipality, _share in directory.municipalities]
            names = report_names(session, found, everywhere)
    centre_id = found.agreements.per_centre[0].centre_id
    hostile = ReportNames(
        centres={**names.centres, centre_id: HOSTILE}, municipalities=names.municipalities
    )
    out = tmp_path_factory.mktemp("out")
    paths = write_outputs(out, found, REQUEST, hostile, SUMMARY)
    yield Rendered(found, paths.html, centre_id)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with launched_chromium() as chromium:
        yield chromium


@dataclass
class Opened:
    page: Any
    requests: list[str]
    aborted: list[str]
    errors: list[str]


async def _open(browser: Any, html: Path) -> Opened:
    """The report in a fresh page: every request recorded, anything not `file:` or `data:`
    aborted (and recorded as such)."""
    context = await browser.new_context(viewport={"width": 1100, "height": 800}, locale="de-DE")
    context.set_default_timeout(10_000)
    page = await context.new_page()
    opened = Opened(page, [], [], [])
    page.on("request", lambda request: opened.requests.append(request.url))
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    page.on(
        "console",
        lambda message: opened.errors.append(message.text) if message.type == "error" else None,
    )

    async def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            await route.continue_()
        else:
            opened.aborted.append(url)
            await route.abort()

    await page.route("**/*", guard)
    await page.goto(html.as_uri(), wait_until="load")
    return opened


async def test_the_report_draws_its_four_charts_each_with_its_table_from_disk_alone(
    browser: Any, written: Rendered
) -> None:
    opened = await _open(browser, written.html)
    page = opened.page
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Modellprojekt Integrationsvereinbarungen — Simulation"
    )
    await expect(page).to_have_title("Modellprojekt Integrationsvereinbarungen — Simulation")

    images = page.locator("figure.chart img")
    await expect(images).to_have_count(4)
    await page.wait_for_function(f"() => ({CHARTS_DRAWN})().every(Boolean)")
    assert await page.evaluate(CHARTS_DRAWN) == [True] * 4
    for title in CHART_TITLES:
        image = page.get_by_role("img", name=f"{title} (die Zahlen stehen in der Tabelle darunter)")
        await expect(image).to_have_count(1)
        box = await image.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
    assert await page.evaluate(TABLE_AFTER_CHART) == list(CHART_TABLES)
    for caption in (*CHART_TABLES, *OTHER_TABLES):
        await expect(page.get_by_role("table", name=caption, exact=True)).to_have_count(1)
    # Every table has its header cells: a screen reader names each figure.
    assert await page.evaluate(
        "() => Array.from(document.querySelectorAll('table'))"
        ".every(table => table.querySelector('caption') && table.querySelector('thead th'))"
    )

    # Nothing but the file itself and its inline images; nothing had to be refused.
    assert opened.aborted == []
    foreign = [
        url
        for url in opened.requests
        if url != written.html.as_uri() and not url.startswith("data:")
    ]
    assert foreign == [], f"requests beyond the file: {foreign}"
    assert [ref for ref in await page.evaluate(REFERENCES) if not ref.startswith("data:")] == []
    await expect(page.locator("script, link, iframe, object, embed")).to_have_count(0)
    assert opened.errors == []


async def test_the_tables_say_the_figures_in_german_and_mark_suppressed_ones(
    browser: Any, written: Rendered
) -> None:
    found = written.report
    page = (await _open(browser, written.html)).page
    months = page.get_by_role("table", name="Abgeschlossene Vereinbarungen je Monat", exact=True)
    hidden = next(month for month in found.agreements.per_month if month.concluded is None)
    shown = next(month for month in found.agreements.per_month if month.concluded is not None)
    hidden_row = months.locator(
        "tr", has=page.get_by_role("rowheader", name=month_label(hidden.month))
    )
    await expect(hidden_row.locator("td")).to_have_text("unterdrückt (< 5)")
    await expect(hidden_row.locator("td")).to_have_class(re.compile(r"\bsuppressed\b"))
    shown_row = months.locator(
        "tr", has=page.get_by_role("rowheader", name=month_label(shown.month))
    )
    await expect(shown_row.locator("td")).to_have_text(str(shown.concluded))
    await expect(shown_row.locator("td")).not_to_have_class(re.compile(r"\bsuppressed\b"))

    # Shares with a decimal comma, the run's counts with a thousands point.
    survey = page.get_by_role("table", name="Befragung je Beratungsstelle", exact=True)
    total = survey.locator("tr.total")
    share = found.survey.agreement_helped.share_yes
    assert share is not None
    # One decimal, none when it is zero („50 %“, not „50,0 %“).
    expected = f"{share * 100:.1f}".replace(".", ",").removesuffix(",0") + " %"
    await expect(total.locator('td[data-label="geholfen: Anteil ja"]')).to_have_text(expected)
    run = page.locator("section", has=page.locator("#run-title"))
    await expect(run).to_contain_text("4.123")
    await expect(run).to_contain_text("0,25")

    # The scope and period as the page says them, with the municipalities by name.
    await expect(page.locator(".scope")).to_have_text("alle Kommunen · 01.06.2025 bis 30.11.2026")
    await expect(page.locator("main")).to_contain_text("Kommune 01, Kommune 02")
    await expect(page.locator("main")).to_contain_text(
        "weniger als 5 Klient:innen beruhen, werden nicht veröffentlicht"
    )

    note = page.get_by_role("note", name="Hinweis zur Simulation")
    await expect(note).to_contain_text("Simulation mit angenommenem Verhalten")
    await expect(note).to_contain_text("keine Ergebnisse des Modellprojekts")


async def test_a_hostile_centre_name_is_text_and_the_printout_keeps_charts_and_tables(
    browser: Any, written: Rendered
) -> None:
    opened = await _open(browser, written.html)
    page = opened.page
    centres = page.get_by_role("table", name="Vereinbarungen je Beratungsstelle", exact=True)
    await expect(centres.get_by_role("rowheader", name=HOSTILE, exact=True)).to_have_count(1)
    await expect(page.locator("script")).to_have_count(0)
    assert opened.errors == []

    await page.emulate_media(media="print")
    await expect(page.locator("figure.chart img")).to_have_count(4)
    for index in range(4):
        await expect(page.locator("figure.chart img").nth(index)).to_be_visible()
    await expect(page.get_by_role("table", name="Treffer je Routing-Regel")).to_be_visible()
    document = await page.pdf(format="A4")
    assert document.startswith(b"%PDF")
    assert opened.aborted == []
