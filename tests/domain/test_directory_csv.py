"""Reading a directory import's CSV file: each kind recognised by its header, every kind of
bad cell named by line and column in German, and hostile files (binary, huge, broken quoting,
control characters) refused with a message instead of an exception."""

import pytest

from domain.directory_csv import MAX_CELL, MAX_FILE_BYTES, MAX_PROBLEMS, MAX_ROWS, read_sheet
from domain.directory_rows import ROLES, DirectoryKind
from store.models import Role

CENTRES = "id,municipality_id,name,kind,address,phone,email\n"
PARTNERS = "id,municipality_id,name,kind,measures,contact_email,active\n"
USERS = "username,role,centre_id,partner_id,municipality_id,display_name,phone,email,active\n"


def _read(
    text: str, kind: DirectoryKind | None = None
) -> tuple[list[dict[str, object]], list[str]]:
    sheet, problems = read_sheet("datei.csv", text.encode(), kind)
    rows = [row.values for row in sheet.rows] if sheet else []
    return rows, [str(problem) for problem in problems]


def test_the_roles_are_the_stores() -> None:
    assert set(ROLES) == {role.value for role in Role}


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("id,name,land", DirectoryKind.MUNICIPALITIES),
        ("id,municipality_id,name,kind", DirectoryKind.CENTRES),
        (CENTRES.strip(), DirectoryKind.CENTRES),
        ("ID; Municipality_Id; Name; Kind; Measures", DirectoryKind.PARTNERS),
        ("username,role", DirectoryKind.USERS),
        ("username\trole\tcentre_id", DirectoryKind.USERS),
        (USERS.strip(), DirectoryKind.USERS),
    ],
)
def test_the_header_says_the_kind(header: str, kind: DirectoryKind) -> None:
    sheet, problems = read_sheet("x.csv", f"{header}\n".encode())
    assert problems == [] and sheet is not None and sheet.kind is kind


def test_a_centre_row_is_converted() -> None:
    rows, problems = _read(CENTRES + 'mbe-a,stadt,MBE A,mbe,"Weg 1, 12345 Ort",0123 45-6,a@b.de\n')
    assert problems == []
    assert rows == [
        {
            "id": "mbe-a",
            "municipality_id": "stadt",
            "name": "MBE A",
            "kind": "MBE",
            "address": "Weg 1, 12345 Ort",
            "phone": "0123 45-6",
            "email": "a@b.de",
        }
    ]


def test_semicolons_bom_and_crlf_as_a_spreadsheet_saves_them() -> None:
    text = "\ufeffid;municipality_id;name;kind;measures;active\r\n"
    text += 'vhs;stadt;VHS;language_course_provider;"integration_course; literacy_course";nein\r\n'
    rows, problems = _read(text)
    assert problems == []
    assert rows[0]["measures"] == ["integration_course", "literacy_course"]
    assert rows[0]["active"] is False


def test_an_empty_active_cell_is_left_out_and_a_user_always_has_three_scope_columns() -> None:
    rows, problems = _read("username,role,active\nAdmin2,admin,\n")
    assert problems == []
    assert rows == [
        {
            "username": "admin2",
            "role": "admin",
            "centre_id": None,
            "partner_id": None,
            "municipality_id": None,
        }
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # required cell empty
        (CENTRES + ",stadt,MBE,MBE,,,\n", "Zeile 2, Feld id: Pflichtfeld"),
        # id format
        (CENTRES + "MBE A,stadt,MBE,MBE,,,\n", "Zeile 2, Feld id: Erwartet wird eine Id"),
        # enum
        (
            CENTRES + "mbe-a,stadt,MBE,XYZ,,,\n",
            "Zeile 2, Feld kind: Unbekannter Wert; erlaubt sind: MBE, JMD",
        ),
        (PARTNERS + "p1,stadt,P,schule,,,\n", "Zeile 2, Feld kind: Unbekannter Wert"),
        (USERS + "u1,chef,,,,,,,\n", "Zeile 2, Feld role: Unbekannter Wert"),
        # length
        (
            CENTRES + f"mbe-a,stadt,{'N' * 201},MBE,,,\n",
            "Zeile 2, Feld name: Zu lang, höchstens 200",
        ),
        (
            CENTRES + f"mbe-a,stadt,N,MBE,{'A' * 301},,\n",
            "Zeile 2, Feld address: Zu lang, höchstens 300",
        ),
        # e-mail and phone
        (
            CENTRES + "mbe-a,stadt,N,MBE,,,keine-adresse\n",
            "Zeile 2, Feld email: Keine gültige E-Mail",
        ),
        (
            CENTRES + "mbe-a,stadt,N,MBE,,ruf an,\n",
            "Zeile 2, Feld phone: Keine gültige Telefonnummer",
        ),
        # Land
        ("id,name,land\nx1,X,Bayern\n", "Zeile 2, Feld land: Kein Bundesland-Kürzel"),
        # measures from the rule vocabulary
        (PARTNERS + "p1,stadt,P,jobcenter,Vermittlung,,\n", "Zeile 2, Feld measures: Maßnahme 1"),
        # yes or no
        (
            PARTNERS + "p1,stadt,P,jobcenter,placement,,vielleicht\n",
            "Zeile 2, Feld active: Erwartet wird ja oder nein",
        ),
        # scope fits role
        (
            USERS + "u1,counsellor,,,,,,,\n",
            "Zeile 2, Feld centre_id: Ein Konto der Rolle counsellor braucht eine Beratungsstelle",
        ),
        (
            USERS + "u1,admin,,,stadt,,,,\n",
            "Zeile 2, Feld municipality_id: Ein Konto der Rolle admin hat hier keinen Wert",
        ),
        (
            USERS + "u1,partner,mbe-a,p1,,,,,\n",
            "Zeile 2, Feld centre_id: Ein Konto der Rolle partner hat hier keinen Wert",
        ),
        # username
        (USERS + "ü,admin,,,,,,,\n", "Zeile 2, Feld username: Erwartet wird ein Benutzername"),
        # control characters, line breaks and bidi overrides in a single-line cell
        (CENTRES + "mbe-a,stadt,MBE\x07,MBE,,,\n", "Zeile 2, Feld name: Steuerzeichen (U+0007"),
        (CENTRES + 'mbe-a,stadt,"MBE\nA",MBE,,,\n', "Zeile 2, Feld name: Zeilenumbrüche"),
        (
            CENTRES + "mbe-a,stadt,MBE\u202eA,MBE,,,\n",
            "Zeile 2, Feld name: Zeichen zur Steuerung der Schreibrichtung",
        ),
        # too many or too few cells
        (
            CENTRES + "mbe-a,stadt,MBE,MBE,,,,zuviel\n",
            "Zeile 2: Die Zeile hat 8 Werte, die Kopfzeile 7 Spalten",
        ),
        (CENTRES + "mbe-a,stadt\n", "Zeile 2: Die Zeile hat 2 Werte"),
    ],
)
def test_a_bad_cell_is_named_by_line_and_column_in_german(text: str, expected: str) -> None:
    rows, problems = _read(text)
    assert rows == []
    assert any(problem.startswith(f"datei.csv, {expected}") for problem in problems), problems


def test_a_message_never_repeats_the_cell() -> None:
    _, problems = _read(CENTRES + "mbe-a,stadt,Zora Geheim\x01,MBE,,,zora.geheim\n")
    assert len(problems) == 2
    assert not any("Zora" in p or "geheim" in p.lower() for p in problems)


def test_the_lines_count_from_the_header_and_every_bad_row_is_listed() -> None:
    text = CENTRES + "mbe-a,stadt,A,MBE,,,\n\nmbe-b,stadt,B,XX,,,\nmbe-c,,C,MBE,,,\n"
    rows, problems = _read(text)
    assert [r["id"] for r in rows] == ["mbe-a"]
    assert [p.split(":")[0] for p in problems] == [
        "datei.csv, Zeile 4, Feld kind",
        "datei.csv, Zeile 5, Feld municipality_id",
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("id,municipality_id,name,kind,emial", "Unbekannte Spalte „emial“ für Beratungsstellen"),
        ("id,name", "Die Kopfzeile passt zu keiner Art"),
        ("username,centre_id", "Zeile 1, Feld role: Die Spalte fehlt"),
        ("id,name,land,land", "Spalte „land“ steht zweimal da"),
        ("id,,name,land", "Spalte Nr. 2 hat keinen Namen"),
        ("id,name,land,\x1b[31m", "Unbekannte Spalte Nr. 4"),
    ],
)
def test_unknown_missing_and_repeated_columns_refuse_the_file(header: str, expected: str) -> None:
    sheet, problems = read_sheet("datei.csv", f"{header}\nx,y,z\n".encode())
    assert sheet is None
    assert any(expected in str(p) for p in problems), problems


def test_a_given_kind_is_held_to_its_layout() -> None:
    sheet, problems = read_sheet("datei.csv", b"id,name,land\n", DirectoryKind.USERS)
    assert sheet is None
    assert "Zeile 1, Feld username: Die Spalte fehlt (Konten brauchen sie)." in [
        str(p).split(", ", 1)[1] for p in problems
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "Die Datei ist leer"),
        (b"\n \n", "Die Datei ist leer"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "Nullbytes"),
        (
            "id,name,land\nx1,Köln,NW\n".encode("latin-1"),
            "nicht UTF-8-kodiert (ungültiges Byte an Stelle 18)",
        ),
        (b"\xff\xfei\x00d\x00", "Nullbytes"),  # UTF-16
        (b'id,name,land\nx1,"Kiel,SH\n', "Kein gültiges CSV"),
        (b'id,name,land\nx1,"Kiel"x,SH\n', "Kein gültiges CSV"),
    ],
)
def test_what_is_no_csv_text_is_refused_with_a_reason(data: bytes, expected: str) -> None:
    _, problems = read_sheet("datei.csv", data)
    assert any(expected in str(p) for p in problems), problems


def test_a_huge_file_is_refused_unread() -> None:
    sheet, problems = read_sheet("gross.csv", b"id,name,land\n" + b"x" * MAX_FILE_BYTES)
    assert sheet is None
    assert [str(p) for p in problems] == ["gross.csv: Die Datei ist zu groß: höchstens 2 MiB."]


def test_a_huge_cell_and_too_many_rows_are_refused() -> None:
    _, problems = _read(f"id,name,land\nx1,{'K' * (MAX_CELL + 1)},SH\n")
    assert problems == [f"datei.csv, Zeile 2, Feld name: Zu lang, höchstens {MAX_CELL} Zeichen."]
    many = "id,name,land\n" + "".join(f"k{n},K,SH\n" for n in range(MAX_ROWS + 1))
    _, problems = _read(many)
    assert problems == [
        f"datei.csv, Zeile {MAX_ROWS + 2}: Zu viele Zeilen: höchstens 5.000 je Datei; "
        "bitte aufteilen."
    ]
    # A cell beyond the csv module's own field limit is a problem too, not an exception.
    _, problems = _read(f'id,name,land\nx1,"{"K" * 200_000}",SH\n')
    assert problems and "Kein gültiges CSV" in problems[0]


def test_formula_looking_cells_are_just_text() -> None:
    rows, problems = _read(
        CENTRES + "mbe-a,stadt,\"=cmd|' /C calc'!A0\",MBE,@SUM(1+1),+49 30 1234,\n"
    )
    assert problems == []
    assert rows[0]["name"] == "=cmd|' /C calc'!A0"
    assert rows[0]["address"] == "@SUM(1+1)"


def test_problems_stop_being_collected_after_a_bound() -> None:
    bad = "id,name,land\n" + "".join(f"k{n},K,XX\n" for n in range(1000))
    _, problems = _read(bad)
    assert len(problems) == MAX_PROBLEMS + 1
    assert (
        problems[-1]
        == f"datei.csv, Zeile {MAX_PROBLEMS + 1}: Nach {MAX_PROBLEMS} Fehlern nicht weiter gelesen."
    )
