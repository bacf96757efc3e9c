"""The page „Regeln" (`/verwaltung/regeln`) on the store without Temporal: Musterstadt's rules
as a decision table in German with each rule's origin, a draft refused per rule and field with
nothing written, saved, tried (no open cases here) and published; the supervisor reads only,
a counsellor does not find the page.
"""

import html
import re
from collections.abc import AsyncIterator

import pytest
from sqlmodel import Session, col, select

from store.models import RuleSetStatus, RuleSetVersion
from tests.api_harness import StoreOnly, store_only
from tests.ui_harness import Browser


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("rules-page")) as system:
        yield system


async def _browser(system: StoreOnly, username: str) -> Browser:
    browser = Browser(system.app)
    assert (await browser.login(username)).status_code == 303
    return browser


def _row(page: str, rule_id: str) -> str:
    found = re.search(
        rf"<tr[^>]*>\s*<td>[^<]*</td>\s*<td><code>{rule_id}</code>.*?</tr>", page, re.S
    )
    assert found, rule_id
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(0)))


def _versions(system: StoreOnly) -> list[tuple[int, RuleSetStatus]]:
    with Session(system.engine) as session:
        rows = session.exec(select(RuleSetVersion).order_by(col(RuleSetVersion.id))).all()
        return [(row.version, row.status) for row in rows]


async def test_the_decision_table_marks_each_rules_origin_in_german(system: StoreOnly) -> None:
    browser = await _browser(system, "regelwerk")
    page = await browser.get("/verwaltung/regeln")
    assert page.status_code == 200, page.text
    assert "Bundesregel" in _row(page.text, "emp-sgb2")
    assert "Bürgergeld (SGB II): ja" in _row(page.text, "emp-sgb2")
    assert "Jobcenter" in _row(page.text, "emp-sgb2")
    youth = _row(page.text, "train-youth-agency")
    assert "kommunal" in youth and "Alter unter 25" in youth
    assert "ersetzt" in _row(page.text, "res-routine")
    assert "abgeschaltet" in _row(page.text, "care-under1")
    assert "Entwurf speichern" in page.text
    await browser.aclose()


async def test_a_draft_is_refused_per_rule_saved_tried_and_published(system: StoreOnly) -> None:
    browser = await _browser(system, "regelwerk")
    before = _versions(system)
    bad = (
        "replace:\n  - id: emp-sgb2\n    need: language\n    actor: jobcenter\n"
        "    measure: placement\n    reason: x\n"
    )
    refused = await browser.submit(
        "/verwaltung/regeln", "/verwaltung/regeln/entwurf", {"kommune": "musterstadt", "text": bad}
    )
    assert refused.status_code == 422, refused.text
    assert (
        "Regel „emp-sgb2“, Feld „need“: Eine ersetzte Regel behält ihren Bedarf."
        in html.unescape(refused.text)
    )
    assert _versions(system) == before
    good = "disable: [care-under1, train-guidance]\n"
    saved = await browser.submit(
        "/verwaltung/regeln", "/verwaltung/regeln/entwurf", {"kommune": "musterstadt", "text": good}
    )
    assert saved.status_code == 303, saved.text
    path = saved.headers["location"]
    shown = await browser.get(path)
    assert "Der Entwurf wurde gespeichert." in shown.text
    assert "abgeschaltet" in _row(shown.text, "train-guidance")
    with Session(system.engine) as session:
        row = session.exec(
            select(RuleSetVersion).where(RuleSetVersion.status == RuleSetStatus.DRAFT)
        ).one()
    tried = await browser.submit(path, f"/verwaltung/regeln/{row.id}/was-waere-wenn", {})
    assert tried.status_code == 200, tried.text
    assert "0 offene Fälle mit Bedarfen geprüft." in tried.text
    published = await browser.submit(path, f"/verwaltung/regeln/{row.id}/veroeffentlichen", {})
    assert published.status_code == 303, published.text
    assert "geltende Regelwerk" in (await browser.get(published.headers["location"])).text
    statuses = [s for _, s in _versions(system)]
    assert statuses.count(RuleSetStatus.PUBLISHED) == 1 and RuleSetStatus.SUPERSEDED in statuses
    await browser.aclose()


async def test_the_supervisor_reads_and_a_counsellor_finds_no_page(system: StoreOnly) -> None:
    supervisor = await _browser(system, "koordination")
    page = await supervisor.get("/verwaltung/regeln")
    assert page.status_code == 200 and "Entwurf speichern" not in page.text
    posted = await supervisor.submit(
        "/verwaltung/regeln", "/verwaltung/regeln/entwurf", {"text": "disable: []"}
    )
    assert posted.status_code == 404
    counsellor = await _browser(system, "berater1")
    assert (await counsellor.get("/verwaltung/regeln")).status_code == 404
    admin = await _browser(system, "admin")
    chooser = await admin.get("/verwaltung/regeln")
    assert chooser.status_code == 200 and 'name="kommune"' in chooser.text
    for hostile in ("muster\x00stadt", "x" * 5000, "nirgendwo"):
        refused = await admin.get("/verwaltung/regeln", params={"kommune": hostile})
        assert refused.status_code == 404, hostile
    shown = await admin.get("/verwaltung/regeln", params={"kommune": "musterstadt"})
    assert shown.status_code == 200 and "emp-sgb2" in shown.text
    for browser in (supervisor, counsellor, admin):
        await browser.aclose()


HOSTILE = [
    ("NUL", "disable: [care-under1]\x00", "Steuerzeichen"),
    ("bidi", "disable: [care\u202e-under1]", "Steuerzeichen"),
    ("alias", "a: &a [x]\ndisable: *a\n", "Verweise"),
    ("deep", "add:\n  - when: " + "{any: [" * 60 + "]}" * 60 + "\n", "verschachtelt"),
    ("long", "disable:\n" + "  - rule-000000\n" * 3300, "zu lang"),
    ("empty", "   ", "Bitte den Text"),
]


@pytest.mark.parametrize(("label", "text", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_a_hostile_draft_on_the_page_is_refused_in_german_and_nothing_is_written(
    system: StoreOnly, label: str, text: str, words: str
) -> None:
    browser = await _browser(system, "regelwerk")
    before = _versions(system)
    refused = await browser.submit(
        "/verwaltung/regeln", "/verwaltung/regeln/entwurf", {"kommune": "musterstadt", "text": text}
    )
    assert refused.status_code == 422, refused.text
    assert words in html.unescape(refused.text)
    assert "Feld „text“" in html.unescape(refused.text)
    assert _versions(system) == before
    await browser.aclose()
