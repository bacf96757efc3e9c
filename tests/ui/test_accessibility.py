"""Accessibility as German public bodies must provide it (BITV 2.0, i.e. WCAG 2.1 AA): axe-core
(bundled with axe-playwright-python) runs on every page of every role in Debian's Chromium,
against one running Lotse for the module (tests/conftest.py's `lotse` on its `own_env`: real
Temporal, time-skipping so that a referral escalates; the real workflows and activities; the
seeded SQLite store), and a serious or
critical violation fails the test with its rule, the elements' selectors and the page.

Every page means: each GET route of the pages (`ui.*`) is either visited here or named in
`NOT_PAGES` with the reason (a PDF, a CSV, an image), so a new page cannot escape the check.
Pages are checked in the states that show the most: each case stage with its forms, every
`<details>` opened (the „Weitere Aktionen“, the proposals' details), refused forms with their
errors, the login refused, the 404 page, an escalated referral with the coordination's forms,
a partner's decline waiting for its confirmation.

By keyboard alone (no click): a counsellor signs in, opens a case, picks a language through
the picker's filter and completes the intake; the skip link leads to the main content and every
element that takes focus shows it (an outline or a box shadow).
"""

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from store.projections import CaseSummary, ReferralSummary
from store.seed import DEMO_PASSWORD
from tests.a11y_harness import OPEN_DETAILS, Keyboard, axe_violations, page_routes, route_of
from tests.api_harness import Lotse, eventually
from tests.samples import INTAKE, draft_body
from tests.ui_harness import CHROMIUM, app_of, served

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright not installed")
pytest.importorskip("axe_playwright_python", reason="axe-playwright-python not installed")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium is not installed (apt-get install chromium)"
)

# GET routes of the pages that answer no HTML page, and why they need no axe run.
NOT_PAGES = {
    "ui.case.document_pdf": "a PDF (the print view /faelle/{id}/vereinbarung is its HTML twin)",
    "ui.evaluation.csv": "a CSV download",
    "ui.evaluation.chart": "an SVG image; the evaluation page that shows it is checked",
    "ui.case.export": "a PDF (the client's copy)",
    "ui.data_protection.export": "a PDF (the client's copy)",
    "ui.data_protection.audit": "a CSV download",
    "ui.data_protection.find": "a redirect to the erasure page (or the start page's form again)",
}

MISSING_CASE = "case-00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class World:
    """The cases and referrals the pages show, one per interesting state."""

    intake: str
    assessment: str
    drafting: str
    awaiting: str
    active: str
    referral: str  # the language school's referral of the active case
    escalated: str  # the Jobcenter's, unanswered until it escalated
    closed: str  # withdrawn in intake: the one the data protection officer may erase


@pytest.fixture(scope="module")
async def base_url(lotse: Lotse) -> AsyncIterator[str]:
    async with served(app_of(lotse)) as url:
        yield url


def _referral_row(lotse: Lotse, referral_id: str) -> ReferralSummary | None:
    with Session(lotse.engine) as session:
        return session.get(ReferralSummary, referral_id)


@pytest.fixture(scope="module")
async def world(lotse: Lotse, own_env: WorkflowEnvironment) -> World:
    intake = await lotse.open_case()
    assessment = await lotse.open_case()
    await lotse.ok("berater1", "POST", f"/cases/{assessment}/intake", json=INTAKE)
    drafting = await lotse.case_in_drafting()
    awaiting = await lotse.case_in_drafting()
    state = await lotse.ok("berater1", "GET", f"/cases/{awaiting}")
    await lotse.ok(
        "berater1", "POST", f"/cases/{awaiting}/agreement", json=draft_body(state["routes"])
    )
    await lotse.ok("berater1", "POST", f"/cases/{awaiting}/signature-request")
    active = await lotse.active_case()
    referral = (await lotse.open_referral(active, "sprachschule"))["id"]
    escalated = (await lotse.open_referral(active, "jobcenter"))["id"]
    await lotse.inbox_item("sprachkurs", active)
    await lotse.ok("sprachkurs", "POST", f"/referrals/{referral}/acknowledge")
    # The Jobcenter does not answer: time skips to its escalation, so the coordination's
    # lists and the referral's page show their forms.
    row = await eventually(lambda: _referral_row(lotse, escalated))
    assert row.escalate_at is not None
    await own_env.sleep(row.escalate_at - await own_env.get_current_time() + timedelta(hours=1))

    def escalated_row() -> ReferralSummary | None:
        found = _referral_row(lotse, escalated)
        return found if found is not None and found.escalated else None

    await eventually(escalated_row)
    closed = await lotse.open_case()
    await lotse.ok("berater1", "POST", f"/cases/{closed}/close", json={"reason": "withdrawn"})
    await eventually(lambda: _closed_row(lotse, closed))
    return World(intake, assessment, drafting, awaiting, active, referral, escalated, closed)


def _closed_row(lotse: Lotse, case_id: str) -> CaseSummary | None:
    with Session(lotse.engine) as session:
        found = session.get(CaseSummary, case_id)
    return found if found is not None and found.stage == "closed" else None


# A step on a page before it is checked (a form sent empty, a wrong password).
Step = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Visit:
    path: str
    state: str = ""  # what is shown beyond the page as it opens
    step: Step | None = None


def _send(button: str) -> Step:
    async def step(page: Any) -> None:
        await page.get_by_role("button", name=button, exact=True).first.click()
        await page.wait_for_load_state()
        await expect(page.locator(".error-summary, .error-notice").first).to_be_visible()

    return step


async def _wrong_password(page: Any) -> None:
    await page.get_by_label("Benutzername").fill("berater1")
    await page.get_by_label("Passwort").fill("falsch")
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page.locator(".error-summary, .error-notice").first).to_be_visible()


async def _decline_asked(page: Any) -> None:
    await page.locator("#ablehnung > summary").press("Enter")
    await page.get_by_label("Grund der Ablehnung").fill("Keine Plätze frei.")
    await page.get_by_role("button", name="Ablehnen …").click()
    await expect(page.get_by_role("button", name="Ja, Vermittlung ablehnen")).to_be_visible()


def visits(world: World) -> dict[str | None, list[Visit]]:
    """Every page per account (None: not signed in), in the states worth checking."""
    case = f"/faelle/{world.active}"
    return {
        None: [
            Visit("/login"),
            Visit("/login", "Anmeldung abgelehnt", _wrong_password),
            Visit("/gibt-es-nicht", "404"),
            # Without an identity provider configured, both answer the sign-in's refusal page
            # (tests/ui/test_oidc_browser.py checks it with a provider, and the login's button).
            Visit("/login/oidc", "ohne Anmeldedienst"),
            Visit("/login/oidc/callback?state=x", "ohne Anmeldedienst"),
        ],
        "berater1": [
            Visit("/faelle"),
            Visit("/faelle?q=Karimi", "Suche"),
            Visit("/faelle/neu"),
            Visit("/faelle/neu", "leer gesendet", _send("Fall anlegen")),
            Visit(
                f"/faelle/{world.intake}", "Aufnahme leer gesendet", _send("Aufnahme abschließen")
            ),
            Visit(f"/faelle/{world.assessment}", "Bedarfsklärung"),
            Visit(f"/faelle/{world.drafting}", "Entwurf"),
            Visit(f"/faelle/{world.awaiting}", "Warten auf Unterschriften"),
            Visit(f"{case}?ueberpruefung=1", "in Kraft, mit dem Formular der Überprüfung"),
            Visit(f"{case}/vereinbarung", "Druckansicht"),
            Visit("/eingehende-vermittlungen"),
            Visit("/benachrichtigungen"),
            Visit(f"/faelle/{MISSING_CASE}", "404"),
        ],
        "sprachkurs": [
            Visit("/eingang"),
            Visit("/eingang?ansicht=alle", "alle"),
            Visit(f"/eingang/{world.referral}"),
            Visit("/vermittlungen/neu"),
            Visit("/vermittlungen/neu", "leer gesendet", _send("Vermittlung senden")),
            Visit("/vermittlungen"),
            Visit("/benachrichtigungen"),
        ],
        "jobcenter": [
            Visit(f"/eingang/{world.escalated}", "eskaliert"),
            Visit(f"/eingang/{world.escalated}", "Ablehnung zu bestätigen", _decline_asked),
        ],
        "koordination": [
            Visit("/aufsicht"),
            Visit("/aufsicht/faelle"),
            Visit("/aufsicht/aufgaben"),
            Visit("/aufsicht/ueberpruefungen"),
            Visit("/aufsicht/vermittlungen"),
            Visit(f"/aufsicht/vermittlungen/{world.escalated}", "eskaliert, mit Formularen"),
            Visit(
                f"/aufsicht/vermittlungen/{world.escalated}",
                "Zurückziehen ohne Grund gesendet",
                _send("Zurückziehen"),
            ),
            Visit(f"/aufsicht/vermittlungen/{world.referral}", "nicht eskaliert"),
            Visit(f"/aufsicht/faelle/{world.active}"),
            Visit("/auswertung"),
            Visit("/verwaltung/regeln", "nur lesen"),
            Visit("/benachrichtigungen"),
        ],
        "auswertung": [Visit("/auswertung")],
        "admin": [
            Visit("/"),
            Visit("/verwaltung"),
            Visit("/verwaltung/gemeinden"),
            Visit("/verwaltung/gemeinden/neu"),
            Visit("/verwaltung/gemeinden/neu", "leer gesendet", _send("Kommune anlegen")),
            Visit("/verwaltung/gemeinden/musterstadt/bearbeiten"),
            Visit("/verwaltung/stellen"),
            Visit("/verwaltung/stellen/neu", "leer gesendet", _send("Beratungsstelle anlegen")),
            Visit("/verwaltung/stellen/mbe-mitte/bearbeiten"),
            Visit("/verwaltung/partner"),
            Visit("/verwaltung/partner/neu", "leer gesendet", _send("Partner anlegen")),
            Visit("/verwaltung/partner/sprachschule-musterstadt/bearbeiten"),
            Visit("/verwaltung/mails"),
            Visit("/verwaltung/import"),
            Visit("/verwaltung/import", "ohne Datei gesendet", _send("Importieren")),
            Visit("/benachrichtigungen"),
            Visit("/verwaltung/konten"),
            Visit("/verwaltung/konten/neu"),
            Visit("/verwaltung/konten/neu", "leer gesendet", _send("Konto anlegen")),
            Visit("/verwaltung/konten/berater1"),
            Visit("/passwort"),
            Visit("/passwort", "leer gesendet", _send("Passwort speichern")),
            Visit("/verwaltung/regeln", "Kommune wählen"),
            Visit("/verwaltung/regeln?kommune=musterstadt", "Entscheidungstabelle"),
        ],
        "regelwerk": [Visit("/verwaltung/regeln"), Visit("/benachrichtigungen")],
        "datenschutz": [
            Visit("/datenschutz"),
            Visit(f"/datenschutz/faelle/{world.active}/loeschen", "Fall noch offen"),
            Visit(f"/datenschutz/faelle/{world.closed}/loeschen", "abgeschlossen"),
            Visit(
                f"/datenschutz/faelle/{world.closed}/loeschen",
                "ohne Grund gesendet",
                _send("Endgültig löschen"),
            ),
        ],
    }


async def _signed_in(browser: Any, base_url: str, username: str | None, **options: Any) -> Any:
    context = await browser.new_context(
        base_url=base_url, viewport={"width": 1100, "height": 800}, locale="de-DE", **options
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    if username is not None:
        await page.goto("/login")
        await page.get_by_label("Benutzername").fill(username)
        await page.get_by_label("Passwort").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="Anmelden").click()
        await expect(page).not_to_have_url(re.compile(r"/login"))
    return page


async def _check(
    browser: Any, base_url: str, username: str | None, pages: Iterable[Visit]
) -> list[str]:
    page = await _signed_in(browser, base_url, username)
    problems: list[str] = []
    try:
        for visit in pages:
            await page.goto(visit.path)
            if visit.step is not None:
                await visit.step(page)
            await page.evaluate(OPEN_DETAILS)
            who = username or "not signed in"
            where = f"{visit.path} ({who}{', ' + visit.state if visit.state else ''})"
            problems.extend(await axe_violations(page, where))
    finally:
        await page.context.close()
    return problems


async def test_every_page_route_is_visited_or_named_as_no_page(lotse: Lotse, world: World) -> None:
    routes = page_routes(app_of(lotse))
    visited = {route_of(routes, visit.path) for pages in visits(world).values() for visit in pages}
    assert "ui.case.read" in routes and "ui.login" in routes, sorted(routes)
    unchecked = set(routes) - visited - set(NOT_PAGES)
    assert unchecked == set(), f"pages no accessibility check visits: {sorted(unchecked)}"
    assert set(NOT_PAGES) <= set(routes), "NOT_PAGES names a route that is gone"
    assert set(NOT_PAGES).isdisjoint(visited)


@pytest.mark.parametrize(
    "username",
    [
        None,
        "berater1",
        "sprachkurs",
        "jobcenter",
        "koordination",
        "auswertung",
        "admin",
        "datenschutz",
        "regelwerk",
    ],
)
async def test_no_serious_or_critical_axe_violation_on_any_page(
    browser: Any, base_url: str, world: World, username: str | None
) -> None:
    problems = await _check(browser, base_url, username, visits(world)[username])
    assert problems == [], "axe-core found:\n" + "\n".join(problems)


async def test_a_counsellor_opens_a_case_and_completes_the_intake_by_keyboard_alone(
    browser: Any, base_url: str
) -> None:
    page = await _signed_in(browser, base_url, None)
    keys = Keyboard(page)
    try:
        await page.goto("/login")
        # The first tab stop is the skip link; visible when focused, it leads to the content.
        skip = page.get_by_role("link", name="Zum Inhalt springen")
        await keys.tab_to(skip, limit=1)
        box = await skip.bounding_box()
        assert box is not None and box["x"] >= 0 and box["y"] >= 0, box
        await page.keyboard.press("Enter")
        assert await page.evaluate("document.activeElement.id") == "inhalt"

        await keys.type_into(page.get_by_label("Benutzername"), "berater1")
        await keys.type_into(page.get_by_label("Passwort"), DEMO_PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile(r"/faelle$"))

        await keys.tab_to(page.get_by_role("link", name="Neuer Fall").first)
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile(r"/faelle/neu$"))
        await keys.type_into(page.get_by_label("Vorname"), "Leyla")
        await keys.type_into(page.get_by_label("Nachname"), "Haddad")
        await keys.tab_to(page.get_by_role("button", name="Fall anlegen"))
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Leyla Haddad")

        # The intake: a date typed, selects moved by the arrow keys, languages through the
        # picker's filter (Enter ticks the only match) and by Tab and Space in its list.
        # Headless Chromium lays a date field out month first whatever the locale (its own UI
        # language, which neither the context's locale nor --lang changes); a German Chromium
        # takes the same field day first.
        await keys.type_into(page.locator("#f-birth_date"), "05171990")
        await expect(page.locator("#f-birth_date")).to_have_value("1990-05-17")
        for label in ("Deutschkenntnisse", "Erwerbssituation", "Aufenthaltsstatus"):
            await keys.tab_to(page.get_by_label(label))
            await page.keyboard.press("ArrowDown")
            await expect(page.get_by_label(label)).not_to_have_value("")
        await keys.type_into(page.get_by_label("Sprache suchen"), "dari")
        await expect(page.locator("#f-languages-count")).to_have_text("1 Sprache gefunden")
        await page.keyboard.press("Enter")
        await expect(page.get_by_label("Dari", exact=True)).to_be_checked()
        await keys.tab_to(page.get_by_label("Sprache suchen"), back=True)
        await page.keyboard.press("Control+A")
        await page.keyboard.type("arab")
        await keys.tab_to(page.get_by_label("Arabisch", exact=True))
        await page.keyboard.press("Space")
        await expect(page.locator("[data-picker-chosen]")).to_have_text("Gewählt: Arabisch, Dari")
        await keys.tab_to(page.get_by_label("Deutsch lernen"))
        await page.keyboard.press("Space")
        await keys.tab_to(page.get_by_role("button", name="Aufnahme abschließen"))
        await page.keyboard.press("Enter")
        await expect(page.locator(".notice.success")).to_contain_text("Aufnahme gespeichert")
        await expect(page.locator('.stepbar li[aria-current="step"]')).to_contain_text(
            "Bedarfsklärung"
        )
        await expect(page.locator(".facts-list")).to_contain_text("Arabisch, Dari")
    finally:
        await page.context.close()
    assert len(keys.reached) >= 10, keys.reached
    assert keys.unseen == set(), f"focus not visible on: {sorted(keys.unseen)}"


async def test_the_check_finds_a_violation_when_there_is_one(browser: Any, base_url: str) -> None:
    """The check is not blind: a button without a name and grey on grey are reported."""
    page = await _signed_in(browser, base_url, None)
    try:
        await page.goto("/login")
        await page.evaluate(
            """() => {
              const main = document.querySelector('main');
              main.insertAdjacentHTML('beforeend',
                '<button id="nameless"></button><p id="faint">schwach</p>');
              document.getElementById('faint').style.color = '#ddd';
            }"""
        )
        found = await axe_violations(page, "/login")
    finally:
        await page.context.close()
    assert any(line.startswith("button-name (critical)") and "#nameless" in line for line in found)
    assert any(line.startswith("color-contrast (serious)") and "#faint" in line for line in found)
