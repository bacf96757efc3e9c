"""The sign-in with the municipality's identity provider in a real browser: Playwright drives
Debian's Chromium from Lotse's login page (served by uvicorn on 127.0.0.1) to the provider of
tests/oidc_provider.py (pyop, on https with a CA of its own, which this browser context
accepts) and back, as a person would click it. A linked counsellor lands on her cases; an
unknown identity sees the German refusal with its subject for the administrator, which the
administrator links on the account's page; axe-core finds nothing serious on the login page
with its button, on the refusal, nor on the account page's panel „Anmeldung über die Kommune“
(unlinked, refused, linked). No Temporal:
the login and the case list read the store only.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session

from api.main import create_app
from store.oidc import set_link
from store.seed import DEMO_PASSWORD, seed_demo
from store.testing import sqlite_store
from tests.a11y_harness import axe_violations
from tests.api_harness import settings_for
from tests.key_harness import session_keys
from tests.oidc_provider import IdentityProvider, identity_provider
from tests.process_harness import free_port
from tests.ui_harness import CHROMIUM, served

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright not installed")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed; tests/api/test_oidc_login.py follows the same "
    "flow over HTTP",
)

USERS = {"anna": "a1b2c3-anna", "fremd": "z9y8x7-fremd"}


@dataclass
class Site:
    base_url: str
    idp: IdentityProvider


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    data_dir = tmp_path_factory.mktemp("oidc-browser")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with (
        identity_provider([f"{base_url}/login/oidc/callback"], USERS, data_dir) as idp,
        sqlite_store(data_dir) as engine,
    ):
        seed_demo(engine, environment="development")
        with Session(engine) as session:
            set_link(session, "berater1", idp.issuer, USERS["anna"], "admin", datetime.now(UTC))
            session.commit()
        idp.groups["anna"] = ["lotse-beratung-mitte"]
        role_map = {"lotse-beratung-mitte": {"role": "counsellor", "centre_id": "mbe-mitte"}}
        settings = settings_for(
            data_dir,
            "oidc-browser",
            "127.0.0.1:1",
            public_url=base_url,
            oidc_role_map=role_map,
            **idp.settings(),
        )
        app = create_app(settings, engine=engine, keys=session_keys())
        async with served(app, port):
            yield Site(base_url, idp)


async def _at_provider(site: Site, browser: Any, user: str) -> Any:
    # The provider's certificate is from the test's own CA, which Chromium does not know.
    context = await browser.new_context(ignore_https_errors=True, locale="de-DE")
    page = await context.new_page()
    await page.goto(f"{site.base_url}/login")
    # The login page with its second way in: no serious accessibility problem either.
    assert await axe_violations(page, "/login (mit Anmeldedienst)") == []
    await page.get_by_role("link", name="Mit dem Konto der Kommune anmelden").click()
    await page.wait_for_url(f"{site.idp.issuer}/authorize**")
    await page.get_by_label("Benutzer").fill(user)
    await page.get_by_role("button", name="Anmelden").click()
    return page


async def test_a_linked_counsellor_signs_in_through_the_provider(site: Site, browser: Any) -> None:
    page = await _at_provider(site, browser, "anna")
    await page.wait_for_url(f"{site.base_url}/faelle")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Fälle")
    # The session is the pages' own: the next page opens without another sign-in.
    await page.goto(f"{site.base_url}/eingehende-vermittlungen")
    assert not page.url.startswith(f"{site.base_url}/login")
    await page.context.close()


async def test_an_unknown_identity_sees_the_refusal_with_its_subject(
    site: Site, browser: Any
) -> None:
    page = await _at_provider(site, browser, "fremd")
    await page.wait_for_url(f"{site.base_url}/login/oidc/callback**")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Anmeldung nicht möglich")
    await expect(page.get_by_role("alert")).to_contain_text("mit keinem Konto in Lotse")
    await expect(page.locator("code.oidc-subject")).to_have_text(USERS["fremd"])
    assert await axe_violations(page, "/login/oidc/callback (unbekannt)") == []
    await page.goto(f"{site.base_url}/faelle")
    assert page.url.startswith(f"{site.base_url}/login")
    await page.context.close()


async def test_an_admin_links_an_account_on_its_page(site: Site, browser: Any) -> None:
    context = await browser.new_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(f"{site.base_url}/login")
    await page.get_by_label("Benutzername").fill("admin")
    await page.get_by_label("Passwort").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Anmelden", exact=True).click()
    await page.goto(f"{site.base_url}/verwaltung/konten/berater2")
    panel = page.get_by_role("region", name="Anmeldung über die Kommune")
    await expect(panel).to_contain_text("Nicht verknüpft")
    problems = await axe_violations(page, "/verwaltung/konten/berater2 (nicht verknüpft)")
    await panel.get_by_role("button", name="Verknüpfen").click()
    await expect(panel.locator(".error-summary")).to_contain_text(
        "Bitte geben Sie die Kennung beim Anmeldedienst ein."
    )
    problems += await axe_violations(page, "/verwaltung/konten/berater2 (leer gesendet)")
    await panel.get_by_label("Kennung beim Anmeldedienst").fill("b2-kommune")
    await panel.get_by_role("button", name="Verknüpfen").click()
    await expect(page.locator(".notice.success")).to_contain_text("jetzt mit dem Konto")
    await expect(panel.locator("code")).to_have_text("b2-kommune")
    problems += await axe_violations(page, "/verwaltung/konten/berater2 (verknüpft)")
    await panel.get_by_role("button", name="Verknüpfung entfernen").click()
    await expect(panel).to_contain_text("Nicht verknüpft")
    await context.close()
    assert problems == [], "axe-core found:\n" + "\n".join(problems)
