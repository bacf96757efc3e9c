"""`lotse directory import FILE.csv ...`: bring municipalities, centres, partner agencies and
user accounts from CSV files into the configured database (store/directory_import.py), all
files in one transaction. Each file's kind is recognised by its header row (or `--kind`);
the layouts and an example of each are in deploy/README.md („Verzeichnis importieren“).

Exit codes: 0 imported (or, `--dry-run`, checked), 1 refused (every problem on standard
error, nothing written), 2 a file that cannot be opened or a database not yet migrated.
"""

from pathlib import Path
from typing import Annotated

import typer

from app.settings import Settings
from domain.directory_csv import MAX_FILE_BYTES
from domain.directory_rows import DirectoryKind

app = typer.Typer(
    no_args_is_help=True, help="Das Verzeichnis (Kommunen, Stellen, Partner, Konten)."
)


def no_password(count: int) -> str:
    """What an operator must do about the accounts an import created (they have no password)."""
    who = "1 neues Konto hat" if count == 1 else f"{count} neue Konten haben"
    return (
        f"{who} kein Passwort: Ein Admin setzt es zurück (Passwort-Reset) oder verknüpft die "
        "Anmeldung der Kommune (OIDC); bis dahin kann sich damit niemand anmelden."
    )


def _read(path: Path) -> bytes:
    # One byte over the limit is enough to refuse the file; a huge one is never read whole.
    try:
        with path.open("rb") as file:
            return file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        typer.echo(f"{path}: Datei nicht lesbar ({error.strerror}).", err=True)
        raise typer.Exit(2) from None


@app.command("import")
def import_command(
    files: Annotated[
        list[Path], typer.Argument(help="CSV-Dateien (UTF-8, Trennzeichen , ; oder Tab).")
    ],
    kind: Annotated[
        DirectoryKind | None,
        typer.Option(help="Art aller Dateien; ohne Angabe: an der Kopfzeile erkannt."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Nur prüfen und zählen, nichts schreiben.")
    ] = False,
) -> None:
    """Das Verzeichnis aus CSV-Dateien in LOTSE_DATABASE_URL (oder die SQLite-Datei im
    Datenverzeichnis) importieren: Jede Zeile wird zuerst geprüft, ist eine falsch, wird nichts
    geschrieben. Dieselben Dateien ein zweites Mal ändern nichts."""
    from store.db import current_revision, head_revision, make_engine
    from store.directory_import import CLI_ACTOR, import_directory

    contents = [(path.name, _read(path)) for path in files]
    settings = Settings()
    engine = make_engine(settings.database_url, settings.data_dir)
    try:
        if current_revision(engine) != head_revision():
            typer.echo(
                "Die Datenbank ist nicht auf dem neuesten Stand: erst `lotse db upgrade`.", err=True
            )
            raise typer.Exit(2)
        outcome = import_directory(engine, contents, actor=CLI_ACTOR, kind=kind, dry_run=dry_run)
    finally:
        engine.dispose()
    if not outcome.ok:
        for problem in outcome.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"Nichts importiert: {len(outcome.problems)} Fehler.", err=True)
        raise typer.Exit(1)
    for line in outcome.summary():
        typer.echo(line)
    if dry_run:
        typer.echo("Nur geprüft (--dry-run): nichts geschrieben.")
    elif outcome.new_accounts:
        typer.echo(no_password(outcome.new_accounts))
