"""Who opens the page „Auswertung", its charts and its CSV, without a browser (an httpx client
with a cookie jar), on SQLite and PostgreSQL; the figures need no Temporal (the browser test,
tests/ui/test_evaluation_page.py, builds cases through the workflows).

Checked directly here: the page, each chart and the CSV are the supervisor's and the
evaluator's alone (404 for every other role, the login for nobody); the evaluator opens no
other page and has neither the other pages' links nor the bell; a municipality or centre
outside the scope is 404 as in the API, and an evaluator restricted to a Land's
municipalities gets only those; each read of the figures is audited; a chart is an SVG with
its own policy and nothing to run or load; hostile parameters come back in German next to
their field, never a 5xx.
"""

import html
import re
from collections.abc import AsyncIterator

import pytest
from sqlmodel import Session, col, func, select

from api.ui.evaluation_charts import SVG_POLICY
from api.ui.web import CONTENT_SECURITY_POLICY
from domain.enums import CentreKind
from store.models import Centre, EvaluatorMunicipality, Municipality, Role
from store.projections import AuditEvent
from store.seed import DEMO_PASSWORD
from store.users import create_user, hash_password
from tests.api_harness import StoreOnly, store_only
from tests.hostile_values import HUGE
from tests.ui_harness import Browser

LAND_EVALUATOR = "auswertung-land"  # covers Beispielheim only
CHARTS = ("vereinbarungen", "umfrage", "vermittlungen", "ueberpruefungen")
PAGES = (
    "/auswertung",
    "/auswertung.csv",
    *(f"/auswertung/diagramme/{name}.svg" for name in CHARTS),
)
# Every page of the other roles: none of them is an evaluator's.
OTHER_PAGES = (
    "/faelle",
    "/faelle/neu",
    "/eingehende-vermittlungen",
    "/eingang",
    "/vermittlungen",
    "/vermittlungen/neu",
    "/aufsicht",
    "/aufsicht/faelle",
    "/verwaltung/mails",
    "/verwaltung/import",
    "/verwaltung/konten",
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("evaluation")) as system:
        system.add(Municipality(id="beispielheim", name="Beispielheim", land="BY"))
        system.add(
            Centre(
                id="mbe-beispielheim",
                name="MBE Beispielheim",
                kind=CentreKind.MBE,
                municipality_id="beispielheim",
            )
        )
        with Session(system.engine) as session:
            create_user(
                session,
                LAND_EVALUATOR,
                Role.EVALUATOR,
                password_hash=hash_password(DEMO_PASSWORD),
            )
            session.commit()
        system.add(EvaluatorMunicipality(username=LAND_EVALUATOR, municipality_id="beispielheim"))
        yield system


async def _browser(system: StoreOnly, username: str) -> Browser:
    browser = Browser(system.app)
    assert (await browser.login(username)).status_code == 303
    return browser


def _audited(system: StoreOnly, username: str) -> int:
    with Session(system.engine) as session:
        query = select(func.count()).where(
            col(AuditEvent.actor) == username, col(AuditEvent.action) == "report.evaluation"
        )
        return session.exec(query).one()


async def test_only_supervisors_and_evaluators_open_the_page_its_charts_and_csv(
    system: StoreOnly,
) -> None:
    anonymous = Browser(system.app)
    for path in PAGES:
        response = await anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?weiter=")
    for username in ("berater1", "sprachkurs", "admin"):
        browser = await _browser(system, username)
        for path in PAGES:
            response = await browser.get(path)
            assert response.status_code == 404, (username, path)
            assert "text/html" in response.headers["content-type"]
        await browser.aclose()
    for username in ("koordination", "auswertung"):
        browser = await _browser(system, username)
        for path in PAGES:
            assert (await browser.get(path)).status_code == 200, (username, path)
        await browser.aclose()
    await anonymous.aclose()


async def test_the_evaluator_has_this_page_only(system: StoreOnly) -> None:
    evaluator = await _browser(system, "auswertung")
    home = await evaluator.get("/")
    assert home.headers["location"] == "/auswertung"
    for path in OTHER_PAGES:
        response = await evaluator.get(path)
        assert response.status_code == 404, path
    page = await evaluator.get("/auswertung")
    navigation = re.search(r"<nav .*?</nav>", page.text, re.S)
    assert navigation is not None
    assert re.findall(r'href="([^"]+)"', navigation.group(0)) == ["/auswertung"]
    assert "/benachrichtigungen" not in page.text  # no bell: nothing is ever sent to her
    # The supervisor's navigation leads here too.
    supervisor = await _browser(system, "koordination")
    dashboard = await supervisor.get("/aufsicht")
    assert 'href="/auswertung"' in dashboard.text


async def test_the_page_carries_the_csp_and_loads_nothing_from_elsewhere(
    system: StoreOnly,
) -> None:
    supervisor = await _browser(system, "koordination")
    page = await supervisor.get("/auswertung")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["cache-control"] == "no-store"
    assert re.search(r'(src|href|action)="(https?:)?//', page.text) is None
    assert "<style" not in page.text and "style=" not in page.text
    charts = [html.unescape(src) for src in re.findall(r'<img src="([^"]+)"', page.text)]
    assert [src.split("?")[0] for src in charts] == [
        "/auswertung/diagramme/vereinbarungen.svg",
        "/auswertung/diagramme/umfrage.svg",
        "/auswertung/diagramme/ueberpruefungen.svg",
        "/auswertung/diagramme/vermittlungen.svg",
    ]
    for src in charts:
        drawn = await supervisor.get(src)
        assert drawn.status_code == 200
        assert drawn.headers["content-type"] == "image/svg+xml"
        assert drawn.headers["content-security-policy"] == SVG_POLICY
        svg = drawn.text
        assert svg.startswith("<?xml") and "<svg" in svg
        assert "<script" not in svg and "href" not in svg and "@import" not in svg
        assert re.search(r"<title>[^<]*[äöüÜ„a-z]{3}[^<]*</title>", svg), svg[:400]
        assert "<desc>" in svg
    link = re.search(r'href="(/auswertung\.csv\?[^"]+)"', page.text)
    assert link is not None
    download = await supervisor.get(html.unescape(link.group(1)))
    assert download.content.startswith(b"\xef\xbb\xbfperiod_from;")
    assert download.headers["content-disposition"].startswith('attachment; filename="auswertung-')


async def test_each_read_of_the_figures_is_audited(system: StoreOnly) -> None:
    supervisor = await _browser(system, "koordination")
    before = _audited(system, "koordination")
    await supervisor.get("/auswertung")
    await supervisor.get("/auswertung/diagramme/umfrage.svg")
    await supervisor.get("/auswertung.csv")
    assert _audited(system, "koordination") == before + 3


async def test_a_place_outside_the_scope_is_not_found(system: StoreOnly) -> None:
    supervisor = await _browser(system, "koordination")
    for query in ("kommune=beispielheim", "stelle=mbe-beispielheim", "stelle=nirgends"):
        for path in ("/auswertung", "/auswertung.csv", "/auswertung/diagramme/umfrage.svg"):
            response = await supervisor.get(f"{path}?{query}")
            assert response.status_code == 404, (path, query)
    land = await _browser(system, LAND_EVALUATOR)
    page = await land.get("/auswertung")
    assert page.status_code == 200
    assert "Beispielheim" in page.text and "Musterstadt" not in page.text
    assert 'value="mbe-beispielheim"' in page.text and 'value="mbe-mitte"' not in page.text
    assert (await land.get("/auswertung?kommune=musterstadt")).status_code == 404
    assert (await land.get("/auswertung?stelle=mbe-mitte")).status_code == 404


async def test_a_centre_of_another_municipality_is_said_next_to_its_field(
    system: StoreOnly,
) -> None:
    evaluator = await _browser(system, "auswertung")
    page = await evaluator.get("/auswertung?kommune=beispielheim&stelle=mbe-mitte")
    assert page.status_code == 422
    assert 'id="f-stelle-error">Diese Beratungsstelle gehört nicht zur gewählten Kommune.' in (
        page.text
    )


HOSTILE: list[tuple[str, str, str]] = [
    ("von", "gestern", "Erwartet wird ein Datum"),
    ("von", "0001-01-01", "außerhalb des erlaubten Bereichs"),
    ("bis", "2201-01-01", "außerhalb des erlaubten Bereichs"),
    ("bis", "9" * 400, "Erwartet wird ein Datum"),
    ("kommune", "musterstadt\x00", "Steuerzeichen (U+0000"),
    ("kommune", HUGE, "Zu lang"),
    ("stelle", "mbe\u202emitte", "Schreibrichtung (U+202E"),
    ("stelle", "mbe\nmitte", "Zeilenumbrüche"),
]


@pytest.mark.parametrize(("field", "value", "words"), HOSTILE)
async def test_a_hostile_parameter_is_said_next_to_its_field_never_a_5xx(
    system: StoreOnly, field: str, value: str, words: str
) -> None:
    evaluator = await _browser(system, "auswertung")
    page = await evaluator.get("/auswertung", params={field: value})
    assert page.status_code == 422
    error = re.search(rf'id="f-{field}-error">([^<]+)<', page.text)
    assert error is not None and words in html.unescape(error.group(1))
    assert "<img" not in page.text  # no figures for a choice that was refused
    for path in ("/auswertung.csv", "/auswertung/diagramme/vereinbarungen.svg"):
        response = await evaluator.get(path, params={field: value})
        assert response.status_code == 422, path
        assert words in html.unescape(response.text)


async def test_a_period_that_is_none_is_refused_at_its_end(system: StoreOnly) -> None:
    evaluator = await _browser(system, "auswertung")
    page = await evaluator.get("/auswertung?von=2025-03-01&bis=2025-02-01")
    assert page.status_code == 422
    assert 'id="f-bis-error">Das Ende des Zeitraums liegt vor seinem Beginn.' in page.text
    assert 'value="2025-03-01"' in page.text  # what was typed stays
    unknown = await evaluator.get("/auswertung/diagramme/torte.svg")
    assert unknown.status_code == 404
