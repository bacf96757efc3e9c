"""The pages of referrals to a counselling centre without a browser (an httpx client with a
cookie jar), on SQLite and PostgreSQL, without Temporal (these pages write and read only the
store until a referral is accepted, which tests/ui/test_browser.py does).

Checked directly here: each side's pages are 404 for every other role, another centre's
referral is 404 like a missing one, a form without its CSRF token changes nothing, the form
offers only the municipality's centres and refuses a tampered one, and hostile values come
back as errors next to their field with nothing stored.
"""

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import Session, select

from domain.enums import CentreKind
from store.models import Centre, InboundReferral, Municipality
from tests.api_harness import StoreOnly, store_only
from tests.hostile_values import HUGE, store_texts_are_clean
from tests.ui_harness import Browser

FORM = {
    "centre_id": "mbe-mitte",
    "given_name": "Nadia",
    "family_name": "Saleh",
    "phone": "0211 23125 555",
    "email": "",
    "reason": "Sucht einen Sprachkurs mit Kinderbetreuung.",
    "client_consents": "ja",
}
INBOUND_LINK = re.compile(r"/eingehende-vermittlungen/(inbound-[0-9a-f-]{36})/ablehnen")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("pages")) as system:
        system.add(Municipality(id="beispielheim", name="Beispielheim", land="BY"))
        system.add(
            Centre(
                id="mbe-beispielheim",
                name="MBE Beispielheim",
                kind=CentreKind.MBE,
                municipality_id="beispielheim",
            )
        )
        yield system


async def _browser(system: StoreOnly, username: str) -> Browser:
    browser = Browser(system.app)
    assert (await browser.login(username)).status_code == 303
    return browser


def _rows(system: StoreOnly) -> list[dict[str, Any]]:
    with Session(system.engine) as session:
        rows = session.exec(select(InboundReferral).order_by(InboundReferral.id)).all()
        return [row.model_dump() for row in rows]


async def _send(partner: Browser, **changes: str) -> Any:
    return await partner.submit("/vermittlungen/neu", "/vermittlungen/neu", FORM | changes)


async def test_each_side_sees_only_its_own_pages(system: StoreOnly) -> None:
    anonymous = Browser(system.app)
    for path in ("/vermittlungen", "/vermittlungen/neu", "/eingehende-vermittlungen"):
        response = await anonymous.get(path)
        assert response.status_code == 303 and "/login" in response.headers["location"]
    for username, forbidden in (
        ("berater1", ("/vermittlungen", "/vermittlungen/neu")),
        ("koordination", ("/vermittlungen", "/eingehende-vermittlungen")),
        ("jobcenter", ("/eingehende-vermittlungen",)),
        ("admin", ("/vermittlungen/neu", "/eingehende-vermittlungen")),
    ):
        browser = await _browser(system, username)
        for path in forbidden:
            response = await browser.get(path)
            assert response.status_code == 404, (username, path)
            assert "text/html" in response.headers["content-type"]
        await browser.aclose()
    await anonymous.aclose()


async def test_the_form_offers_the_municipalitys_centres_and_refuses_any_other(
    system: StoreOnly,
) -> None:
    partner = await _browser(system, "jobcenter")
    page = await partner.get("/vermittlungen/neu")
    offered = set(re.findall(r'<option value="([a-z-]+)"', page.text))
    assert offered == {"mbe-mitte", "mbe-nord", "jmd-musterstadt"}
    before = _rows(system)
    for tampered in ("mbe-beispielheim", "gibt-es-nicht"):
        response = await _send(partner, centre_id=tampered)
        assert response.status_code == 422
        assert 'id="f-centre_id-error"' in response.text
        assert "Beratungsstellen der eigenen Kommune" in response.text
        assert 'value="Nadia"' in response.text  # what was typed stays
    assert _rows(system) == before
    await partner.aclose()


async def test_hostile_form_values_stand_next_to_their_field_and_nothing_is_stored(
    system: StoreOnly,
) -> None:
    partner = await _browser(system, "jobcenter")
    before = _rows(system)
    for field, value, words in (
        ("given_name", "Nadia\x00", "Steuerzeichen (U+0000"),
        ("given_name", "", "Bitte geben Sie den Vornamen ein."),
        ("family_name", "Saleh\u202e", "Schreibrichtung"),
        ("family_name", "Saleh\nNeu", "Zeilenumbrüche"),
        ("phone", "0211\x1b[31m", "Steuerzeichen (U+001B"),
        ("phone", "bitte anrufen", "Telefonnummer"),
        ("email", "nadia(at)example.org", "E-Mail-Adresse"),
        ("reason", HUGE, "Zu lang"),
        ("reason", "Sprachkurs\x9b", "Steuerzeichen (U+009B"),
        ("client_consents", "", "Einwilligung"),
    ):
        response = await _send(partner, **{field: value})
        assert response.status_code == 422, (field, response.status_code)
        error = re.search(rf'id="f-{field}-error">([^<]*)<', response.text)
        assert error is not None and words in error.group(1), (field, response.text[-400:])
    assert _rows(system) == before
    # Without the CSRF token: refused before anything is read.
    response = await partner.http.post("/vermittlungen/neu", data=FORM)
    assert response.status_code == 403
    assert _rows(system) == before
    sent = await _send(partner)
    assert sent.status_code == 303 and sent.headers["location"].endswith("erledigt=gesendet")
    assert len(_rows(system)) == len(before) + 1
    assert store_texts_are_clean(system.engine)
    await partner.aclose()


async def test_a_decline_needs_a_reason_and_another_centre_gets_404(system: StoreOnly) -> None:
    partner = await _browser(system, "jobcenter")
    assert (await _send(partner, given_name="Yara")).status_code == 303
    counsellor = await _browser(system, "berater1")
    page = await counsellor.get("/eingehende-vermittlungen")
    assert page.status_code == 200 and "Yara Saleh" in page.text
    referral_id = INBOUND_LINK.findall(page.text)[0]  # newest first
    before = _rows(system)
    refused = await counsellor.submit(
        "/eingehende-vermittlungen",
        f"/eingehende-vermittlungen/{referral_id}/ablehnen",
        {"reason": "Kein\x00Platz"},
    )
    assert refused.status_code == 422 and "Steuerzeichen" in refused.text
    assert f'id="f-reason-{referral_id}-error"' in refused.text
    # The colleague at the other centre: no such page, whether it exists or not.
    other = await _browser(system, "berater2")
    assert "Yara" not in (await other.get("/eingehende-vermittlungen")).text
    for target in (referral_id, "inbound-00000000-0000-4000-8000-000000000000"):
        for verb, data in (("ablehnen", {"reason": "Nicht bei uns"}), ("annehmen", {})):
            response = await other.submit(
                "/eingehende-vermittlungen", f"/eingehende-vermittlungen/{target}/{verb}", data
            )
            assert response.status_code == 404, (target, verb)
    assert _rows(system) == before

    declined = await counsellor.submit(
        "/eingehende-vermittlungen",
        f"/eingehende-vermittlungen/{referral_id}/ablehnen",
        {"reason": "Bitte an die MBE Nord"},
    )
    assert declined.status_code == 303
    page = await counsellor.get(declined.headers["location"])
    assert "Abgelehnt" in page.text and referral_id not in INBOUND_LINK.findall(page.text)
    sent = await partner.get("/vermittlungen")
    assert "Yara S." in sent.text and "Bitte an die MBE Nord" in sent.text
    for browser in (partner, counsellor, other):
        await browser.aclose()
