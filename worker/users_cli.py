"""`lotse users create`: an account in the configured database, also in production, where
nothing else can make the first administrator (the admin API needs one to log in).

The password comes from a hidden prompt (typed twice) or, with `--password-stdin`, from
standard input for scripted setup; never from an argument, which other users of the machine
can read in the process list. Every refusal names the option in German and exits non-zero,
having written nothing; a creation is an audit entry with the actor `cli`.
"""

import re
import sys
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError

from app.settings import Settings
from domain.fields import DisplayName, EmailAddress, PhoneNumber
from domain.passwords import password_problem
from store.models import Role

app = typer.Typer(no_args_is_help=True, help="Benutzerkonten verwalten.")

ACTOR = "cli"
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{1,63}")
ROLE_NAMES = {
    Role.COUNSELLOR: "Beratung",
    Role.PARTNER: "Partnerstelle",
    Role.SUPERVISOR: "Koordination",
    Role.ADMIN: "Verwaltung",
    Role.EVALUATOR: "Auswertung",
    Role.DATA_PROTECTION: "Datenschutz",
}
# The option that gives each scope field, as the messages name it.
SCOPE_OPTIONS = {
    "centre_id": "--centre",
    "partner_id": "--partner",
    "municipality_id": "--municipality",
}


SCOPE_NAMES = {
    "centre_id": "Beratungsstelle",
    "partner_id": "Partner",
    "municipality_id": "Kommune",
}


class Refusal(Exception):
    """What is wrong with the command, in German, naming the option; the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(role.value for role in Role)
        raise Refusal(f"--role: unbekannte Rolle '{value}'; erlaubt sind {allowed}.") from None


def _text(option: str, kind: Any, value: str) -> str:
    try:
        checked: str = TypeAdapter(kind).validate_python(value)
    except ValidationError as error:
        message = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        raise Refusal(f"{option}: {message}") from None
    return checked


def _password(from_stdin: bool) -> str:
    if from_stdin:
        # One line; the newline `echo` or a here-string adds is not part of it.
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    else:
        # Asked twice by hand: click's own confirmation speaks English.
        password = typer.prompt("Passwort", hide_input=True)
        if typer.prompt("Passwort wiederholen", hide_input=True) != password:
            raise Refusal("Passwort: Die beiden Eingaben stimmen nicht überein.")
    if problem := password_problem(password):
        source = "--password-stdin" if from_stdin else "Passwort"
        raise Refusal(f"{source}: {problem}")
    return password


def _scope_problem(role: Role, scope: dict[str, str | None]) -> str | None:
    from store.users import scope_error

    if scope_error(role, *scope.values()) is None:
        return None
    needed = {
        Role.COUNSELLOR: "centre_id",
        Role.PARTNER: "partner_id",
        Role.SUPERVISOR: "municipality_id",
        Role.DATA_PROTECTION: "municipality_id",
    }.get(role)
    extra = [SCOPE_OPTIONS[f] for f, value in scope.items() if value is not None and f != needed]
    if extra:
        return f"{', '.join(extra)}: passt nicht zur Rolle '{role.value}'; bitte weglassen."
    assert needed is not None
    return f"{SCOPE_OPTIONS[needed]}: die Rolle '{role.value}' braucht diese Angabe."


def create_account(settings: Settings, fields: dict[str, Any], password: str) -> str:
    """Store the account (fields as the command took them) and its audit entry; what was done,
    in German. `Refusal` for anything the directory refuses."""
    from sqlmodel import Session

    from store import audit
    from store.db import current_revision, head_revision, make_engine
    from store.directory_changes import Taken, UnknownInDirectory, account_exists, add_account

    engine = make_engine(settings.database_url, settings.data_dir)
    try:
        if current_revision(engine) != head_revision():
            raise Refusal(
                "Die Datenbank hat nicht das neueste Schema: zuerst `lotse db upgrade`.", 1
            )
        with Session(engine) as session:
            username = fields["username"]
            if account_exists(session, username):
                raise Refusal(f"--username: ein Konto '{username}' gibt es bereits.", 1)
            try:
                add_account(session, password=password, **fields)
            except UnknownInDirectory as error:
                option = SCOPE_OPTIONS[error.field]
                raise Refusal(
                    f"{option}: '{error.value}' gibt es im Verzeichnis nicht.", 1
                ) from None
            except Taken:
                raise Refusal(f"--username: ein Konto '{username}' gibt es bereits.", 1) from None
            audit.add_entry(session, ACTOR, "cli.user_create", "user", username)
    finally:
        engine.dispose()
    scope = [f"{SCOPE_NAMES[f]} {fields[f]}" for f in SCOPE_OPTIONS if fields[f] is not None]
    where = f", {scope[0]}" if scope else ""
    return f"Konto '{username}' angelegt (Rolle {ROLE_NAMES[fields['role']]}{where})."


@app.command("create")
def create(
    role: Annotated[str, typer.Option(help="counsellor, partner, supervisor, admin, ...")],
    username: Annotated[str, typer.Option(help="2-64 Zeichen: a-z, 0-9, '.', '_', '-'.")],
    centre: Annotated[str | None, typer.Option(help="Beratungsstelle (Beratung).")] = None,
    partner: Annotated[str | None, typer.Option(help="Partnerstelle (Partner).")] = None,
    municipality: Annotated[
        str | None, typer.Option(help="Kommune (Koordination, Datenschutz).")
    ] = None,
    display_name: Annotated[str, typer.Option(help="Name, wie andere ihn lesen.")] = "",
    email: Annotated[str, typer.Option(help="E-Mail-Adresse.")] = "",
    phone: Annotated[str, typer.Option(help="Telefonnummer.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Passwort von der Standardeingabe lesen.")
    ] = False,
) -> None:
    """Ein Konto anlegen (Passwort aus verdeckter Abfrage oder mit --password-stdin)."""
    from store.users import USERNAME

    try:
        name = username.strip().lower()
        if not USERNAME.fullmatch(name):
            raise Refusal(
                "--username: 2-64 Zeichen aus Kleinbuchstaben a-z, Ziffern, '.', '_', '-'; "
                "am Anfang ein Buchstabe oder eine Ziffer."
            )
        chosen = _role(role)
        scope = {"centre_id": centre, "partner_id": partner, "municipality_id": municipality}
        for field, value in scope.items():
            if value is not None and not SLUG.fullmatch(value):
                raise Refusal(
                    f"{SCOPE_OPTIONS[field]}: keine gültige Id (2-64 Zeichen a-z, 0-9, '_', '-')."
                )
        if problem := _scope_problem(chosen, scope):
            raise Refusal(problem)
        fields: dict[str, Any] = {
            "username": name,
            "role": chosen,
            **scope,
            "display_name": _text("--display-name", DisplayName, display_name),
            "email": _text("--email", EmailAddress, email),
            "phone": _text("--phone", PhoneNumber, phone),
        }
        try:
            settings = Settings()
        except ValueError as error:
            raise Refusal(f"Einstellungen ungültig: {error}", 1) from None
        said = create_account(settings, fields, _password(password_stdin))
    except Refusal as refusal:
        typer.echo(refusal.message, err=True)
        raise typer.Exit(refusal.code) from None
    typer.echo(said)
