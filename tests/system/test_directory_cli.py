"""`lotse directory import` as an operator runs it: against the configured database (the data
dir's SQLite, or LOTSE_DATABASE_URL on PostgreSQL), the example files of deploy/README.md,
the second run changing nothing, and a bad file refused with its problems on standard error
and nothing written."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from typer.testing import CliRunner

from store.db import engine_from_url, make_engine
from store.models import Centre, Municipality, PartnerAgency, User
from store.testing import BACKENDS, postgres_schema
from worker.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "directory"
EXAMPLE_FILES = [
    str(EXAMPLES / name)
    for name in ("users.csv", "partners.csv", "centres.csv", "municipalities.csv")
]


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str | None]]:
    """The environment of a `lotse` process whose database is empty and migrated."""
    if request.param == "sqlite":
        env: dict[str, str | None] = {"LOTSE_DATA_DIR": str(tmp_path), "LOTSE_DATABASE_URL": None}
        _ok(["db", "upgrade"], env)
        yield env
        return
    with postgres_schema(request.getfixturevalue("postgres_url")) as url:
        env = {"LOTSE_DATA_DIR": str(tmp_path), "LOTSE_DATABASE_URL": url}
        _ok(["db", "upgrade"], env)
        yield env


def _ok(args: list[str], env: dict[str, str | None]) -> str:
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _engine(env: dict[str, str | None]) -> Engine:
    url = env["LOTSE_DATABASE_URL"]
    return engine_from_url(url) if url else make_engine(None, Path(str(env["LOTSE_DATA_DIR"])))


def _directory(env: dict[str, str | None]) -> tuple[int, ...]:
    engine = _engine(env)
    try:
        with Session(engine) as session:
            return tuple(
                int(session.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (Municipality, Centre, PartnerAgency, User)
            )
    finally:
        engine.dispose()


def test_the_examples_are_imported_and_a_second_run_changes_nothing(
    database: dict[str, str | None],
) -> None:
    output = _ok(["directory", "import", *EXAMPLE_FILES], database)
    assert output.splitlines() == [
        "Kommunen: 1 neu, 0 geändert, 0 unverändert.",
        "Beratungsstellen: 2 neu, 0 geändert, 0 unverändert.",
        "Partner: 3 neu, 0 geändert, 0 unverändert.",
        "Konten: 5 neu, 0 geändert, 0 unverändert.",
        "5 neue Konten haben kein Passwort: Ein Admin setzt es zurück (Passwort-Reset) oder "
        "verknüpft die Anmeldung der Kommune (OIDC); bis dahin kann sich damit niemand anmelden.",
    ]
    assert _directory(database) == (1, 2, 3, 5)
    again = _ok(["directory", "import", *EXAMPLE_FILES], database)
    assert "Konten: 0 neu, 0 geändert, 5 unverändert." in again
    assert "kein Passwort" not in again
    assert _directory(database) == (1, 2, 3, 5)


def test_a_bad_row_is_named_and_nothing_is_imported(
    database: dict[str, str | None], tmp_path: Path
) -> None:
    bad = tmp_path / "stellen.csv"
    bad.write_text(
        "id;municipality_id;name;kind\nmbe-a;neustadt;MBE A;MBE\nmbe-b;neustadt;MBE B;KITA\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["directory", "import", str(EXAMPLES / "municipalities.csv"), str(bad)], env=database
    )
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "stellen.csv, Zeile 3, Feld kind: Unbekannter Wert; erlaubt sind: MBE, JMD.",
        "Nichts importiert: 1 Fehler.",
    ]
    assert _directory(database) == (0, 0, 0, 0)


def test_a_huge_or_binary_file_is_refused_unread(
    database: dict[str, str | None], tmp_path: Path
) -> None:
    huge = tmp_path / "gross.csv"
    with huge.open("wb") as file:
        file.write(b"id,name,land\n")
        file.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of NUL that are never read whole
    garbage = tmp_path / "bild.csv"
    garbage.write_bytes(bytes(range(256)) * 4)
    result = CliRunner().invoke(app, ["directory", "import", str(huge), str(garbage)], env=database)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "gross.csv: Die Datei ist zu groß: höchstens 2 MiB.",
        "bild.csv: Die Datei enthält Nullbytes: erwartet wird eine Textdatei (CSV, UTF-8). Eine "
        "Tabelle bitte als „CSV UTF-8“ speichern (nicht als „Unicode-Text“ oder .xlsx).",
        "Nichts importiert: 2 Fehler.",
    ]
    assert _directory(database) == (0, 0, 0, 0)


def test_a_dry_run_and_a_given_kind(database: dict[str, str | None]) -> None:
    output = _ok(
        ["directory", "import", "--dry-run", str(EXAMPLES / "municipalities.csv")], database
    )
    assert output.splitlines() == [
        "Kommunen: 1 neu, 0 geändert, 0 unverändert.",
        "Nur geprüft (--dry-run): nichts geschrieben.",
    ]
    result = CliRunner().invoke(
        app,
        ["directory", "import", "--kind", "users", str(EXAMPLES / "municipalities.csv")],
        env=database,
    )
    assert result.exit_code == 1
    assert "municipalities.csv, Zeile 1, Feld username: Die Spalte fehlt" in result.output
    assert _directory(database) == (0, 0, 0, 0)


def test_the_command_runs_for_real_and_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {**os.environ, "LOTSE_DATA_DIR": str(tmp_path)}
    env.pop("LOTSE_DATABASE_URL", None)

    def lotse(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "worker.cli", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    refused = lotse("directory", "import", *EXAMPLE_FILES)
    assert refused.returncode == 2
    assert "erst `lotse db upgrade`" in refused.stderr
    assert lotse("db", "upgrade").returncode == 0
    missing = lotse("directory", "import", str(tmp_path / "gibtsnicht.csv"))
    assert missing.returncode == 2 and "Datei nicht lesbar" in missing.stderr
    done = lotse("directory", "import", *EXAMPLE_FILES)
    assert done.returncode == 0, done.stderr
    assert "Konten: 5 neu" in done.stdout and "kein Passwort" in done.stdout
