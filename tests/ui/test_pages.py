"""The web pages without a browser: an httpx client with a cookie jar against the app (ASGI),
with a real Temporal (the shared dev server), the real workflows and activities and
the seeded SQLite store.

What a browser test would only show indirectly is checked here directly: the security headers
and cookie flags, CSRF refusals, 404 for everything outside a session's role or scope, the
workflow's reason for a step in the wrong stage, errors next to the field with the typed values
kept, and the hash on every page of the agreement PDF.
"""

import asyncio
import html
import io
import re
import time
from collections.abc import AsyncIterator

import pytest
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from api.ui.web import CONTENT_SECURITY_POLICY
from domain.needs import Assessment
from store.projections import ReviewRecord as ReviewRow
from tests.api_harness import Lotse, eventually, running_lotse
from tests.samples import ASSESSMENT, INTAKE
from tests.ui_harness import Browser, csrf_of


@pytest.fixture(scope="module")
async def lotse(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lotse]:
    # The dev server: a review continues the case as new, and the time-skipping server does
    # not answer a query to the new run reliably (DESIGN.md: its continue-as-new bugs).
    async with running_lotse(dev_env, tmp_path_factory.mktemp("lotse")) as system:
        yield system


@pytest.fixture(scope="module")
async def active_case(lotse: Lotse) -> str:
    """An active case of berater1 with referrals at the language school and the Jobcenter."""
    return await lotse.active_case()


async def _browser(lotse: Lotse, username: str) -> Browser:
    browser = Browser(lotse)
    response = await browser.login(username)
    assert response.status_code == 303, response.text
    return browser


async def _referral(lotse: Lotse, partner: str, case_id: str) -> str:
    async def listed() -> str | None:
        page = await lotse.ok(partner, "GET", "/referrals")
        ids = [r["id"] for r in page["items"] if r["id"].startswith(case_id + "-ref-")]
        return ids[0] if ids else None

    return await eventually(listed)


async def test_pages_carry_the_csp_and_load_nothing_from_elsewhere(lotse: Lotse) -> None:
    browser = Browser(lotse)
    page = await browser.get("/login")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert re.search(r'(src|href|action)="(https?:)?//', page.text) is None
    assert 'lang="de"' in page.text
    for asset in ("/static/htmx.min.js", "/static/lotse.css", "/static/lotse.js"):
        served = await browser.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    htmx = await browser.get("/static/htmx.min.js")
    assert htmx.text.startswith("/*! htmx 2.") and "0BSD" in htmx.text.splitlines()[0]


async def test_a_page_without_login_leads_to_the_login(lotse: Lotse) -> None:
    response = await Browser(lotse).get("/faelle?stadium=active")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?weiter=%2Ffaelle%3Fstadium%3Dactive"


async def test_login_sets_a_protected_cookie_and_a_failure_keeps_only_the_username(
    lotse: Lotse,
) -> None:
    browser = Browser(lotse)
    refused = await browser.login("berater1", "falsch-geheim")
    assert refused.status_code == 401
    assert "Benutzername oder Passwort ist falsch." in refused.text
    assert 'value="berater1"' in refused.text and "falsch-geheim" not in refused.text

    accepted = await browser.login("berater1")
    assert accepted.status_code == 303 and accepted.headers["location"] == "/faelle"
    cookie = next(
        c for c in accepted.headers.get_list("set-cookie") if c.startswith("lotse_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # development; production sets it
    # The session cookie is not an API token.
    session = cookie.split(";")[0].split("=", 1)[1]
    api = await lotse.http.get("/me", headers={"Authorization": f"Bearer {session}"})
    assert api.status_code == 401

    logged_out = await browser.submit("/faelle", "/logout", {})
    assert logged_out.status_code == 303
    assert (await browser.get("/faelle")).status_code == 303


async def test_a_form_post_without_a_valid_csrf_token_is_refused(lotse: Lotse) -> None:
    anonymous = Browser(lotse)
    await anonymous.get("/login")
    no_token = await anonymous.http.post(
        "/login", data={"username": "berater1", "password": "demo"}
    )
    assert no_token.status_code == 403 and "Sicherheitsprüfung" in no_token.text

    counsellor = await _browser(lotse, "berater1")
    opened = await counsellor.http.post(
        "/faelle/neu", data={"given_name": "Ohne", "family_name": "Token"}
    )
    assert opened.status_code == 403
    # A token of another session does not fit this one.
    other = await _browser(lotse, "berater1")
    foreign_token = csrf_of((await other.get("/faelle/neu")).text)
    forged = await counsellor.http.post(
        "/faelle/neu",
        data={"given_name": "Fremdes", "family_name": "Token", "csrf_token": foreign_token},
    )
    assert forged.status_code == 403
    listed = await counsellor.get("/faelle?wer=alle")
    assert "Ohne T." not in listed.text and "Fremdes T." not in listed.text


async def test_a_partner_session_opens_no_counsellor_page_and_no_other_partners_task(
    lotse: Lotse, active_case: str
) -> None:
    school = await _referral(lotse, "sprachkurs", active_case)
    jobcenter = await _referral(lotse, "jobcenter", active_case)
    partner = await _browser(lotse, "sprachkurs")
    assert (await partner.get(f"/eingang/{school}")).status_code == 200
    for path in (
        "/faelle",
        "/faelle/neu",
        f"/faelle/{active_case}",
        f"/faelle/{active_case}/vereinbarung.pdf",
        "/aufsicht",
        f"/aufsicht/faelle/{active_case}",
        f"/eingang/{jobcenter}",
        "/eingang/case-00000000-0000-0000-0000-000000000000-ref-1",
    ):
        response = await partner.get(path)
        assert response.status_code == 404, path
        assert "Nicht gefunden" in response.text and "<html" in response.text
    acknowledged = await partner.submit("/eingang", f"/eingang/{jobcenter}/annehmen", {})
    assert acknowledged.status_code == 404
    jobcenter_state = await lotse.ok("jobcenter", "GET", "/referrals")
    assert all(
        r["status"] == "dispatched" for r in jobcenter_state["items"] if r["id"] == jobcenter
    )
    # A counsellor of another centre and the supervisor's counsellor pages: 404 as well.
    other_centre = await _browser(lotse, "berater2")
    assert (await other_centre.get(f"/faelle/{active_case}")).status_code == 404
    supervisor = await _browser(lotse, "koordination")
    assert (await supervisor.get(f"/faelle/{active_case}")).status_code == 404
    overview = await supervisor.get(f"/aufsicht/faelle/{active_case}")
    assert overview.status_code == 200 and "Amina" not in overview.text


async def test_a_step_in_the_wrong_stage_says_why_and_keeps_the_input(lotse: Lotse) -> None:
    case_id = await lotse.open_case()
    counsellor = await _browser(lotse, "berater1")
    page = f"/faelle/{case_id}"
    response = await counsellor.submit(
        page, f"{page}/bedarf", {"needs.0.kind": "language", "needs.0.note": "dringend"}
    )
    # Post/Redirect/Get: the refusal is a 303 to the case page, which shows it (409).
    assert [answer.status_code for answer in response.history] == [303]
    assert response.status_code == 409
    shown_refusal = html.unescape(response.text)
    assert "Im Stadium „Aufnahme“ nicht möglich" in shown_refusal
    # A stale tab: the page says what happened and offers a fresh page.
    assert "Inzwischen hat sich etwas geändert" in shown_refusal
    assert f'<a href="{page}" class="reload">Seite neu laden</a>' in shown_refusal
    assert "'intake'" not in shown_refusal
    # The needs form is shown again with what was typed, although the stage has no place for it.
    assert 'value="dringend"' in response.text
    # The case page names the reason for every step the stage does not offer.
    shown = await counsellor.get(page)
    assert "Eine Überprüfung erfassen geht nur im Stadium „laufende Vereinbarung“" in html.unescape(
        shown.text
    )
    # Read once: the fresh page shows no refusal and no longer the needs form.
    assert "Inzwischen hat sich etwas geändert" not in html.unescape(shown.text)
    assert 'value="dringend"' not in shown.text


async def test_intake_errors_stand_next_to_their_field_and_nothing_typed_is_lost(
    lotse: Lotse,
) -> None:
    case_id = await lotse.open_case()
    counsellor = await _browser(lotse, "berater1")
    page = f"/faelle/{case_id}"
    # The sample intake as the form sends it, with an unknown language typed beside the
    # picker's Arabic, and no employment.
    qualification = INTAKE["qualifications"][0]
    form = {
        "birth_date": INTAKE["birth_date"],
        "languages": ["ar"],
        "languages_other": "xx",
        "german_level": INTAKE["german_level"],
        "residence.status": INTAKE["residence"]["status"],
        "residence.expires_on": INTAKE["residence"]["expires_on"],
        "qualifications.0.title": qualification["title"],
        "qualifications.0.country": qualification["country"],
        "qualifications.0.kind": qualification["kind"],
        "goals": INTAKE["goals"],
    }
    response = await counsellor.submit(page, f"{page}/aufnahme", form)
    assert response.status_code == 422
    page_html = response.text
    assert re.search(r'id="f-employment-error">Bitte wählen Sie die Erwerbssituation\.<', page_html)
    assert re.search(
        r'id="f-languages-error">Sprachen: „xx“ ist uns unbekannt; bitte aus der Liste wählen',
        page_html,
    )
    assert re.search(r'aria-describedby="[^"]*f-languages-error"', page_html)
    assert re.search(
        r'id="f-languages-ar" type="checkbox" name="languages" value="ar" checked', page_html
    )
    assert 'value="xx"' in page_html and 'value="Bauingenieurin"' in page_html
    assert re.search(r'value="academic" selected', page_html)
    assert re.search(r'value="employment" checked', page_html)

    # "Weiteren Abschluss hinzufügen" shows one more row and sends nothing.
    more = await counsellor.submit(page, f"{page}/aufnahme", {**form, "_add": "qualifications"})
    assert more.status_code == 200 and 'name="qualifications.1.title"' in more.text
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["stage"] == "intake"

    done = await counsellor.submit(
        page,
        f"{page}/aufnahme",
        {**form, "languages_other": "Englisch", "employment": "unemployed"},
    )
    assert done.status_code == 303 and done.headers["location"].startswith(page)
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["stage"] == "assessment"
    assert state["profile"]["qualifications"][0]["country"] == "SY"
    # Stored as codes, shown by their German names.
    assert state["profile"]["languages"] == ["ar", "en"]
    summary = html.unescape((await counsellor.get(page)).text)
    assert "<dd>Arabisch, Englisch</dd>" in summary
    assert "Bauingenieurin (Syrien" in summary


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("x" * 5_000, "„" + "x" * 30 + "…“ ist uns unbekannt"),  # huge: cut in the message
        ("ar\x07\x1b[2J", "„ar�"),  # control characters never reach the page as such
        ("Schlumpfisch, Dari", "„Schlumpfisch“ ist uns unbekannt"),  # Dari is known
    ],
    ids=["huge", "control characters", "unknown name"],
)
async def test_a_bad_language_beside_the_picker_is_refused_naming_the_field(
    lotse: Lotse, typed: str, shown: str
) -> None:
    case_id = await lotse.open_case()
    counsellor = await _browser(lotse, "berater1")
    page = f"/faelle/{case_id}"
    form = {
        "birth_date": INTAKE["birth_date"],
        "languages": ["ar", "prs"],
        "languages_other": typed,
        "german_level": INTAKE["german_level"],
        "employment": "unemployed",
        "residence.status": INTAKE["residence"]["status"],
        "qualifications.0.title": "Pflegefachfrau",
        "qualifications.0.country": "SY",
    }
    response = await counsellor.submit(page, f"{page}/aufnahme", form)
    assert response.status_code == 422
    error = re.search(r'id="f-languages-error">([^<]*)<', response.text)
    assert error is not None
    message = html.unescape(error.group(1))
    assert message.startswith("Sprachen: ") and shown in message
    assert "\x07" not in message and "\x1b" not in message and len(message) < 300
    # Nothing lost: the ticked languages, the chosen country and the rest as sent.
    for code in ("ar", "prs"):
        assert f'value="{code}" checked' in response.text
    assert '<option value="SY" selected>Syrien</option>' in response.text
    assert 'value="Pflegefachfrau"' in response.text
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["stage"] == "intake"


async def test_the_pickers_name_languages_and_countries_in_german(lotse: Lotse) -> None:
    case_id = await lotse.open_case()
    counsellor = await _browser(lotse, "berater1")
    text = (await counsellor.get(f"/faelle/{case_id}")).text
    # A checkbox per language, labelled by its German name, valued by its code.
    for code, name in (("prs", "Dari"), ("kmr", "Kurmandschi (Nordkurdisch)"), ("ti", "Tigrinya")):
        assert f'name="languages" value="{code}"' in text
        assert f'<label for="f-languages-{code}" lang="de">{name}</label>' in text
    assert '<fieldset class="picker" id="f-languages"' in text
    assert 'src="/static/pickers.js"' in text
    # The country as a select of German names, valued by ISO code; no 2-letter text field.
    assert '<option value="SY">Syrien</option>' in text
    assert "maxlength" not in text.split('id="f-qualifications-0-country"')[1].split(">")[0]


async def test_the_filter_answers_htmx_with_the_table_only(lotse: Lotse, active_case: str) -> None:
    counsellor = await _browser(lotse, "berater1")
    await lotse.projected(active_case)
    headers = {"HX-Request": "true", "HX-Target": "case-table"}
    table = await counsellor.get("/faelle?q=Amina&stadium=active", headers=headers)
    assert table.status_code == 200
    assert "<html" not in table.text and f"/faelle/{active_case}" in table.text
    nothing = await counsellor.get("/faelle?q=Niemand", headers=headers)
    assert "Keine Fälle für diese Auswahl" in nothing.text


async def test_the_agreement_pdf_names_the_hash_on_every_page(lotse: Lotse) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf (dev extra) reads the PDF's text")
    case_id = await lotse.open_case()
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=INTAKE)
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/assessment", json=ASSESSMENT)
    # Enough goals for several pages.
    goals = [{"text": f"Ziel {n}: " + "Schritt für Schritt " * 12} for n in range(1, 31)]
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/agreement", json={"goals": goals})
    requested = await lotse.ok("berater1", "POST", f"/cases/{case_id}/signature-request")

    counsellor = await _browser(lotse, "berater1")
    response = await counsellor.get(f"/faelle/{case_id}/vereinbarung.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) >= 2
    for number, sheet in enumerate(reader.pages, start=1):
        text = sheet.extract_text()
        assert requested["document_hash"] in text, f"page {number} without the hash"
        assert f"Seite {number} von {len(reader.pages)}" in text
    assert "Schritt für Schritt" in reader.pages[0].extract_text()

    printable = await counsellor.get(f"/faelle/{case_id}/vereinbarung")
    assert (
        requested["document_hash"] in printable.text
        and "INTEGRATIONSVEREINBARUNG" in printable.text
    )


async def test_a_draft_error_stands_at_the_proposal_it_belongs_to(lotse: Lotse) -> None:
    case_id = await lotse.case_in_drafting()
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    first, second = state["routes"][0]["id"], state["routes"][1]["id"]
    counsellor = await _browser(lotse, "berater1")
    page = f"/faelle/{case_id}"
    form = {
        "goals.0.text": "Deutsch auf B1",
        f"routes.{first}.take": "on",
        f"routes.{first}.text": "",
        f"routes.{second}.take": "on",
        f"routes.{second}.text": "Vermittlung in Arbeit",
        "extra.0.text": "Unterlagen mitbringen",
        "extra.0.responsible": "client",
    }
    response = await counsellor.submit(page, f"{page}/entwurf", form)
    assert response.status_code == 422
    # measures.0.text of the payload is the text input of the first proposal.
    assert (
        f'id="f-routes-{first}-text-error">Maßnahme 1: Bitte beschreiben Sie die Maßnahme.'
        in html.unescape(response.text)
    )
    assert 'value="Vermittlung in Arbeit"' in response.text
    assert 'value="Unterlagen mitbringen"' in response.text


async def test_review_and_closing_through_the_pages(lotse: Lotse, active_case: str) -> None:
    counsellor = await _browser(lotse, "berater1")
    page = f"/faelle/{active_case}"
    state = await lotse.ok("berater1", "GET", page.replace("/faelle", "/cases"))
    form = {
        "goal_progress.0.goal_id": state["goals"][0]["id"],
        "goal_progress.0.status": "in_progress",
        "goal_progress.0.note": "Kurs läuft",
        "survey.agreement_helped": "ja",
        "survey.easier_to_keep_at_it": "",
        "new_needs.0.kind": "childcare",
        "new_needs.0.priority": "1",
        "new_needs.0.note": "Kita-Platz gesucht",
    }
    reviewed = await counsellor.submit(page, f"{page}/ueberpruefung", form)
    assert reviewed.status_code == 303, reviewed.text
    state = await lotse.ok("berater1", "GET", page.replace("/faelle", "/cases"))

    def recorded() -> ReviewRow | None:
        with Session(lotse.engine) as session:
            return session.exec(select(ReviewRow).where(ReviewRow.case_id == active_case)).first()

    # The review lives in the read model (the case carries it only until it is projected).
    review = await eventually(recorded)
    assert (review.agreement_helped, review.easier_to_keep_at_it) == (True, None)
    assert review.goal_progress == [
        {"goal_id": state["goals"][0]["id"], "status": "in_progress", "note": "Kurs läuft"}
    ]
    assert state["goals"][0]["status"] == "in_progress"
    assert state["needs"][-1] == {"kind": "childcare", "note": "Kita-Platz gesucht", "priority": 1}

    refused = await counsellor.submit(page, f"{page}/abschluss", {"note": "zieht um"})
    assert refused.status_code == 422 and 'id="f-reason-error"' in refused.text
    assert "zieht um" in refused.text
    closed = await counsellor.submit(
        page, f"{page}/abschluss", {"reason": "moved_away", "note": "zieht um"}
    )
    assert closed.status_code == 303
    shown = await counsellor.get(page)
    assert 'aria-current="step"' in shown.text and "weggezogen" in shown.text


def _need_rows(page_html: str, prefix: str = "needs") -> int:
    return len(re.findall(rf'name="{prefix}\.\d+\.kind"', page_html))


async def test_a_row_number_beyond_the_form_is_refused_at_once_and_changes_nothing(
    lotse: Lotse,
) -> None:
    case_id = await lotse.open_case()
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=INTAKE)
    counsellor = await _browser(lotse, "berater1")
    page = f"/faelle/{case_id}"
    limit = Assessment.model_fields["needs"].metadata[-1].max_length
    hostile = {"needs.0.kind": "language", "needs.49999999.note": "x"}

    started = time.perf_counter()
    refused, listed = await asyncio.gather(
        counsellor.submit(page, f"{page}/bedarf", hostile),
        # Another request meanwhile: the event loop is not held up.
        counsellor.get("/faelle"),
    )
    assert time.perf_counter() - started < 10
    assert refused.status_code == 422 and listed.status_code == 200
    shown = html.unescape(refused.text)
    assert "Feld „needs.49999999.note“: Das Formular hat höchstens 30 Bedarfe" in shown
    assert _need_rows(refused.text) == limit == 30
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["stage"] == "assessment" and state["needs"] == []

    # A number too long for int() and the other groups: the same refusal, nothing sent.
    for form in (
        {f"needs.{'9' * 5000}.kind": "language"},
        {"needs.30.kind": "language", "_add": "needs"},
    ):
        again = await counsellor.submit(page, f"{page}/bedarf", form)
        assert again.status_code == 422 and "höchstens 30 Bedarfe" in html.unescape(again.text)
        assert _need_rows(again.text) == limit
    fresh = f"/faelle/{await lotse.open_case()}"
    intake = await counsellor.submit(fresh, f"{fresh}/aufnahme", {"children.20.birth_date": "x"})
    assert intake.status_code == 422 and "höchstens 20 Kinder" in html.unescape(intake.text)

    # "Weiteren Bedarf" at the last row shows no row beyond the limit either.
    more = await counsellor.submit(page, f"{page}/bedarf", {"needs.29.kind": "", "_add": "needs"})
    assert more.status_code == 200 and _need_rows(more.text) == limit
    # The last row there is still taken.
    done = await counsellor.submit(
        page, f"{page}/bedarf", {"needs.29.kind": "language", "needs.29.note": "Kurs"}
    )
    assert done.status_code == 303, done.text
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert [need["note"] for need in state["needs"]] == ["Kurs"]


async def test_a_known_name_opens_a_case_only_when_confirmed_and_the_second_closes_as_duplicate(
    lotse: Lotse,
) -> None:
    counsellor = await _browser(lotse, "berater1")
    first = await counsellor.submit(
        "/faelle/neu", "/faelle/neu", {"given_name": "Rania", "family_name": "Haddad"}
    )
    assert first.status_code == 303
    first_id = first.headers["location"].split("/")[2].split("?")[0]
    case_page = await counsellor.get(f"/faelle/{first_id}")
    number = (await lotse.ok("berater1", "GET", f"/cases/{first_id}"))["number"]
    assert (
        f"Fall-Nr. {number}" in case_page.text
        and first_id not in case_page.text.split("<h1", 1)[1].split("</div>", 1)[0]
    )

    async def listed() -> list[str]:
        page = await lotse.ok("berater1", "GET", "/cases", params={"q": "Rania Haddad"})
        return [item["id"] for item in page["items"]]

    await eventually(listed)
    # Back and again, with a variant spelling: a warning naming the case, nothing opened.
    again = await counsellor.submit(
        "/faelle/neu", "/faelle/neu", {"given_name": "Rania", "family_name": "Hadad"}
    )
    assert again.status_code == 409
    # Post/Redirect/Get: the warning is the GET page's, so Back never sends the form again.
    assert [r.status_code for r in again.history] == [303]
    assert str(again.url).endswith("/faelle/neu") and 'value="Hadad"' in again.text
    assert "Gibt es diesen Fall schon?" in again.text
    assert f'href="/faelle/{first_id}"' in again.text and number in again.text
    assert "Trotzdem neuen Fall anlegen" in again.text
    assert await listed() == [first_id]
    confirmation = re.search(r'name="trotzdem" value="([^"]*)"', again.text)
    assert confirmation is not None
    # The confirmation covers that name only: another name is checked again.
    other = await counsellor.submit(
        "/faelle/neu",
        "/faelle/neu",
        {"given_name": "Rania", "family_name": "Hadat", "trotzdem": html.unescape(confirmation[1])},
    )
    assert other.status_code == 303  # "Hadat" is no variant of Haddad: no warning
    confirmed = await counsellor.submit(
        "/faelle/neu",
        "/faelle/neu",
        {"given_name": "Rania", "family_name": "Hadad", "trotzdem": html.unescape(confirmation[1])},
    )
    assert confirmed.status_code == 303
    second_id = confirmed.headers["location"].split("/")[2].split("?")[0]
    assert second_id != first_id

    # The duplicate closes as such while in intake; a case past intake is not offered the
    # reason, and the case refuses it.
    assessed = await lotse.open_case()
    await lotse.ok("berater1", "POST", f"/cases/{assessed}/intake", json=INTAKE)
    page = f"/faelle/{second_id}"
    assert 'value="duplicate"' in (await counsellor.get(page)).text
    past_intake = (await counsellor.get(f"/faelle/{assessed}")).text
    assert 'id="aktion-close"' in past_intake and 'value="duplicate"' not in past_intake
    closed = await counsellor.submit(page, f"{page}/abschluss", {"reason": "duplicate"})
    assert closed.status_code == 303
    state = await lotse.ok("berater1", "GET", f"/cases/{second_id}")
    assert state["stage"] == "closed" and state["closure"]["reason"] == "duplicate"
    refused = await lotse.post("berater1", f"/cases/{assessed}/close", json={"reason": "duplicate"})
    assert refused.status_code == 409 and "doppelt angelegt" in refused.json()["detail"]
