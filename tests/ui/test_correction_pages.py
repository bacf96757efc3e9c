"""The way back on the case page: „Angaben korrigieren“ (the intake form filled from the
profile; the history then says „Geburtsdatum: 17.05.1990 → 01.01.1991“; an unchanged
correction is refused on the page) and „Vorlage zurückziehen“ while nobody has signed."""

import html
import re
from collections.abc import AsyncIterator

import pytest

from api.ui.corrections import form_values
from domain.profile import IntakeData
from domain.stages_correction import UNCHANGED
from tests.api_harness import Lotse, running_lotse, time_skipping_server
from tests.samples import INTAKE, draft_body
from tests.ui_harness import Browser


@pytest.fixture(scope="module")
async def lotse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lotse]:
    async with (
        time_skipping_server() as env,
        running_lotse(env, tmp_path_factory.mktemp("lotse")) as lotse,
    ):
        yield lotse


async def _counsellor(lotse: Lotse) -> Browser:
    browser = Browser(lotse)
    await browser.login("berater1")
    return browser


def _form(**changes: str) -> dict[str, list[str]]:
    values = form_values(IntakeData.model_validate(INTAKE))
    return values | {name: [value] for name, value in changes.items()}


async def test_the_correction_form_is_filled_and_the_history_shows_old_and_new(
    lotse: Lotse,
) -> None:
    case_id = await lotse.case_in_drafting()
    page = f"/faelle/{case_id}"
    counsellor = await _counsellor(lotse)
    shown = await counsellor.get(page)
    assert shown.status_code == 200
    assert "Angaben korrigieren" in shown.text
    correction = shown.text[shown.text.index('action="/faelle/' + case_id + '/korrektur"') :]
    assert 'value="1990-05-17"' in correction  # the birth date as the case holds it
    assert 'value="Bauingenieurin"' in correction

    unchanged = await counsellor.submit(page, f"{page}/korrektur", _form())
    assert unchanged.status_code == 422
    assert html.escape(UNCHANGED, quote=False) in unchanged.text

    done = await counsellor.submit(page, f"{page}/korrektur", _form(birth_date="1991-01-01"))
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"{page}?erledigt=korrektur")
    after = await counsellor.get(done.headers["location"])
    assert "Die Angaben sind korrigiert." in after.text
    assert "Geburtsdatum: 17.05.1990 → 01.01.1991" in after.text
    assert "Vermittlungsvorschläge neu berechnet" in after.text
    ids = re.findall(r'\bid="([^"]+)"', after.text)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []  # the forms share no input id


async def test_a_signed_case_offers_the_correction_and_says_an_amendment_follows(
    lotse: Lotse,
) -> None:
    case_id = await lotse.active_case()
    page = f"/faelle/{case_id}"
    counsellor = await _counsellor(lotse)
    shown = await counsellor.get(page)
    assert f'action="{page}/korrektur"' in shown.text
    assert "Die unterschriebene Vereinbarung bleibt, wie sie ist." in shown.text
    ids = re.findall(r'\bid="([^"]+)"', shown.text)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
    without = _form(birth_date="1990-05-17")
    del without["receives_citizens_benefit"]
    done = await counsellor.submit(page, f"{page}/korrektur", without)
    assert done.status_code == 303
    after = await counsellor.get(done.headers["location"])
    assert "Bezieht Bürgergeld (SGB II): ja → nein" in after.text
    assert "die Vereinbarung muss geändert werden" in after.text
    # The proposals by name: the Jobcenter's placement goes, the employment agency's comes.
    assert "entfallen: Vermittlung in Arbeit" in after.text
    assert re.search(r"neu: [^;<]*\(Agentur für Arbeit[^)]*\)", after.text), after.text[-3000:]
    assert "Vereinbarung ändern: Die korrigierten Angaben" in after.text  # the task


async def test_a_presented_document_is_withdrawn_from_the_page(lotse: Lotse) -> None:
    case_id = await lotse.case_in_drafting()
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    await lotse.ok(
        "berater1", "POST", f"/cases/{case_id}/agreement", json=draft_body(state["routes"])
    )
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/signature-request")
    page = f"/faelle/{case_id}"
    counsellor = await _counsellor(lotse)
    shown = await counsellor.get(page)
    assert "Vorlage zurückziehen" in shown.text
    assert "Bitte zuerst die Vorlage zur Unterschrift zurückziehen" in shown.text
    assert f'action="{page}/korrektur"' not in shown.text

    done = await counsellor.submit(page, f"{page}/vorlage-zurueckziehen", {})
    assert done.status_code == 303
    after = await counsellor.get(done.headers["location"])
    assert "Die Vorlage ist zurückgezogen" in after.text
    assert "Vorlage zur Unterschrift zurückgezogen" in after.text  # the history
    assert (await lotse.ok("berater1", "GET", f"/cases/{case_id}"))["stage"] == "drafting"
    assert f'action="{page}/vorlage-zurueckziehen"' not in after.text
    printed = await counsellor.get(f"{page}/vereinbarung")
    assert "zurückgezogen und kann nicht mehr unterschrieben werden" in printed.text

    # Once a party signed, the page offers no withdrawal.
    requested = await lotse.ok("berater1", "POST", f"/cases/{case_id}/signature-request")
    signature = {"party": "client", "document_hash": requested["document_hash"]}
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/signatures", json=signature)
    signed = await counsellor.get(page)
    assert f'action="{page}/vorlage-zurueckziehen"' not in signed.text
