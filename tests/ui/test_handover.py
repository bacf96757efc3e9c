"""Handing a case over from the case page: to another counsellor of the centre ("Fall
übergeben", `POST /faelle/{id}/uebergabe`) and to another centre of the municipality
(`POST /faelle/{id}/abgabe`), through the same checks and workflow updates as the API's
`/cases/{id}/reassign` and `/cases/{id}/transfer`.

An httpx client with a cookie jar against the app (ASGI), a real Temporal (the shared dev
server), the real workflows and activities and the seeded SQLite store, with a few more
counsellor accounts than the demo data has.
"""

import html
import re
from collections.abc import AsyncIterator

import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from domain.case import CaseState
from domain.enums import CentreKind
from store.models import Role
from store.seed import DEMO_PASSWORD
from store.users import create_user, hash_password
from tests.api_harness import Lotse, eventually, running_lotse
from tests.ui_harness import Browser, csrf_of

COLLEAGUE = "kollegin"  # active, mbe-mitte (berater1's centre)
FORMER = "ehemalig"  # deactivated, mbe-mitte
NORTH = "nordberater"  # active, mbe-nord (like berater2)


@pytest.fixture(scope="module")
async def lotse(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lotse]:
    async with running_lotse(dev_env, tmp_path_factory.mktemp("lotse")) as system:
        demo_hash = hash_password(DEMO_PASSWORD)
        with Session(system.engine) as session:
            for username, centre_id, active in (
                (COLLEAGUE, "mbe-mitte", True),
                (FORMER, "mbe-mitte", False),
                (NORTH, "mbe-nord", True),
            ):
                create_user(
                    session,
                    username,
                    Role.COUNSELLOR,
                    password_hash=demo_hash,
                    centre_id=centre_id,
                    active=active,
                )
            session.commit()
        yield system


async def _browser(lotse: Lotse, username: str) -> Browser:
    browser = Browser(lotse)
    response = await browser.login(username)
    assert response.status_code == 303, response.text
    return browser


def _options(page: str, name: str) -> list[str]:
    """The option values of the select named `name`."""
    found = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert found, f"no select {name}"
    return re.findall(r'<option value="([^"]*)"', found.group(1))


async def _state(lotse: Lotse, username: str, case_id: str) -> dict[str, object]:
    state: dict[str, object] = await lotse.ok(username, "GET", f"/cases/{case_id}")
    return state


async def test_the_handover_section_offers_the_centres_other_counsellors_and_centres(
    lotse: Lotse,
) -> None:
    case_id = await lotse.active_case("berater1")
    counsellor = await _browser(lotse, "berater1")
    page = await counsellor.get(f"/faelle/{case_id}")
    assert page.status_code == 200
    assert "Fall übergeben" in page.text
    assert f'action="/faelle/{case_id}/uebergabe"' in page.text
    assert f'action="/faelle/{case_id}/abgabe"' in page.text
    # Only active counsellors of mbe-mitte, not the case's own counsellor.
    assert _options(page.text, "counsellor_id") == ["", COLLEAGUE]
    # The municipality's other centres, by name, with the kind the directory gives them.
    assert _options(page.text, "centre_id") == ["", "jmd-musterstadt", "mbe-nord"]
    assert "Jugendmigrationsdienst Musterstadt (JMD)" in page.text
    assert "MBE Musterstadt-Nord (MBE)" in page.text

    # A colleague sees the centre's cases too and may take this one over herself: the
    # choices are everyone but the case's counsellor.
    colleague = await _browser(lotse, COLLEAGUE)
    seen = await colleague.get(f"/faelle/{case_id}")
    assert seen.status_code == 200
    assert _options(seen.text, "counsellor_id") == ["", COLLEAGUE]

    # A closed case has nothing to hand over.
    closed = await lotse.open_case("berater1")
    await lotse.ok("berater1", "POST", f"/cases/{closed}/close", json={"reason": "moved_away"})
    shown = await counsellor.get(f"/faelle/{closed}")
    assert shown.status_code == 200 and "Fall übergeben" not in shown.text


async def test_a_handover_to_a_colleague_changes_the_counsellor(lotse: Lotse) -> None:
    case_id = await lotse.open_case("berater1")
    counsellor = await _browser(lotse, "berater1")
    page = f"/faelle/{case_id}"
    done = await counsellor.submit(page, f"{page}/uebergabe", {"counsellor_id": COLLEAGUE})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{page}?erledigt=uebergabe#uebergabe"

    state = await _state(lotse, "berater1", case_id)
    assert (state["centre_id"], state["counsellor_id"]) == ("mbe-mitte", COLLEAGUE)
    row = await eventually(
        lambda: (s := lotse.summary(case_id)) is not None and s.counsellor_id == COLLEAGUE
    )
    assert row
    # The case stays in the centre: berater1 still sees it, with the new counsellor.
    shown = await counsellor.get(done.headers["location"])
    assert shown.status_code == 200
    text = html.unescape(shown.text)
    assert "an eine andere Beraterin / einen anderen Berater übergeben" in text
    # The centre by its name; a colleague without a display name by her username.
    assert f"Beratungsstelle MBE Musterstadt-Mitte · Berater:in {COLLEAGUE}" in text
    assert f"an {COLLEAGUE}" in text  # the history
    assert _options(shown.text, "counsellor_id") == ["", "berater1"]
    # The choice names the person, the value stays her account.
    assert '<option value="berater1">Katrin Schulte</option>' in shown.text


async def test_a_transfer_hands_the_case_to_the_other_centre(lotse: Lotse) -> None:
    case_id = await lotse.open_case("berater1")
    await lotse.projected(case_id)
    counsellor = await _browser(lotse, "berater1")
    page = f"/faelle/{case_id}"
    done = await counsellor.submit(page, f"{page}/abgabe", {"centre_id": "jmd-musterstadt"})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/faelle?erledigt=abgabe"
    listed = await counsellor.get(done.headers["location"])
    assert listed.status_code == 200
    assert "an die andere Beratungsstelle abgegeben" in listed.text

    def moved() -> bool:
        row = lotse.summary(case_id)
        return row is not None and row.centre_id == "jmd-musterstadt"

    await eventually(moved)
    # The case left berater1's centre: no page, no API read any more.
    assert (await counsellor.get(page)).status_code == 404
    assert (await lotse.get("berater1", f"/cases/{case_id}")).status_code == 404
    # The workflow's state: the new centre, its kind from the directory, no counsellor yet.
    overview = await lotse.ok("koordination", "GET", f"/supervision/cases/{case_id}")
    assert overview["centre_id"] == "jmd-musterstadt"
    handle = lotse.client.get_workflow_handle(case_id)
    state = await handle.query("state", result_type=CaseState)
    assert (state.centre_id, state.centre_kind, state.counsellor_id) == (
        "jmd-musterstadt",
        CentreKind.JMD,
        None,
    )


async def test_an_invalid_choice_is_refused_in_german_and_changes_nothing(lotse: Lotse) -> None:
    case_id = await lotse.open_case("berater1")
    before = await _state(lotse, "berater1", case_id)
    counsellor = await _browser(lotse, "berater1")
    page = f"/faelle/{case_id}"

    # A counsellor of another centre, posted by hand (the select does not offer her).
    foreign = await counsellor.submit(page, f"{page}/uebergabe", {"counsellor_id": "berater2"})
    assert foreign.status_code == 422
    text = html.unescape(foreign.text)
    assert re.search(
        r'id="f-counsellor_id-error">Beraterin / Berater: \'berater2\' ist kein aktives '
        r"Beratungskonto dieser "
        r"Beratungsstelle\.<",
        text,
    )
    assert 'id="uebergabe" open' in foreign.text
    for username in (FORMER, "koordination", "niemand"):
        refused = await counsellor.submit(page, f"{page}/uebergabe", {"counsellor_id": username})
        assert refused.status_code == 422, username
        assert "ist kein aktives Beratungskonto" in html.unescape(refused.text)
    # The workflow's own check: the case's counsellor already has it.
    same = await counsellor.submit(page, f"{page}/uebergabe", {"counsellor_id": "berater1"})
    assert same.status_code == 422
    assert "bereits zuständig" in html.unescape(same.text)
    empty = await counsellor.submit(page, f"{page}/uebergabe", {"counsellor_id": ""})
    assert empty.status_code == 422
    assert (
        'id="f-counsellor_id-error">Bitte wählen Sie eine Beraterin oder einen Berater.<'
        in html.unescape(empty.text)
    )

    for centre, message in (
        ("no-such-centre", "Die Beratungsstelle 'no-such-centre' gibt es nicht."),
        ("mbe-mitte", "Der Fall liegt bereits bei dieser Beratungsstelle."),
    ):
        refused = await counsellor.submit(page, f"{page}/abgabe", {"centre_id": centre})
        assert refused.status_code == 422, centre
        assert f'id="f-centre_id-error">{message}<' in html.unescape(refused.text)

    after = await _state(lotse, "berater1", case_id)
    assert after["next_sequence"] == before["next_sequence"]
    assert (after["centre_id"], after["counsellor_id"]) == ("mbe-mitte", "berater1")


async def test_a_handover_without_a_valid_csrf_token_or_from_elsewhere_is_refused(
    lotse: Lotse,
) -> None:
    case_id = await lotse.open_case("berater1")
    await lotse.projected(case_id)
    before = await _state(lotse, "berater1", case_id)
    counsellor = await _browser(lotse, "berater1")
    page = f"/faelle/{case_id}"
    await counsellor.get(page)  # the CSRF cookie

    no_token = await counsellor.http.post(f"{page}/uebergabe", data={"counsellor_id": COLLEAGUE})
    assert no_token.status_code == 403 and "Sicherheitsprüfung" in no_token.text
    no_token = await counsellor.http.post(f"{page}/abgabe", data={"centre_id": "mbe-nord"})
    assert no_token.status_code == 403 and "Sicherheitsprüfung" in no_token.text
    # A token of another session does not fit this one.
    other = await _browser(lotse, "berater1")
    foreign_token = csrf_of((await other.get(page)).text)
    forged = await counsellor.http.post(
        f"{page}/uebergabe", data={"counsellor_id": COLLEAGUE, "csrf_token": foreign_token}
    )
    assert forged.status_code == 403
    # A counsellor of another centre reaches no case of mbe-mitte: 404 as for a missing one.
    north = await _browser(lotse, "berater2")
    outside = await north.submit("/faelle", f"{page}/abgabe", {"centre_id": "mbe-nord"})
    assert outside.status_code == 404

    after = await _state(lotse, "berater1", case_id)
    assert after["next_sequence"] == before["next_sequence"]
    assert (after["centre_id"], after["counsellor_id"]) == ("mbe-mitte", "berater1")


async def test_the_header_names_the_person_and_the_case_page_her_centre(lotse: Lotse) -> None:
    case_id = await lotse.open_case("berater1")
    counsellor = await _browser(lotse, "berater1")
    text = html.unescape((await counsellor.get(f"/faelle/{case_id}")).text)
    assert '<span class="who" title="Angemeldet als berater1">Katrin Schulte</span>' in text
    assert "Beratungsstelle MBE Musterstadt-Mitte · Berater:in Katrin Schulte" in text
    assert "mbe-mitte" not in text
