"""`lotse users create` as an operator runs it with `LOTSE_ENV=production` against the
configured database (SQLite and PostgreSQL): the first administrator, from standard input or
from the hidden prompt; any other account with its scope; every mistake said in German naming
the option, a non-zero exit and nothing written; the creation audited with the actor `cli`.
The real command through typer's CliRunner."""

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from domain.enums import CentreKind
from store.models import Centre, Municipality, User
from store.projections import AuditEvent
from store.testing import BACKENDS, Backend, migrated_store, postgres_schema
from store.users import verify_password
from worker.cli import app

MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


def _directory_store(backend: Backend, data_dir: Path) -> Iterator[Engine]:
    """A migrated store with one municipality and centre, nothing else (no demo data)."""
    url = os.environ.get("LOTSE_TEST_POSTGRES_URL")
    if backend == "postgresql" and not url:
        pytest.skip("LOTSE_TEST_POSTGRES_URL unset: PostgreSQL tests skipped (.ci/run sets it)")
    with migrated_store(backend, data_dir, url) as engine:
        with Session(engine) as session:
            session.add(Municipality(id="neustadt", name="Neustadt", land="NW"))
            session.flush()
            session.add(
                Centre(
                    id="mbe-neustadt",
                    name="MBE Neustadt",
                    kind=CentreKind.MBE,
                    municipality_id="neustadt",
                )
            )
            session.commit()
        yield engine


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from _directory_store(request.param, tmp_path)


@pytest.fixture(scope="module", params=BACKENDS)
def untouched(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One store per backend for the refusals, which write nothing (each test checks that)."""
    yield from _directory_store(request.param, tmp_path_factory.mktemp("refusals"))


def _run(engine: Engine, tmp_path: Path, args: list[str], stdin: str = "") -> Result:
    env = {
        "LOTSE_ENV": "production",
        "LOTSE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "LOTSE_MASTER_KEY": MASTER_KEY,
        "LOTSE_DATA_DIR": str(tmp_path / "nirgends"),
    }
    return CliRunner().invoke(app, ["users", "create", *args], input=stdin, env=env)


def _users(engine: Engine) -> dict[str, User]:
    with Session(engine) as session:
        return {user.username: user for user in session.exec(select(User)).all()}


def _audit(engine: Engine) -> list[tuple[str, str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent)).all()
        return [(r.actor, r.action, r.object_type, r.object_id) for r in rows]


def test_the_first_admin_from_standard_input_in_production(engine: Engine, tmp_path: Path) -> None:
    result = _run(
        engine,
        tmp_path,
        ["--role", "admin", "--username", "Chefin", "--password-stdin"],
        "geheim-genug\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Konto 'chefin' angelegt (Rolle Verwaltung)."
    user = _users(engine)["chefin"]
    assert user.role == "admin" and user.active and not user.must_change_password
    assert verify_password(user.password_hash, "geheim-genug")
    assert "geheim" not in result.output
    assert _audit(engine) == [("cli", "cli.user_create", "user", "chefin")]


def test_an_account_with_scope_and_contact_from_the_hidden_prompt(
    engine: Engine, tmp_path: Path
) -> None:
    args = [
        "--role",
        "counsellor",
        "--username",
        "lea",
        "--centre",
        "mbe-neustadt",
        "--display-name",
        "Lea Berg",
        "--email",
        "lea@neustadt.example",
        "--phone",
        "0123 45",
    ]
    result = _run(engine, tmp_path, args, "geheim-genug\ngeheim-genug\n")
    assert result.exit_code == 0, result.output
    assert "Konto 'lea' angelegt (Rolle Beratung, Beratungsstelle mbe-neustadt)." in result.output
    assert "geheim-genug" not in result.output  # hidden
    user = _users(engine)["lea"]
    assert (user.centre_id, user.display_name, user.email, user.phone) == (
        "mbe-neustadt",
        "Lea Berg",
        "lea@neustadt.example",
        "0123 45",
    )
    mismatch = _run(engine, tmp_path, [*args[:3], "lea2", *args[4:]], "geheim-genug\nanders-1\n")
    assert mismatch.exit_code != 0
    assert "Passwort: Die beiden Eingaben stimmen nicht überein." in mismatch.output
    assert "lea2" not in _users(engine)


ADMIN = ["--role", "admin", "--username", "chefin"]
# (arguments, what stdin brings, the words of the refusal: each names its option)
REFUSED: list[tuple[list[str], str, str]] = [
    (["--role", "chef", "--username", "chefin"], "geheim-genug", "--role: unbekannte Rolle"),
    (
        ["--role", "counsellor", "--username", "lea"],
        "geheim-genug",
        "--centre: die Rolle 'counsellor' braucht diese Angabe.",
    ),
    ([*ADMIN, "--centre", "mbe-neustadt"], "geheim-genug", "--centre: passt nicht zur Rolle"),
    (
        ["--role", "counsellor", "--username", "lea", "--centre", "mbe-weg"],
        "geheim-genug",
        "--centre: 'mbe-weg' gibt es im Verzeichnis nicht.",
    ),
    (
        ["--role", "supervisor", "--username", "k", "--municipality", "neustadt"],
        "geheim-genug",
        "--username: 2-64 Zeichen",
    ),
    (["--role", "admin", "--username", "chef\x00in"], "geheim-genug", "--username:"),
    (["--role", "admin", "--username", "x" * 65], "geheim-genug", "--username:"),
    (
        ["--role", "counsellor", "--username", "lea", "--centre", "mbe\x00neu"],
        "geheim-genug",
        "--centre: keine gültige Id",
    ),
    ([*ADMIN, "--email", "keine-adresse"], "geheim-genug", "--email:"),
    ([*ADMIN, "--display-name", "Che\x00fin"], "geheim-genug", "--display-name: Steuerzeichen"),
    ([*ADMIN, "--display-name", "x" * 5000], "geheim-genug", "--display-name: "),
    ([*ADMIN, "--phone", "ruf an"], "geheim-genug", "--phone:"),
    ([*ADMIN], "kurz", "--password-stdin: Zu kurz, mindestens 8 Zeichen."),
    ([*ADMIN], "", "--password-stdin: Zu kurz"),
    ([*ADMIN], "geheim\x07genug", "--password-stdin: Steuerzeichen (U+0007"),
    ([*ADMIN], "x" * 300, "--password-stdin: Zu lang"),
]


@pytest.mark.parametrize(("args", "stdin", "words"), REFUSED)
def test_a_mistake_is_named_by_its_option_and_writes_nothing(
    untouched: Engine, tmp_path: Path, args: list[str], stdin: str, words: str
) -> None:
    result = _run(untouched, tmp_path, [*args, "--password-stdin"], stdin + "\n")
    assert result.exit_code != 0
    assert words in result.output, result.output
    assert "Traceback" not in result.output
    assert _users(untouched) == {} and _audit(untouched) == []


def test_a_taken_name_and_a_password_argument_are_refused(engine: Engine, tmp_path: Path) -> None:
    assert _run(engine, tmp_path, [*ADMIN, "--password-stdin"], "geheim-genug").exit_code == 0
    again = _run(engine, tmp_path, [*ADMIN, "--password-stdin"], "geheim-genug")
    assert again.exit_code == 1
    assert "--username: ein Konto 'chefin' gibt es bereits." in again.output
    argument = _run(engine, tmp_path, [*ADMIN, "--password", "geheim-genug"])
    assert argument.exit_code == 2  # there is no such option
    assert len(_users(engine)) == 1


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+pysqlite:///{tmp_path / 'leer.sqlite'}"
        return
    with postgres_schema(request.getfixturevalue("postgres_url")) as url:
        yield url


def test_an_unmigrated_database_asks_for_the_upgrade_first(empty_url: str, tmp_path: Path) -> None:
    env = {
        "LOTSE_ENV": "production",
        "LOTSE_DATABASE_URL": empty_url,
        "LOTSE_MASTER_KEY": MASTER_KEY,
    }
    result = CliRunner().invoke(
        app, ["users", "create", *ADMIN, "--password-stdin"], input="geheim-genug\n", env=env
    )
    assert result.exit_code == 1
    assert "zuerst `lotse db upgrade`" in result.output
