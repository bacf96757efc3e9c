"""The case page of issue 14 (item 9) without a browser, against the real workflows: the
status header's one primary action per stage, the section links, „Vereinbarung ändern“ and
„Weitere Aktionen“ in an active case, the message of the signature that puts the agreement in
force, the list of past reviews, the review form closed after signing and open when asked for
or due; and of item 12, the needs preselected from the intake's goals and the whole intake in
the summary.
"""

import html
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.months import german_day
from store.directory import SqlDirectory
from tests.api_harness import Lotse, eventually, running_lotse
from tests.samples import INTAKE, draft_body
from tests.ui_harness import Browser

PRIMARY = re.compile(r'<a class="button primary-action" href="([^"]*)">([^<]*)</a>')


@pytest.fixture(scope="module")
async def lotse(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lotse]:
    # The dev server, as tests/ui/test_pages.py says why (a review continues as new).
    async with running_lotse(dev_env, tmp_path_factory.mktemp("lotse")) as system:
        yield system


async def _counsellor(lotse: Lotse) -> Browser:
    browser = Browser(lotse)
    response = await browser.login("berater1")
    assert response.status_code == 303, response.text
    return browser


def _primary(page_html: str) -> tuple[str, str]:
    found = PRIMARY.findall(page_html)
    assert len(found) == 1, found  # one primary action, never two
    href, label = found[0]
    return html.unescape(href), label


def _text(page_html: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page_html))


def _review_form(page_html: str) -> str:
    found = re.search(
        r'<details class="inline-panel review-form" id="aktion-record_review"[^>]*>', page_html
    )
    assert found is not None
    return found.group(0)


async def test_the_status_header_offers_one_primary_action_per_stage(lotse: Lotse) -> None:
    counsellor = await _counsellor(lotse)
    case_id = await lotse.open_case()
    page = f"/faelle/{case_id}"
    api = f"/cases/{case_id}"

    shown = (await counsellor.get(page)).text
    assert _primary(shown) == ("#aktion-complete_intake", "Aufnahme abschließen")
    assert "Die Aufnahme ist noch offen." in _text(shown)

    await lotse.ok("berater1", "POST", f"{api}/intake", json=INTAKE)
    shown = (await counsellor.get(page)).text
    assert _primary(shown) == ("#aktion-complete_assessment", "Bedarfsklärung abschließen")

    await lotse.ok("berater1", "POST", f"{api}/assessment", json={"needs": [{"kind": "language"}]})
    shown = (await counsellor.get(page)).text
    assert _primary(shown) == ("#aktion-draft_agreement", "Vereinbarung entwerfen")

    state = await lotse.ok("berater1", "GET", api)
    await lotse.ok("berater1", "POST", f"{api}/agreement", json=draft_body(state["routes"]))
    shown = (await counsellor.get(page)).text
    # A saved draft: the next step is to present it, the draft form is still there.
    assert _primary(shown) == ("#aktion-request_signature", "Zur Unterschrift vorlegen")

    requested = await lotse.ok("berater1", "POST", f"{api}/signature-request")
    shown = (await counsellor.get(page)).text
    assert _primary(shown) == ("#aktion-sign", "Unterschriften erfassen")
    assert (
        "Zur Unterschrift vorgelegt: Fassung 1, deutsche Ausgabe (0 von 2 Unterschriften erfasst)."
        in _text(shown)
    )

    for party in ("client", "counsellor"):
        signature = {"party": party, "document_hash": requested["document_hash"]}
        await lotse.ok("berater1", "POST", f"{api}/signatures", json=signature)
    state = await lotse.ok("berater1", "GET", api)
    shown = (await counsellor.get(page)).text
    due = german_day(datetime.fromisoformat(state["next_review_due"]))
    assert f"Überprüfung fällig am {due:%d.%m.%Y}" in _text(shown)
    assert _primary(shown) == (
        f"{page}?ueberpruefung=1#aktion-record_review",
        "Überprüfung erfassen",
    )

    await lotse.ok("berater1", "POST", f"{api}/close", json={"reason": "moved_away"})
    shown = (await counsellor.get(page)).text
    assert PRIMARY.search(shown) is None
    assert "Abgeschlossen am" in _text(shown) and "weggezogen" in _text(shown)


async def test_the_status_header_names_the_edition_presented_with_its_print_and_pdf(
    lotse: Lotse,
) -> None:
    counsellor = await _counsellor(lotse)
    case_id = await lotse.case_in_drafting()
    api, page = f"/cases/{case_id}", f"/faelle/{case_id}"
    state = await lotse.ok("berater1", "GET", api)
    await lotse.ok("berater1", "POST", f"{api}/agreement", json=draft_body(state["routes"]))
    await lotse.ok("berater1", "POST", f"{api}/signature-request", json={"language": "ar"})
    shown = _text((await counsellor.get(page)).text)
    edition = "zweisprachige Ausgabe Deutsch/Arabisch (Übersetzung nicht geprüft)"
    assert f"Zur Unterschrift vorgelegt: Fassung 1, {edition} (0 von 2" in shown
    links = re.search(r'<p class="edition-links">(.*?)</p>', shown)
    assert links is not None and edition in links.group(1)
    hrefs = re.findall(r'href="([^"]+)"', links.group(1))
    assert hrefs == [f"{page}/vereinbarung", f"{page}/vereinbarung.pdf"]
    printed = await counsellor.get(hrefs[0])
    assert printed.status_code == 200 and "Verbindlich ist allein der deutsche Text" in printed.text
    pdf = await counsellor.get(hrefs[1])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert f"{edition} –" in shown  # the agreement section says it too

    # Withdrawn and presented in German only: the header follows the current version.
    await lotse.ok("berater1", "POST", f"{api}/signature-request/withdrawal")
    await lotse.ok("berater1", "POST", f"{api}/signature-request")
    shown = _text((await counsellor.get(page)).text)
    assert "Zur Unterschrift vorgelegt: Fassung 2, deutsche Ausgabe (0 von 2" in shown
    assert "Übersetzung nicht geprüft" not in shown
    await counsellor.aclose()


async def test_the_sections_can_be_jumped_to_and_each_anchor_exists(lotse: Lotse) -> None:
    counsellor = await _counsellor(lotse)
    shown = (await counsellor.get(f"/faelle/{await lotse.open_case()}")).text
    nav = re.search(
        r'<nav class="sections" aria-label="Abschnitte des Falls">(.*?)</nav>', shown, re.S
    )
    assert nav is not None
    links = re.findall(r'<a href="#([a-z]+)">([^<(]+)', nav.group(1))
    assert [(anchor, label.strip()) for anchor, label in links] == [
        ("ueberblick", "Überblick"),
        ("vereinbarung", "Vereinbarung"),
        ("vermittlungen", "Vermittlungen"),
        ("ueberpruefungen", "Überprüfungen"),
        ("verlauf", "Verlauf"),
    ]
    for anchor, _ in links:
        assert len(re.findall(rf'id="{anchor}"', shown)) == 1, anchor


async def test_an_active_case_offers_the_amendment_and_closing_under_more_actions(
    lotse: Lotse,
) -> None:
    counsellor = await _counsellor(lotse)
    shown = (await counsellor.get(f"/faelle/{await lotse.active_case()}")).text
    more = re.search(
        r'<details class="panel more-actions" id="weitere-aktionen">(.*?)</details>\s*<section',
        shown,
        re.S,
    )
    assert more is not None, "„Weitere Aktionen“ is closed and holds the secondary steps"
    assert "<summary>Weitere Aktionen</summary>" in more.group(1)
    assert '<a href="#aenderung">Vereinbarung ändern</a>' in more.group(1)
    assert 'id="aktion-close"' in more.group(1)
    # Not „Vereinbarung entwerfen“ for an amendment, and closing is not beside the next step.
    assert ">Vereinbarung entwerfen<" not in shown
    status = re.search(r'<section class="panel status-header".*?</section>', shown, re.S)
    assert status is not None and "abschließen" not in status.group(0)


async def test_the_second_signature_says_the_agreement_is_in_force_and_what_went_to_whom(
    lotse: Lotse,
) -> None:
    counsellor = await _counsellor(lotse)
    case_id = await lotse.case_in_drafting()
    api, page = f"/cases/{case_id}", f"/faelle/{case_id}"
    state = await lotse.ok("berater1", "GET", api)
    await lotse.ok("berater1", "POST", f"{api}/agreement", json=draft_body(state["routes"]))
    requested = await lotse.ok("berater1", "POST", f"{api}/signature-request")
    hash = requested["document_hash"]
    first = await counsellor.submit(
        page, f"{page}/unterschrift", {"party": "client", "document_hash": hash, "confirmed": "on"}
    )
    assert first.status_code == 303
    shown = await counsellor.get(first.headers["location"])
    assert "Unterschrift der Klientin / des Klienten erfasst." in html.unescape(shown.text)
    second = await counsellor.submit(
        page,
        f"{page}/unterschrift",
        {"party": "counsellor", "document_hash": hash, "confirmed": "on"},
    )
    assert second.status_code == 303 and "erledigt=sign_counsellor" in second.headers["location"]
    second = await counsellor.get(second.headers["location"])
    state = await lotse.ok("berater1", "GET", api)
    directory = SqlDirectory(lotse.engine).partners(state["municipality_id"])
    partners = {p.id: p.name for p in directory}
    named = [partners[r["partner_id"]] for r in state["referrals"]]
    assert len(named) == 2
    message = re.search(r'<p class="notice success" role="status">([^<]*)</p>', second.text)
    assert message is not None
    said = html.unescape(message.group(1))
    assert said.startswith(
        "Die Vereinbarung gilt ab heute. 2 Vermittlungen an Partner übermittelt: "
    )
    assert all(name in said for name in named)
    assert "Unterschrift der Beratungsstelle erfasst." not in said
    # The review form stays closed on the day of signing.
    assert " open" not in _review_form(second.text)


async def test_a_recorded_review_is_listed_with_its_goal_notes_and_answers(lotse: Lotse) -> None:
    counsellor = await _counsellor(lotse)
    case_id = await lotse.active_case()
    page = f"/faelle/{case_id}"
    shown = (await counsellor.get(page)).text
    assert "Noch keine Überprüfung erfasst." in shown
    assert " open" not in _review_form(shown)
    # Asked for (the primary action's link): open.
    asked = (await counsellor.get(f"{page}?ueberpruefung=1")).text
    assert _review_form(asked).endswith(" open>")

    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    tomorrow = german_day(datetime.now().astimezone()) + timedelta(days=1)
    form = {
        "goal_progress.0.goal_id": state["goals"][0]["id"],
        "goal_progress.0.status": "in_progress",
        "goal_progress.0.note": "Kurs läuft, Prüfung im März",
        "goal_progress.1.goal_id": state["goals"][1]["id"],
        "goal_progress.1.status": "open",
        "survey.agreement_helped": "ja",
        "survey.easier_to_keep_at_it": "",
        "next_review_on": tomorrow.isoformat(),
    }
    reviewed = await counsellor.submit(page, f"{page}/ueberpruefung", form)
    assert reviewed.status_code == 303, reviewed.text

    async def listed() -> str | None:
        text = _text((await counsellor.get(page)).text)
        return text if "Überprüfung vom" in text else None

    text = await eventually(listed)
    reviews = text[text.index('id="reviews-title"') :]
    assert f"Überprüfung vom {date.today():%d.%m.%Y}" in reviews
    assert "Deutsch auf B1: in Arbeit – „Kurs läuft, Prüfung im März“" in reviews.replace(
        "<q>", "„"
    ).replace("</q>", "“")
    assert "Hat die Vereinbarung geholfen?</dt><dd>ja</dd>" in reviews.replace("> <", "><")
    assert "dranzubleiben?</dt><dd>keine Angabe</dd>" in reviews.replace("> <", "><")

    # The next review is tomorrow: its reminder is due, so the form opens by itself.
    async def opened() -> str | None:
        shown = (await counsellor.get(page)).text
        return shown if _review_form(shown).endswith(" open>") else None

    await eventually(opened)


async def test_the_assessment_preselects_the_needs_of_the_intake_goals_and_the_summary_is_whole(
    lotse: Lotse,
) -> None:
    counsellor = await _counsellor(lotse)
    case_id = await lotse.open_case()
    intake = INTAKE | {
        "goals": ["recognition", "childcare", "other", "language"],
        "literacy_need": True,
        "integration_course_completed": False,
        "children": [
            {"birth_date": "2019-03-04", "has_childcare": True},
            {"birth_date": "2023-01-10", "has_childcare": False},
        ],
    }
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=intake)
    shown = (await counsellor.get(f"/faelle/{case_id}")).text
    chosen = [
        re.search(rf'name="needs\.{i}\.kind".*?value="([a-z]*)" selected', shown, re.S)
        for i in range(4)
    ]
    # In the goals' order; "other" says too little to preselect; one empty row to add more.
    assert [c.group(1) if c else None for c in chosen[:3]] == [
        "credential",
        "childcare",
        "language",
    ]
    assert re.search(r'name="needs\.3\.kind"', shown)
    text = _text(shown)
    summary = text[text.index('id="profile-title"') :]
    for fact in (
        "<dt>Bürgergeld</dt><dd>bezieht Bürgergeld</dd>",
        "<dt>Alphabetisierung</dt><dd>Alphabetisierungsbedarf</dd>",
        "<dt>Integrationskurs</dt><dd>nicht abgeschlossen</dd>",
        "geboren 04.03.2019, mit Betreuungsplatz; geboren 10.01.2023, ohne Betreuungsplatz",
        "Bauingenieurin (Syrien, Hochschulabschluss, Unterlagen unvollständig)",
    ):
        assert fact in summary.replace("> <", "><"), fact


async def test_the_clients_measure_is_ticked_off_on_the_page_and_a_partners_is_not(
    lotse: Lotse,
) -> None:
    counsellor = await _counsellor(lotse)
    case_id = await lotse.case_in_drafting()
    api, page = f"/cases/{case_id}", f"/faelle/{case_id}"
    state = await lotse.ok("berater1", "GET", api)
    body = draft_body(state["routes"])
    body["measures"].append({"text": "Zeugnisse übersetzen lassen", "responsible": "client"})
    await lotse.ok("berater1", "POST", f"{api}/agreement", json=body)
    requested = await lotse.ok("berater1", "POST", f"{api}/signature-request")
    for party in ("client", "counsellor"):
        signature = {"party": party, "document_hash": requested["document_hash"]}
        await lotse.ok("berater1", "POST", f"{api}/signatures", json=signature)
    state = await lotse.ok("berater1", "GET", api)
    own = next(m for m in state["measures"] if m["responsible"] == "client")
    shown = (await counsellor.get(page)).text
    # One check-off, the client's: the partners' measures are completed by the partners.
    assert len(re.findall(r'name="measure_id" value="', shown)) == 1
    assert f'name="measure_id" value="{own["id"]}"' in shown
    assert f'id="f-done_on-{own["id"]}"' in shown

    future = (date.today() + timedelta(days=3)).isoformat()
    refused = await counsellor.submit(
        page, f"{page}/massnahme-erledigt", {"measure_id": own["id"], "done_on": future}
    )
    assert refused.status_code == 422
    assert re.search(
        rf'id="f-done_on-{own["id"]}-error">[^<]*Das Datum darf nicht in der Zukunft liegen',
        refused.text,
    )
    assert f'value="{future}"' in refused.text  # what was typed stays
    assert "Feld „done_on“" not in html.unescape(refused.text)
    assert "Erledigt am" in html.unescape(refused.text)

    today = german_day(datetime.fromisoformat(state["activated_at"]))
    done = await counsellor.submit(
        page, f"{page}/massnahme-erledigt", {"measure_id": own["id"], "done_on": today.isoformat()}
    )
    assert done.status_code == 303 and "erledigt=massnahme" in done.headers["location"]
    text = _text((await counsellor.get(done.headers["location"])).text)
    assert "Die Maßnahme ist als erledigt erfasst." in text
    assert f"erledigt am {today:%d.%m.%Y}" in text
    assert 'name="measure_id"' not in text
    assert f"Zeugnisse übersetzen lassen (Klient:in), erledigt am {today:%d.%m.%Y}" in text
