"""The coordination gives a case transferred without a counsellor one of the new centre's, from
the case overview ("/aufsicht/faelle/{id}", form „Beraterin oder Berater zuweisen“), through
the same check and workflow update as `POST /supervision/cases/{id}/assign`.

An httpx client with a cookie jar against the app (ASGI), a real Temporal (a time-skipping
server of this module's own), the real workflows and activities and the seeded SQLite store,
with a few more counsellor accounts than the demo data has.

Checked: the form is offered only for a case waiting for a counsellor, with the directory's
active counsellors of the centre that holds it, by name; the page is the municipality's
coordination's alone (404 for everyone else, exactly as for a missing case); hostile and wrong
choices come back next to the field in German and change nothing; an assignment reaches the
workflow, goes to the task list with a confirmation and ends the task.
"""

import html
import re

import pytest
from sqlmodel import Session

from store.models import Municipality, Role
from store.seed import DEMO_PASSWORD
from store.users import create_user, hash_password
from tests.api_harness import Lotse, eventually
from tests.hostile_values import HUGE, store_texts_are_clean
from tests.ui_harness import Browser

FORMER = "ehemalig-nord"  # deactivated, mbe-nord
COLLEAGUE = "kollegin-nord"  # active, mbe-nord, display name "Anna Berg"
FOREIGN_SUPERVISOR = "koordination-fern"
MISSING = "case-00000000-0000-4000-8000-000000000000"
ASSIGN_FORM = 'aria-label="Beraterin oder Berater zuweisen"'


@pytest.fixture(scope="module")
def accounts(lotse: Lotse) -> None:
    demo_hash = hash_password(DEMO_PASSWORD)
    with Session(lotse.engine) as session:
        session.add(Municipality(id="fern", name="Fern", land="BY"))
        session.flush()
        create_user(
            session,
            FOREIGN_SUPERVISOR,
            Role.SUPERVISOR,
            password_hash=demo_hash,
            municipality_id="fern",
        )
        create_user(
            session,
            FORMER,
            Role.COUNSELLOR,
            password_hash=demo_hash,
            centre_id="mbe-nord",
            active=False,
            display_name="Ehemals Nord",
        )
        create_user(
            session,
            COLLEAGUE,
            Role.COUNSELLOR,
            password_hash=demo_hash,
            centre_id="mbe-nord",
            display_name="Anna Berg",
        )
        session.commit()


async def _browser(lotse: Lotse, username: str) -> Browser:
    browser = Browser(lotse)
    assert (await browser.login(username)).status_code == 303
    return browser


def _options(page: str) -> list[tuple[str, str]]:
    found = re.search(r'<select[^>]*name="counsellor_id"[^>]*>(.*?)</select>', page, re.S)
    assert found, "no counsellor choice"
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found.group(1))


async def _transferred(lotse: Lotse) -> str:
    """A case berater1 opened and gave to mbe-nord without naming anyone, once the overview
    shows the supervisors' task."""
    case_id = await lotse.open_case("berater1", given="Verborgen")
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/transfer", json={"centre_id": "mbe-nord"})

    async def waiting() -> bool:
        row = lotse.summary(case_id)
        if row is None or row.centre_id != "mbe-nord":
            return False
        tasks = await lotse.ok(
            "koordination", "GET", "/supervision/tasks", params={"page_size": 200}
        )
        return any(t["case_id"] == case_id for t in tasks["items"])

    await eventually(waiting)
    return case_id


async def _state(lotse: Lotse, case_id: str) -> dict[str, object]:
    state: dict[str, object] = await lotse.ok("berater2", "GET", f"/cases/{case_id}")
    return state


async def test_the_form_offers_the_new_centres_active_counsellors_by_name(
    lotse: Lotse, accounts: None
) -> None:
    case_id = await _transferred(lotse)
    supervisor = await _browser(lotse, "koordination")
    page = html.unescape((await supervisor.get(f"/aufsicht/faelle/{case_id}")).text)
    assert ASSIGN_FORM in page and "Fall ohne Berater:in" in page  # the task, and its form
    assert "an MBE Musterstadt-Nord abgegeben" in page
    # By name; the deactivated one and the old centre's counsellors are not offered.
    assert _options(page) == [
        ("", "bitte wählen"),
        (COLLEAGUE, "Anna Berg"),
        ("berater2", "Murat Yılmaz"),
    ]
    assert "Verborgen" not in page
    # A case with its counsellor gets no form.
    own = await lotse.open_case("berater1")
    await lotse.projected(own)
    other = html.unescape((await supervisor.get(f"/aufsicht/faelle/{own}")).text)
    assert ASSIGN_FORM not in other and "Beraterin oder Berater zuweisen" not in other
    await supervisor.aclose()


async def test_only_the_municipality_s_coordination_may_assign(
    lotse: Lotse, accounts: None
) -> None:
    case_id = await _transferred(lotse)
    for username in (FOREIGN_SUPERVISOR, "berater1", "berater2", "jobcenter", "admin"):
        other = await _browser(lotse, username)
        for path in (f"/aufsicht/faelle/{case_id}", f"/aufsicht/faelle/{MISSING}"):
            refused = await other.get(path)
            assert refused.status_code == 404, (username, path)
        # Sent anyway, with a token of one of its own pages: 404, nothing changes.
        sent = await other.submit(
            "/benachrichtigungen",
            f"/aufsicht/faelle/{case_id}/zuweisen",
            {"counsellor_id": "berater2"},
        )
        assert sent.status_code == 404, username
        await other.aclose()
    assert (await _state(lotse, case_id))["counsellor_id"] is None
    supervisor = await _browser(lotse, "koordination")
    forged = await supervisor.http.post(
        f"/aufsicht/faelle/{case_id}/zuweisen", data={"counsellor_id": "berater2"}
    )
    assert forged.status_code == 403
    await supervisor.aclose()


async def test_wrong_choices_are_refused_next_to_the_field(lotse: Lotse, accounts: None) -> None:
    case_id = await _transferred(lotse)
    supervisor = await _browser(lotse, "koordination")
    page = f"/aufsicht/faelle/{case_id}"
    for value, words in (
        ("", "Bitte eine Beraterin oder einen Berater der Beratungsstelle wählen."),
        ("berater1", "kein aktives Beratungskonto"),  # the old centre's
        (FORMER, "kein aktives Beratungskonto"),  # deactivated
        ("koordination", "kein aktives Beratungskonto"),
        ("x" * 200, "Zu lang"),
        (HUGE, "Zu lang"),
        ("berater2\x00", "Steuerzeichen (U+0000"),
        ("berater2\x1b[31m", "Steuerzeichen (U+001B"),
        ("berater\u202e2", "Schreibrichtung (U+202E"),
        ("berater\n2", "Zeilenumbrüche"),
    ):
        refused = await supervisor.submit(page, f"{page}/zuweisen", {"counsellor_id": value})
        assert refused.status_code == 422, (value[:12], refused.text[:300])
        text = html.unescape(refused.text)
        error = re.search(r'id="f-counsellor_id-error">([^<]*)<', text)
        assert error and words in error.group(1), (value[:12], text[text.find("zuweisen") :][:600])
        assert ASSIGN_FORM in text
    assert (await _state(lotse, case_id))["counsellor_id"] is None
    assert store_texts_are_clean(lotse.engine)
    await supervisor.aclose()


async def test_the_coordination_assigns_and_the_task_is_done(lotse: Lotse, accounts: None) -> None:
    case_id = await _transferred(lotse)
    supervisor = await _browser(lotse, "koordination")
    tasks = html.unescape((await supervisor.get("/aufsicht/aufgaben")).text)
    assert f'href="/aufsicht/faelle/{case_id}#zuweisen"' in tasks
    page = f"/aufsicht/faelle/{case_id}"
    done = await supervisor.submit(page, f"{page}/zuweisen", {"counsellor_id": COLLEAGUE})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/aufsicht/aufgaben?erledigt=zugewiesen"
    confirmed = html.unescape((await supervisor.get(done.headers["location"])).text)
    assert "Der Fall ist zugewiesen" in confirmed
    state = await lotse.ok(COLLEAGUE, "GET", f"/cases/{case_id}")
    assert (state["centre_id"], state["counsellor_id"]) == ("mbe-nord", COLLEAGUE)

    async def settled() -> str | None:
        text = html.unescape((await supervisor.get(page)).text)
        return text if "Anna Berg" in text and ASSIGN_FORM not in text else None

    overview = await eventually(settled)
    assert "Keine offenen Aufgaben." in overview
    tasks = html.unescape((await supervisor.get("/aufsicht/aufgaben")).text)
    assert case_id not in tasks
    # Sent again from the stale page: the workflow's refusal, said above the form.
    again = await supervisor.submit(
        "/aufsicht/aufgaben", f"{page}/zuweisen", {"counsellor_id": "berater2"}
    )
    assert again.status_code == 409 and "nach einer Abgabe" in html.unescape(again.text)
    assert (await _state(lotse, case_id))["counsellor_id"] == COLLEAGUE
    await supervisor.aclose()
