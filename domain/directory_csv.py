"""Reading one CSV file of a directory import: bounded in size and rows, UTF-8 (with or
without a byte order mark, as spreadsheets save it), `,`, `;` or a tab between cells (the
header row decides), the kind recognised by the header's columns (or given), and every row
checked (`domain.directory_rows`). What cannot be read is a `Problem` naming the file, the line and
the column, in German; nothing is raised for bad input.

Pure: bytes in, rows and problems out. Whether the ids a row refers to exist, and writing
them, is store/directory_import.py's.
"""

import csv
import io
import re
from dataclasses import dataclass, field

from domain.directory_rows import KIND_LABELS, LAYOUTS, DirectoryKind, Layout, check_row

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5_000
MAX_CELL = 2_000  # characters; the longest column (an address) takes 300
MAX_PROBLEMS = 200
_COLUMN_NAME = re.compile(r"[a-z_]{1,40}")


@dataclass(frozen=True)
class Problem:
    """Why (part of) an import is refused: in which file, line and column, in German."""

    source: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.source] if self.source else []
        if self.line is not None:
            where.append(f"Zeile {self.line}")
        if self.column:
            where.append(f"Feld {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class Row:
    """One checked row: where it stands, the id of its object and its values by column."""

    source: str
    line: int
    key: str
    values: dict[str, object]


@dataclass
class Sheet:
    """The rows of one file that passed their checks, of one kind."""

    source: str
    kind: DirectoryKind
    rows: list[Row] = field(default_factory=list)


def read_sheet(
    source: str, data: bytes, kind: DirectoryKind | None = None
) -> tuple[Sheet | None, list[Problem]]:
    """The file's rows and every problem found in it (None when the file as a whole cannot be
    read). `kind` None: recognised by the header."""

    def whole(message: str) -> tuple[None, list[Problem]]:
        return None, [Problem(source, None, None, message)]

    if len(data) > MAX_FILE_BYTES:
        return whole(f"Die Datei ist zu groß: höchstens {MAX_FILE_BYTES // (1024 * 1024)} MiB.")
    if b"\x00" in data:
        return whole(
            "Die Datei enthält Nullbytes: erwartet wird eine Textdatei (CSV, UTF-8). Eine "
            "Tabelle bitte als „CSV UTF-8“ speichern (nicht als „Unicode-Text“ oder .xlsx)."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return whole(
            f"Die Datei ist nicht UTF-8-kodiert (ungültiges Byte an Stelle {error.start + 1}). "
            "Bitte als „CSV UTF-8“ speichern."
        )
    first = next((line for line in text.splitlines() if line.strip()), None)
    if first is None:
        return whole("Die Datei ist leer: erwartet wird eine Kopfzeile und Zeilen darunter.")
    # The header's most frequent separator; a tie (none at all) is the comma.
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[Problem] = []
    try:
        header = [cell.strip().lower() for cell in next(reader)]
        while not any(header):  # blank lines above the header
            header = [cell.strip().lower() for cell in next(reader)]
    except (csv.Error, StopIteration):
        return whole("Die Kopfzeile ist kein gültiges CSV (Anführungszeichen prüfen).")
    layout, header_problems = _layout(source, header, kind)
    if layout is None:
        return None, header_problems
    sheet = Sheet(source, layout.kind)
    start = reader.line_num + 1
    records = 0
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            records += 1
            if records > MAX_ROWS:
                problems.append(Problem(source, line, None, _too_many_rows()))
                break
            problems.extend(_row(sheet, layout, header, cells, line))
            if len(problems) >= MAX_PROBLEMS:
                message = f"Nach {MAX_PROBLEMS} Fehlern nicht weiter gelesen."
                problems.append(Problem(source, line, None, message))
                break
    except csv.Error:
        problems.append(
            Problem(
                source,
                reader.line_num,
                None,
                "Kein gültiges CSV (Anführungszeichen prüfen, Zeile zu lang); die Datei wird "
                "ab hier nicht weiter gelesen.",
            )
        )
    return sheet, problems


def _too_many_rows() -> str:
    return f"Zu viele Zeilen: höchstens {MAX_ROWS:,} je Datei; bitte aufteilen.".replace(",", ".")


def _row(
    sheet: Sheet, layout: Layout, header: list[str], cells: list[str], line: int
) -> list[Problem]:
    source = sheet.source
    if len(cells) != len(header):
        return [
            Problem(
                source,
                line,
                None,
                f"Die Zeile hat {len(cells)} Werte, die Kopfzeile {len(header)} Spalten.",
            )
        ]
    stripped: dict[str, str] = {}
    problems: list[Problem] = []
    for column, cell in zip(header, cells, strict=True):
        if len(cell) > MAX_CELL:
            problems.append(
                Problem(source, line, column, f"Zu lang, höchstens {MAX_CELL} Zeichen.")
            )
        stripped[column] = cell.strip()
    if problems:
        return problems
    checked = check_row(layout.kind, stripped)
    if checked.errors:
        return [Problem(source, line, column, text) for column, text in checked.errors.items()]
    sheet.rows.append(Row(source, line, str(checked.values[layout.key]), checked.values))
    return []


def _named(column: str, position: int) -> str:
    # A header cell is echoed only when it looks like a column name (it may be anything).
    return f"„{column}“" if _COLUMN_NAME.fullmatch(column) else f"Nr. {position}"


def _layout(
    source: str, header: list[str], kind: DirectoryKind | None
) -> tuple[Layout | None, list[Problem]]:
    """The layout the header fits, or None and why not."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if not column:
            problems.append(Problem(source, 1, None, f"Spalte Nr. {position} hat keinen Namen."))
        elif column in seen:
            problems.append(
                Problem(source, 1, None, f"Spalte {_named(column, position)} steht zweimal da.")
            )
        seen.add(column)
    if problems:
        return None, problems
    if kind is None:
        fitting = [
            layout
            for layout in LAYOUTS.values()
            if set(layout.required) <= seen <= set(layout.columns)
        ]
        if len(fitting) == 1:
            return fitting[0], []
        # The closest layout says what is missing or unknown.
        layout = max(LAYOUTS.values(), key=lambda layout: len(seen & set(layout.columns)))
        lead = (
            "Die Kopfzeile passt zu keiner Art (Kommunen, Beratungsstellen, Partner, Konten); "
            f"am nächsten: {KIND_LABELS[layout.kind]}."
        )
        problems.append(Problem(source, 1, None, lead))
    else:
        layout = LAYOUTS[kind]
    for position, column in enumerate(header, start=1):
        if column not in layout.columns:
            problems.append(
                Problem(
                    source,
                    1,
                    None,
                    f"Unbekannte Spalte {_named(column, position)} für "
                    f"{KIND_LABELS[layout.kind]}; erlaubt sind: {', '.join(layout.columns)}.",
                )
            )
    for column in layout.required:
        if column not in seen:
            problems.append(
                Problem(
                    source,
                    1,
                    column,
                    f"Die Spalte fehlt ({KIND_LABELS[layout.kind]} brauchen sie).",
                )
            )
    return (None if problems else layout), problems
