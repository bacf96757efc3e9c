"""The administrators' directory pages over HTTP (api/ui/directory_pages.py), on the seeded
store without Temporal: the overview `/verwaltung` (also an admin's `/`) with its links; for
municipalities, centres and partners the list (Land, kind and measures by their German names),
the form of a new entry and of an existing one, and the switch to deactivate and reactivate.

Every write answers with a 303 to a page that says what was done, and is audited; every
refusal comes back by a 303 to the form with what was typed and a German message at the field
(hostile values of each field, a taken id, a kind in use), and writes nothing. No other role
finds these pages; a form without its CSRF token is refused.
"""

import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from store.models import Centre, Municipality, PartnerAgency
from store.projections import AuditEvent, CaseSummary
from tests.api_harness import StoreOnly, store_only
from tests.hostile_values import HUGE, store_texts_are_clean
from tests.ui_harness import Browser

ERRORS = re.compile(r'<p class="error" id="f-([a-z_]+)-error">([^<]*)</p>')
# A group of boxes says its error under its legend.
GROUP_ERRORS = re.compile(
    r'<fieldset class="choices has-error" id="f-([a-z_]+)">\s*<legend>[^<]*</legend>\s*'
    r'<p class="error">([^<]*)</p>'
)


@pytest.fixture
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StoreOnly]:
    async with store_only("sqlite", tmp_path_factory.mktemp("pages")) as system:
        yield system


@pytest.fixture
async def admin(system: StoreOnly) -> AsyncIterator[Browser]:
    browser = Browser(system.app)
    assert (await browser.login("admin")).status_code == 303
    yield browser
    await browser.aclose()


def _errors(page: str) -> dict[str, str]:
    found = ERRORS.findall(page) + GROUP_ERRORS.findall(page)
    return {name: html.unescape(text) for name, text in found}


def _entries(system: StoreOnly) -> list[tuple[str, str, str]]:
    with Session(system.engine) as session:
        query = (
            select(AuditEvent)
            .where(col(AuditEvent.action).startswith("admin."))
            .order_by(col(AuditEvent.id))
        )
        return [(e.action, e.object_type, e.object_id) for e in session.exec(query).all()]


def _directory(system: StoreOnly) -> list[Any]:
    with Session(system.engine) as session:
        return [
            [row.model_dump() for row in session.exec(select(table)).all()]
            for table in (Municipality, Centre, PartnerAgency)
        ]


async def test_the_overview_links_every_part_of_the_administration(admin: Browser) -> None:
    for path in ("/", "/verwaltung"):
        page = await admin.get(path)
        assert page.status_code == 200
        for link in (
            "/verwaltung/gemeinden",
            "/verwaltung/stellen",
            "/verwaltung/partner",
            "/verwaltung/konten",
            "/verwaltung/import",
            "/verwaltung/regeln",
            "/verwaltung/mails",
        ):
            assert f'href="{link}"' in page.text, (path, link)
    # The demo's directory, counted: one municipality, three centres, eight partners.
    assert "1 insgesamt" in page.text and "8 insgesamt" in page.text


async def test_no_other_role_finds_the_directory_pages(system: StoreOnly) -> None:
    for username in ("berater1", "sprachkurs", "koordination", "auswertung", "datenschutz"):
        browser = Browser(system.app)
        await browser.login(username)
        for path in (
            "/verwaltung",
            "/verwaltung/gemeinden",
            "/verwaltung/stellen/neu",
            "/verwaltung/partner/jobcenter-musterstadt/bearbeiten",
        ):
            assert (await browser.get(path)).status_code == 404, (username, path)
        await browser.aclose()


async def test_a_municipality_is_added_and_shown_with_its_land_by_name(
    system: StoreOnly, admin: Browser
) -> None:
    form = await admin.get("/verwaltung/gemeinden/neu")
    assert '<option value="BY">Bayern</option>' in form.text
    added = await admin.submit(
        "/verwaltung/gemeinden/neu",
        "/verwaltung/gemeinden/neu",
        {"id": "neustadt", "name": "Neustadt", "land": "BY"},
    )
    assert added.status_code == 303
    assert added.headers["location"] == "/verwaltung/gemeinden?erledigt=angelegt"
    listed = await admin.get(added.headers["location"])
    assert "Der Eintrag wurde angelegt." in listed.text
    assert "Neustadt" in listed.text and "Bayern" in listed.text and "NEU" in listed.text
    assert _entries(system) == [("admin.municipality_create", "municipality", "neustadt")]


async def test_a_centre_is_edited_deactivated_and_reactivated_on_its_page(
    system: StoreOnly, admin: Browser
) -> None:
    page_path = "/verwaltung/stellen/mbe-mitte/bearbeiten"
    page = await admin.get(page_path)
    assert "Migrationsberatung für erwachsene Zugewanderte (MBE)" in page.text
    assert 'value="MBE Musterstadt-Mitte"' in page.text
    saved = await admin.submit(
        page_path,
        page_path,
        {
            "name": "MBE Mitte",
            "kind": "MBE",
            "address": "Marktplatz 5",
            "phone": "",
            "email": "mitte@musterstadt.example",
        },
    )
    assert saved.status_code == 303
    shown = await admin.get(saved.headers["location"])
    assert "Die Änderungen wurden gespeichert." in shown.text
    assert 'value="MBE Mitte"' in shown.text and 'value="Marktplatz 5"' in shown.text

    off = await admin.submit(page_path, "/verwaltung/stellen/mbe-mitte/aktiv", {"active": "false"})
    shown = await admin.get(off.headers["location"])
    assert "Der Eintrag wurde deaktiviert." in shown.text and "Wieder aktivieren" in shown.text
    listed = await admin.get("/verwaltung/stellen")
    assert "deaktiviert" in listed.text
    on = await admin.submit(page_path, "/verwaltung/stellen/mbe-mitte/aktiv", {"active": "true"})
    assert "Der Eintrag ist wieder aktiv." in (await admin.get(on.headers["location"])).text
    assert _entries(system) == [
        ("admin.centre_change", "centre", "mbe-mitte"),
        ("admin.centre_deactivate", "centre", "mbe-mitte"),
        ("admin.centre_reactivate", "centre", "mbe-mitte"),
    ]


async def test_a_partner_s_measures_are_chosen_and_shown_by_their_german_names(
    system: StoreOnly, admin: Browser
) -> None:
    form = await admin.get("/verwaltung/partner/neu")
    assert "Integrationskurs" in form.text and "Berufssprachkurs" in form.text
    assert "Sprachkursträger" in form.text or "Integrationskursträger" in form.text
    added = await admin.submit(
        "/verwaltung/partner/neu",
        "/verwaltung/partner/neu",
        {
            "id": "lernwerk",
            "municipality_id": "musterstadt",
            "name": "Lernwerk",
            "kind": "language_course_provider",
            "measures": ["integration_course", "job_language_course"],
            "contact_email": "kurse@lernwerk.example",
        },
    )
    assert added.status_code == 303, added.text
    with Session(system.engine) as session:
        stored = session.get(PartnerAgency, "lernwerk")
        assert stored is not None
        assert stored.measures == ["integration_course", "job_language_course"]
    listed = await admin.get("/verwaltung/partner")
    assert "Integrationskurs, Berufssprachkurs" in listed.text
    page = await admin.get("/verwaltung/partner/lernwerk/bearbeiten")
    assert re.search(r'value="integration_course" checked', page.text)
    assert not re.search(r'value="placement" checked', page.text)


async def test_a_taken_id_and_a_kind_in_use_are_said_at_their_field(
    system: StoreOnly, admin: Browser
) -> None:
    taken = await admin.submit(
        "/verwaltung/stellen/neu",
        "/verwaltung/stellen/neu",
        {"id": "mbe-mitte", "municipality_id": "musterstadt", "name": "X", "kind": "MBE"},
    )
    assert taken.status_code == 409
    assert _errors(taken.text) == {"id": "Diese Kennung ist schon vergeben."}
    # Said at the field, not as a page gone stale.
    assert "Inzwischen hat sich etwas geändert" not in taken.text
    assert 'value="X"' in taken.text
    # mbe-mitte holds a case: its kind stays, said at the select, the rest as typed.
    now = datetime.now(UTC)
    system.add(
        CaseSummary(
            case_id="case-00000000-0000-4000-8000-0000000000d1",
            municipality_id="musterstadt",
            centre_id="mbe-mitte",
            counsellor_id="berater1",
            stage="intake",
            client_display_name="Amina K.",
            number="MUS-2026-0902",
            opened_at=now,
            updated_at=now,
        )
    )
    page_path = "/verwaltung/stellen/mbe-mitte/bearbeiten"
    in_use = await admin.submit(page_path, page_path, {"name": "MBE Eins", "kind": "JMD"})
    assert in_use.status_code == 409
    assert _errors(in_use.text) == {
        "kind": "Die Art der Beratungsstelle lässt sich nicht mehr ändern: Sie hat bereits Fälle."
    }
    assert 'value="MBE Eins"' in in_use.text
    assert "Inzwischen hat sich etwas geändert" not in in_use.text
    for key in ("gibt-es-nicht", "muster%00stadt", "x" * 65):
        missing = await admin.get(f"/verwaltung/gemeinden/{key}/bearbeiten")
        assert missing.status_code == 404, key
        assert "Was Sie aufrufen wollten, gibt es nicht" in missing.text
    sent = await admin.submit(
        "/verwaltung/gemeinden/musterstadt/bearbeiten",
        "/verwaltung/gemeinden/muster%00stadt/aktiv",
        {"active": "false"},
    )
    assert sent.status_code == 404
    assert _entries(system) == []


# (form page, action, a valid form, {field: (a bad value, words of its German message)})
FORMS: list[tuple[str, str, dict[str, Any], dict[str, list[tuple[Any, str]]]]] = [
    (
        "/verwaltung/gemeinden/neu",
        "/verwaltung/gemeinden/neu",
        {"id": "neustadt", "name": "Neustadt", "land": "BY"},
        {
            "id": [("neu\x00", "Kennung: Nur Kleinbuchstaben"), (HUGE, "Kennung: Zu lang")],
            "name": [("Neu\x1bstadt", "Name: Steuerzeichen"), ("N" * 201, "Name: Zu lang")],
            "land": [("XX", "Bundesland: Unbekanntes"), ("\u202eBY", "Bundesland: Zu lang")],
        },
    ),
    (
        "/verwaltung/gemeinden/musterstadt/bearbeiten",
        "/verwaltung/gemeinden/musterstadt/bearbeiten",
        {"name": "Musterstadt", "land": "NW"},
        {
            "name": [("Muster\nstadt", "Name: Zeilenumbr"), (HUGE, "Name: Zu lang")],
            "land": [("nw\x00", "Bundesland: Zu lang"), ("", "Bundesland: Zu kurz")],
        },
    ),
    (
        "/verwaltung/stellen/neu",
        "/verwaltung/stellen/neu",
        {"id": "mbe-sued", "municipality_id": "musterstadt", "name": "MBE Süd", "kind": "MBE"},
        {
            "id": [("mbe\u202esued", "Kennung: Nur Klein"), ("m", "Kennung: Zu kurz")],
            "municipality_id": [(HUGE, "Kommune: Zu lang"), ("", "Kommune: Zu kurz")],
        },
    ),
    (
        "/verwaltung/stellen/mbe-nord/bearbeiten",
        "/verwaltung/stellen/mbe-nord/bearbeiten",
        {"name": "MBE Nord", "kind": "MBE", "address": "", "phone": "", "email": ""},
        {
            "name": [
                ("", "Bitte geben Sie den Namen ein"),
                ("Nord\u2066", "Name: Zeichen zur Steuerung"),
            ],
            "kind": [("XBE", "Art: Unbekannter Wert"), (HUGE, "Art: Unbekannter Wert")],
            "address": [("A" * 301, "Anschrift: Zu lang"), ("Weg\n1", "Anschrift: Zeilenumbr")],
            "phone": [("ruf an", "Telefon: Keine gültige"), ("0\x9b1", "Telefon: Steuerzeichen")],
            "email": [("nord(at)x", "E-Mail: Keine gültige"), (HUGE, "E-Mail: Zu lang")],
        },
    ),
    (
        "/verwaltung/partner/neu",
        "/verwaltung/partner/neu",
        {
            "id": "lernwerk",
            "municipality_id": "musterstadt",
            "name": "Lernwerk",
            "kind": "jobcenter",
            "measures": ["placement"],
            "contact_email": "",
        },
        {
            "id": [("Lernwerk", "Kennung: Nur Klein"), (HUGE, "Kennung: Zu lang")],
            "name": [("Lern\x9bwerk", "Name: Steuerzeichen"), ("", "Bitte geben Sie den Namen")],
            "kind": [("kurs", "Art: Unbekannter Wert"), ("job\x00center", "Art: Unbekannter")],
            "municipality_id": [("Muster Stadt", "Kommune: Nur Klein"), ("nix", "gibt es im")],
            "measures": [(["ok", "x\x00"], "Maßnahme 2: Steuerzeichen"), (["m"] * 51, "Zu lang")],
            "contact_email": [("kurse", "E-Mail für Vermittlungen: Keine gültige")],
        },
    ),
]


async def test_every_field_of_every_form_refuses_hostile_values_in_german_keeping_the_input(
    system: StoreOnly, admin: Browser
) -> None:
    before = _directory(system)
    failures: list[str] = []
    for page_path, action, valid, fields in FORMS:
        for field, bad in fields.items():
            for value, words in bad:
                answer = await admin.submit(page_path, action, valid | {field: value})
                errors = _errors(answer.text)
                shown = f"{action} {field}={str(value)[:20]!r}"
                if answer.status_code != 422 or words not in errors.get(field, ""):
                    failures.append(f"{shown}: {answer.status_code} {errors}")
                # What was typed is kept (escaped), except what a browser cannot have sent.
                kept = valid["name"] if field != "name" else value
                if isinstance(kept, str) and html.escape(kept, quote=True) not in answer.text:
                    failures.append(f"{shown}: the name as typed is gone")
    assert not failures, "\n".join(failures)
    switch = await admin.submit(
        "/verwaltung/partner/jobcenter-musterstadt/bearbeiten",
        "/verwaltung/partner/jobcenter-musterstadt/aktiv",
        {"active": "vielleicht"},
    )
    assert switch.status_code == 422 and "Aktiv: Erwartet wird ja oder nein" in switch.text
    no_token = await admin.http.post(
        "/verwaltung/gemeinden/neu", data={"id": "neustadt", "name": "N", "land": "BY"}
    )
    assert no_token.status_code == 403 and "Sicherheitsprüfung" in no_token.text
    assert _directory(system) == before
    assert _entries(system) == []
    assert store_texts_are_clean(system.engine)
