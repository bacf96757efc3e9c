"""`lotse keys`: the data keys that encrypt Temporal's payloads (app/payload_codec.py).

`lotse keys rotate` re-wraps every case's data key under a new master key. Temporal's
histories stay as they are (the data keys do not change), so rotation is one transaction in
the store. The new key is read from stdin (never from the command line, which other users of the
machine can read); from a terminal, one is made and printed once. After the
rotation, every process must be restarted with `LOTSE_MASTER_KEY` set to the new key.
"""

import os
import sys
from pathlib import Path

import typer
from sqlalchemy import Engine

from app.master_key import KEY_FILE, MasterKeyError, master_key, new_master_key, parse_master_key
from app.payload_codec import CachedKeyStore
from app.settings import Settings
from store.db import make_engine, upgrade
from store.keys import MasterKeyMismatch, SqlKeyStore

app = typer.Typer(no_args_is_help=True, help="Die Datenschlüssel der Fälle.")


def store_keys(settings: Settings, engine: Engine | None = None) -> CachedKeyStore:
    """The data keys of the store of `settings` (migrated first), as a worker or the API
    use them."""
    if engine is None:
        engine = make_engine(settings.database_url, settings.data_dir)
        upgrade(engine)
    return CachedKeyStore(SqlKeyStore(engine, master_key(settings)))


def rotate(settings: Settings, new_key: str) -> int:
    """Every data key re-wrapped under `new_key`; how many. In development without a
    configured master key, the data dir's key file is replaced too."""
    new = parse_master_key(new_key)
    engine = make_engine(settings.database_url, settings.data_dir)
    try:
        upgrade(engine)
        count = SqlKeyStore(engine, master_key(settings)).rewrap(new)
    finally:
        engine.dispose()
    if settings.master_key is None and not settings.is_production:
        _replace_key_file(settings.data_dir / KEY_FILE, new_key)
    return count


def _replace_key_file(path: Path, key: str) -> None:
    temporary = path.with_name(f".{path.name}.new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key)
    os.replace(temporary, path)


@app.command("rotate")
def rotate_command() -> None:
    """Alle Datenschlüssel unter einem neuen Hauptschlüssel ablegen (neuer Schlüssel auf stdin)."""
    settings = Settings()
    given = None if sys.stdin.isatty() else sys.stdin.read().strip()
    new_key = given or new_master_key()
    try:
        count = rotate(settings, new_key)
    except (MasterKeyError, MasterKeyMismatch) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{count} Datenschlüssel neu verschlüsselt.")
    if settings.master_key is not None:
        if given:
            typer.echo("Jetzt LOTSE_MASTER_KEY auf den neuen Schlüssel setzen und neu starten.")
        else:
            typer.echo(f"Neuer Hauptschlüssel (nur jetzt angezeigt): {new_key}")
            typer.echo("Jetzt LOTSE_MASTER_KEY darauf setzen und alle Prozesse neu starten.")
    else:
        typer.echo("Der Schlüssel im Datenverzeichnis wurde ersetzt; bitte neu starten.")
