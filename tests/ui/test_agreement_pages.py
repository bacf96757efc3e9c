"""The agreement on the case page and in the print view: the counsellor chooses the edition
when presenting for signing (the intake's language preselected; a value the page does not offer
is refused beside the field), and the print view is the signed document's layout: letterhead,
client with birth date, case number, tables, signature fields; proportional, left-aligned text
instead of a monospace dump."""

import html
import re

from tests.api_harness import Lotse
from tests.samples import draft_body
from tests.ui_harness import Browser


async def _counsellor(lotse: Lotse) -> Browser:
    browser = Browser(lotse)
    assert (await browser.login("berater1")).status_code == 303
    return browser


async def _drafted(lotse: Lotse) -> str:
    case_id = await lotse.case_in_drafting()
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    body = draft_body(state["routes"])
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/agreement", json=body)
    return case_id


async def test_the_edition_is_chosen_on_the_page_with_the_intake_language_preselected(
    lotse: Lotse,
) -> None:
    case_id = await _drafted(lotse)
    counsellor = await _counsellor(lotse)
    page = f"/faelle/{case_id}"
    text = (await counsellor.get(page)).text
    form = text[text.index('id="aktion-request_signature"') :]
    form = form[: form.index("</form>")]
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', form)
    # Her languages are Arabic, then English: Arabic is preselected; German only is offered.
    assert [(v, t) for v, s, t in options if s] == [("ar", "Deutsch und Arabisch")]
    assert {v for v, _, _ in options} == {"", "ar", "prs", "uk", "ru", "tr", "en"}
    assert "Sprachfassung" in form

    refused = await counsellor.submit(page, f"{page}/unterschrift-anfordern", {"language": "xx"})
    assert refused.status_code == 422
    assert "Für diese Sprache gibt es keine Übersetzung der Vereinbarung." in html.unescape(
        refused.text
    )
    assert (await lotse.ok("berater1", "GET", f"/cases/{case_id}"))["documents"] == []

    done = await counsellor.submit(page, f"{page}/unterschrift-anfordern", {"language": "tr"})
    assert done.status_code in (200, 303), done.text
    document = await lotse.ok("berater1", "GET", f"/cases/{case_id}/agreement")
    assert document["language"] == "tr" and "4. Verilerin aktarılmasına onay" in document["text"]


async def test_the_print_view_is_the_document_people_sign(lotse: Lotse) -> None:
    case_id = await _drafted(lotse)
    requested = await lotse.ok(
        "berater1", "POST", f"/cases/{case_id}/signature-request", json={"language": "ar"}
    )
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    counsellor = await _counsellor(lotse)
    view = html.unescape((await counsellor.get(f"/faelle/{case_id}/vereinbarung")).text)
    article = view[view.index('<article class="document"') : view.index("</article>")]
    assert "<pre" not in article  # no console dump
    assert '<header class="letterhead">' in article and "Ansprechperson:" in article
    assert "Klientin/Klient: Amina Karimi, geboren am 17.05.1990" in article
    assert f"Fall {state['number']} · Fassung 1" in article and case_id not in article
    assert '<th scope="col">verantwortlich</th>' in article
    school = "Sprachschule Musterstadt (Integrationskursträger)"
    assert f"<td>Sprachkursträger „{school}“</td>" in article
    # The translation follows its German block, right to left, marked with its language.
    assert article.index("3. Überprüfung") < article.index("3. المراجعة")
    assert 'lang="ar" dir="rtl"' in article
    # Signature fields with printed names and place; no record before anyone signed.
    assert article.count('class="signature-field"') == 2
    assert "Ort, Datum: Musterstadt, ____________" in article
    assert "Unterschriftsnachweis" not in article

    for party in ("client", "counsellor"):
        signature = {"party": party, "document_hash": requested["document_hash"]}
        await lotse.ok("berater1", "POST", f"/cases/{case_id}/signatures", json=signature)
    signed = html.unescape((await counsellor.get(f"/faelle/{case_id}/vereinbarung")).text)
    assert "Unterschriftsnachweis" in signed
    assert "Klientin/Klient (Amina Karimi) hat Fassung 1 am" in signed
    assert requested["document_hash"] in signed
