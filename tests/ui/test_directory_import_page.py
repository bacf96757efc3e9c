"""„Verzeichnis importieren“ through HTTP as an administrator's browser sends it (multipart,
CSRF token): the example files imported and a second upload changing nothing, bad rows
listed by file, line and column with nothing written, hostile uploads refused in German, and
the page for administrators only (every other role: 404, like any page not theirs)."""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from store.models import Centre, Municipality, PartnerAgency, User
from store.projections import AuditEvent
from tests.api_harness import StoreOnly, store_only
from tests.ui_harness import Browser, csrf_of

PAGE = "/verwaltung/import"
EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "directory"
EXAMPLE_FILES = ("municipalities.csv", "centres.csv", "partners.csv", "users.csv")
Upload = tuple[str, bytes]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("import")) as system:
        yield system


async def _admin(system: StoreOnly, username: str = "admin") -> Browser:
    browser = Browser(system.app)
    assert (await browser.login(username)).status_code == 303
    return browser


async def _upload(browser: Browser, files: list[Upload], **fields: str) -> httpx.Response:
    page = await browser.get(PAGE)
    data = {"csrf_token": csrf_of(page.text), **fields}
    parts = [("dateien", (name, content, "text/csv")) for name, content in files]
    answer = await browser.refused_shown(await browser.http.post(PAGE, data=data, files=parts))
    if answer.status_code == 303:  # imported: the page with the counts
        assert answer.headers["location"].startswith(f"{PAGE}?")
        return await browser.get(answer.headers["location"])
    return answer


def _directory(system: StoreOnly) -> tuple[int, ...]:
    with Session(system.engine) as session:
        return tuple(
            int(session.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (Municipality, Centre, PartnerAgency, User)
        )


def _imports(system: StoreOnly) -> int:
    with Session(system.engine) as session:
        query = select(func.count()).where(AuditEvent.action == "directory_import")
        return int(session.execute(query).scalar_one())


def _problems(page: str) -> list[str]:
    summary = page[page.index('class="error-summary"') :]
    summary = summary[: summary.index("</div>")]
    return [
        re.sub(r"\s+", " ", item).strip() for item in re.findall(r"<li>(.*?)</li>", summary, re.S)
    ]


async def test_only_administrators_reach_the_page(system: StoreOnly) -> None:
    anonymous = Browser(system.app)
    response = await anonymous.get(PAGE)
    assert response.status_code == 303 and "/login" in response.headers["location"]
    posted = await anonymous.http.post(PAGE, files=[("dateien", ("m.csv", b"id,name,land\n"))])
    assert posted.status_code == 303 and "/login" in posted.headers["location"]
    await anonymous.aclose()
    before = _directory(system)
    other = f"id,name,land\nfremd-{len(before)},Fremd,BY\n".encode()
    for username in ("berater1", "jobcenter", "koordination", "auswertung", "datenschutz"):
        browser = await _admin(system, username)
        page = await browser.get(PAGE)
        assert page.status_code == 404, username
        assert "text/html" in page.headers["content-type"]
        token = csrf_of((await browser.get("/benachrichtigungen")).text)
        answer = await browser.http.post(
            PAGE, data={"csrf_token": token}, files=[("dateien", ("m.csv", other))]
        )
        assert answer.status_code == 404, username
        await browser.aclose()
    assert _directory(system) == before
    admin = await _admin(system)
    page = await admin.get(PAGE)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'type="file"' in page.text
    assert 'href="/verwaltung/import"' in (await admin.get("/")).text
    await admin.aclose()


async def test_the_examples_are_imported_and_a_second_upload_changes_nothing(
    system: StoreOnly,
) -> None:
    admin = await _admin(system)
    files = [(name, (EXAMPLES / name).read_bytes()) for name in EXAMPLE_FILES]
    before = _directory(system)
    first = await admin.http.post(
        PAGE,
        data={"csrf_token": csrf_of((await admin.get(PAGE)).text)},
        files=[("dateien", (n, c, "text/csv")) for n, c in files],
    )
    assert first.status_code == 303
    assert first.headers["location"] == (
        f"{PAGE}?kommunen=1.0.0&stellen=2.0.0&partner=3.0.0&konten=5.0.0"
    )
    shown = await admin.get(first.headers["location"])
    assert "Importiert." in shown.text
    assert "Konten: 5 neu, 0 geändert, 0 unverändert." in shown.text
    assert "5 neue Konten haben kein Passwort" in shown.text
    after = _directory(system)
    assert tuple(b - a for a, b in zip(before, after, strict=True)) == (1, 2, 3, 5)
    with Session(system.engine) as session:
        entries = session.execute(
            select(AuditEvent).where(AuditEvent.action == "directory_import")
        ).scalars()
        assert {(e.actor, e.object_id) for e in entries} >= {
            ("admin", "new=11,changed=0,unchanged=0")
        }

    again = await _upload(admin, files)
    assert again.status_code == 200
    assert "Konten: 0 neu, 0 geändert, 5 unverändert." in again.text
    assert "neue Konten haben kein Passwort" not in again.text
    assert _directory(system) == after
    checked = await _upload(admin, files[:1], nur_pruefen="ja")
    assert "Geprüft, nichts geschrieben" in checked.text
    await admin.aclose()


async def test_bad_rows_are_listed_by_line_and_field_and_nothing_is_imported(
    system: StoreOnly,
) -> None:
    admin = await _admin(system)
    centres = (
        "id;municipality_id;name;kind;email\n"
        "mbe-gut;musterstadt;MBE Gut;MBE;\n"
        "mbe-art;musterstadt;MBE Art;KITA;\n"
        "mbe-mail;musterstadt;MBE Mail;JMD;keine-mail\n"
        "mbe-wo;nirgendwo;MBE Wo;JMD;\n"
        "<b>x</b>;musterstadt;<script>alert(1)</script>;MBE;\n"
    )
    before, imports = _directory(system), _imports(system)
    page = await _upload(admin, [("stellen.csv", centres.encode())])
    assert page.status_code == 422
    assert _problems(page.text) == [
        "stellen.csv, Zeile 3, Feld kind: Unbekannter Wert; erlaubt sind: MBE, JMD.",
        "stellen.csv, Zeile 4, Feld email: Keine gültige E-Mail-Adresse "
        "(Beispiel: name@beispiel.de).",
        "stellen.csv, Zeile 5, Feld municipality_id: Diese Kommune gibt es weder im Verzeichnis "
        "noch im Import.",
        "stellen.csv, Zeile 6, Feld id: Erwartet wird eine Id aus 2 bis 64 Zeichen: "
        "Kleinbuchstaben, Ziffern, - und _ (Beispiel: mbe-mitte).",
    ]
    assert "<script>" not in page.text and "nirgendwo" not in page.text
    assert _directory(system) == before and _imports(system) == imports
    await admin.aclose()


@pytest.mark.parametrize(
    ("files", "fields", "expected"),
    [
        ([], {}, "Bitte mindestens eine CSV-Datei auswählen."),
        ([("leer.csv", b"")], {}, "leer.csv: Die Datei ist leer"),
        (
            [("bild.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8")],
            {},
            "bild.csv: Die Datei enthält Nullbytes",
        ),
        (
            [("latin.csv", "id,name,land\nk\xf6ln,K\xf6ln,NW\n".encode("latin-1"))],
            {},
            "latin.csv: Die Datei ist nicht UTF-8-kodiert",
        ),
        (
            [("\x1b[2J<b>.csv", b"id,name\n")],
            {},
            "Datei 1, Zeile 1: Die Kopfzeile passt zu keiner Art",
        ),
        (
            [("k.csv", b"id,name,land\nk1,K\x07,NW\n")],
            {},
            "k.csv, Zeile 2, Feld name: Steuerzeichen (U+0007, Zeichen 2)",
        ),
        (
            [("k.csv", b"id,name,land\nk1,K,NW\n")],
            {"art": "users"},
            "k.csv, Zeile 1, Feld username: Die Spalte fehlt",
        ),
        ([("k.csv", b"id,name,land\nk1,K,NW\n")], {"art": "<script>"}, "Art: Unbekannter Wert"),
        (
            [(f"k{n}.csv", b"id,name,land\n") for n in range(11)],
            {},
            "Zu viele Dateien: höchstens 10",
        ),
    ],
)
async def test_hostile_uploads_are_refused_in_german_and_nothing_is_written(
    system: StoreOnly, files: list[Upload], fields: dict[str, str], expected: str
) -> None:
    admin = await _admin(system)
    before = _directory(system)
    page = await _upload(admin, files, **fields)
    assert page.status_code == 422, page.text
    assert any(problem.startswith(expected) for problem in _problems(page.text)), _problems(
        page.text
    )
    assert "\x1b" not in page.text and "<script>" not in page.text
    assert _directory(system) == before
    await admin.aclose()


async def test_a_body_over_the_limit_and_a_missing_csrf_token_write_nothing(
    system: StoreOnly,
) -> None:
    admin = await _admin(system)
    before = _directory(system)
    token = csrf_of((await admin.get(PAGE)).text)
    huge = b"id,name,land\n" + b"k1,K,NW\n" * 200_000
    answer = await admin.http.post(
        PAGE, data={"csrf_token": token}, files=[("dateien", ("gross.csv", huge))]
    )
    assert answer.status_code == 413
    assert "zu groß" in answer.text
    forged = await admin.http.post(
        PAGE, files=[("dateien", ("k.csv", b"id,name,land\nkfalsch,K,NW\n"))]
    )
    assert forged.status_code == 403 and "Sicherheitsprüfung" in forged.text
    assert _directory(system) == before
    await admin.aclose()


async def test_a_formula_looking_cell_is_stored_as_text(system: StoreOnly) -> None:
    admin = await _admin(system)
    partners = (
        "id,municipality_id,name,kind,measures\n"
        "formel,musterstadt,\"=cmd|' /C calc'!A0\",jobcenter,placement\n"
    )
    answer = await _upload(admin, [("p.csv", partners.encode())])
    assert answer.status_code == 200
    with Session(system.engine) as session:
        partner = session.get(PartnerAgency, "formel")
        assert partner is not None and partner.name == "=cmd|' /C calc'!A0"
    await admin.aclose()
