"""A directory import: CSV files of municipalities, centres, partner agencies and user
accounts (`lotse directory import`, the page „Verzeichnis importieren“) brought into the
directory in one transaction.

Every row is checked before anything is written: its cells (`domain.directory_csv`), ids given
twice, and whether the municipality, centre or partner a row refers to exists, in the
directory or in the same import. One problem and nothing is written. Otherwise each row is
an upsert by its id: new ids are inserted, changed fields of known ones updated, nothing is
ever deleted; importing the same files again changes nothing.

Imported accounts get no usable password: their hash is of a random secret nobody keeps, so
an administrator gives each a password reset or links the municipality's sign-in to it. An
existing account keeps its password. An import never changes the importing administrator's
own role or deactivates her (she would lock herself out).

Audit: one entry per import (`directory_import`, its counts as the object id, or
`directory_import.refused` with the number of problems) and one per created or changed
object (`directory_import.create` / `.update` with its type and id). No personal data.
"""

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col

from domain.directory_csv import Problem, Row, Sheet, read_sheet
from domain.directory_rows import KIND_LABELS, LAYOUTS, DirectoryKind
from domain.enums import ActorKind, CentreKind
from store import audit
from store.models import Centre, Municipality, PartnerAgency, Role, User
from store.projections import AuditEvent
from store.users import hash_password

CLI_ACTOR = "lotse-cli"  # the audit log's actor of an import from the command line
MAX_FILES = 10
_CHUNK = 500  # ids per IN (...) query

TABLES: dict[DirectoryKind, type[SQLModel]] = {
    DirectoryKind.MUNICIPALITIES: Municipality,
    DirectoryKind.CENTRES: Centre,
    DirectoryKind.PARTNERS: PartnerAgency,
    DirectoryKind.USERS: User,
}
OBJECT_TYPES = {
    DirectoryKind.MUNICIPALITIES: "municipality",
    DirectoryKind.CENTRES: "centre",
    DirectoryKind.PARTNERS: "partner",
    DirectoryKind.USERS: "user",
}
# The columns that name another directory entry, and which kind it is.
REFERENCES = {
    "municipality_id": DirectoryKind.MUNICIPALITIES,
    "centre_id": DirectoryKind.CENTRES,
    "partner_id": DirectoryKind.PARTNERS,
}
_NOT_FOUND = {
    DirectoryKind.MUNICIPALITIES: "Diese Kommune",
    DirectoryKind.CENTRES: "Diese Beratungsstelle",
    DirectoryKind.PARTNERS: "Diesen Partner",
}


@dataclass(frozen=True)
class Counts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0


@dataclass
class ImportOutcome:
    """What an import did (or, `dry_run`, would do), or why it did nothing (`problems`)."""

    counts: dict[DirectoryKind, Counts] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def new_accounts(self) -> int:
        return self.counts.get(DirectoryKind.USERS, Counts()).new

    def summary(self) -> list[str]:
        """One German line per kind in the import: „Beratungsstellen: 2 neu, 1 geändert, …“."""
        return [
            f"{KIND_LABELS[kind]}: {c.new} neu, {c.changed} geändert, {c.unchanged} unverändert."
            for kind, c in self.counts.items()
        ]


def import_directory(
    engine: Engine,
    files: Sequence[tuple[str, bytes]],
    *,
    actor: str,
    kind: DirectoryKind | None = None,
    dry_run: bool = False,
) -> ImportOutcome:
    """Check and import `files` (name, content) in one transaction; `kind` None: each file's
    kind is recognised by its header. `dry_run`: check and count, write nothing."""
    if not files or len(files) > MAX_FILES:
        message = (
            f"Zu viele Dateien: höchstens {MAX_FILES} auf einmal."
            if files
            else "Keine Datei angegeben."
        )
        return ImportOutcome(problems=[Problem("", None, None, message)], dry_run=dry_run)
    sheets: list[Sheet] = []
    problems: list[Problem] = []
    for source, data in files:
        sheet, found = read_sheet(source, data, kind)
        problems.extend(found)
        if sheet is not None:
            sheets.append(sheet)
    rows = {each: [row for s in sheets if s.kind is each for row in s.rows] for each in TABLES}
    problems.extend(_duplicates(rows))
    with Session(engine, expire_on_commit=False) as session:
        existing = {each: _existing(session, each, rows[each]) for each in TABLES}
        problems.extend(_references(session, rows))
        problems.extend(_own_account(actor, rows[DirectoryKind.USERS], existing))
        if problems:
            session.rollback()
            if not dry_run:
                count = f"problems={len(problems)}"
                audit.add_entry(session, actor, "directory_import.refused", "directory", count)
            # By file (in the order given) and line, as a person goes through her files.
            order = {source: n for n, (source, _) in enumerate(files)}
            problems.sort(key=lambda p: (order.get(p.source, -1), p.line or 0))
            return ImportOutcome(problems=problems, dry_run=dry_run)
        kinds = [each for each in TABLES if any(s.kind is each for s in sheets)]
        try:
            return _write(session, kinds, rows, existing, actor, dry_run)
        except IntegrityError:
            # Another administrator added one of these ids meanwhile.
            session.rollback()
            return ImportOutcome(problems=[Problem("", None, None, _RACE)], dry_run=dry_run)


_RACE = (
    "Das Verzeichnis wurde während des Imports geändert; nichts wurde importiert. Bitte noch "
    "einmal importieren."
)


def _write(
    session: Session,
    kinds: list[DirectoryKind],
    rows: dict[DirectoryKind, list[Row]],
    existing: dict[DirectoryKind, dict[str, Any]],
    actor: str,
    dry_run: bool,
) -> ImportOutcome:
    """The upserts of every kind, in order, with their audit entries; committed, or rolled
    back after counting for a dry run."""
    outcome = ImportOutcome(dry_run=dry_run)
    now = datetime.now(UTC)
    # One hash for every new account of the import: nobody keeps the secret behind it.
    unusable_hash = hash_password(secrets.token_urlsafe(32)) if rows[DirectoryKind.USERS] else ""

    def entry(action: str, object_type: str, object_id: str) -> AuditEvent:
        return AuditEvent(
            at=now, actor=actor, action=action, object_type=object_type, object_id=object_id
        )

    for each in kinds:
        counts, changes = _upsert(session, each, rows[each], existing[each], unusable_hash)
        outcome.counts[each] = counts
        session.add_all(entry(action, OBJECT_TYPES[each], key) for action, key in changes)
        session.flush()  # the next kind's rows refer to these
    if dry_run:
        session.rollback()
        return outcome
    new, changed, unchanged = (
        sum(getattr(c, name) for c in outcome.counts.values())
        for name in ("new", "changed", "unchanged")
    )
    counted = f"new={new},changed={changed},unchanged={unchanged}"
    session.add(entry("directory_import", "directory", counted))
    session.commit()
    return outcome


def _duplicates(rows: dict[DirectoryKind, list[Row]]) -> Iterable[Problem]:
    for kind, of_kind in rows.items():
        first: dict[str, Row] = {}
        for row in of_kind:
            earlier = first.setdefault(row.key, row)
            if earlier is not row:
                where = f"Zeile {earlier.line}" + (
                    "" if earlier.source == row.source else f" von {earlier.source}"
                )
                yield Problem(
                    row.source, row.line, LAYOUTS[kind].key, f"Dieselbe Id steht schon in {where}."
                )


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _key_column(kind: DirectoryKind) -> Any:
    table = TABLES[kind]
    return col(getattr(table, LAYOUTS[kind].key))


def _existing(session: Session, kind: DirectoryKind, rows: list[Row]) -> dict[str, Any]:
    """The stored objects of these rows' ids, by id."""
    ids = sorted({row.key for row in rows})
    found: dict[str, Any] = {}
    key = LAYOUTS[kind].key
    for chunk in _chunks(ids):
        query = select(TABLES[kind]).where(_key_column(kind).in_(chunk))
        for stored in session.execute(query).scalars():
            found[getattr(stored, key)] = stored
    return found


def _known_ids(session: Session, kind: DirectoryKind, ids: set[str]) -> set[str]:
    known: set[str] = set()
    for chunk in _chunks(sorted(ids)):
        query = select(_key_column(kind)).where(_key_column(kind).in_(chunk))
        known.update(session.execute(query).scalars())
    return known


def _references(session: Session, rows: dict[DirectoryKind, list[Row]]) -> Iterable[Problem]:
    """A row naming a municipality, centre or partner that is neither stored nor imported."""
    wanted: dict[DirectoryKind, set[str]] = {kind: set() for kind in _NOT_FOUND}
    for of_kind in rows.values():
        for row in of_kind:
            for column, kind in REFERENCES.items():
                value = row.values.get(column)
                if isinstance(value, str):
                    wanted[kind].add(value)
    known = {
        kind: {row.key for row in rows[kind]} | _known_ids(session, kind, ids)
        for kind, ids in wanted.items()
    }
    for of_kind in rows.values():
        for row in of_kind:
            for column, kind in REFERENCES.items():
                value = row.values.get(column)
                if isinstance(value, str) and value not in known[kind]:
                    yield Problem(
                        row.source,
                        row.line,
                        column,
                        f"{_NOT_FOUND[kind]} gibt es weder im Verzeichnis noch im Import.",
                    )


def _own_account(
    actor: str, rows: list[Row], existing: dict[DirectoryKind, dict[str, Any]]
) -> Iterable[Problem]:
    own = existing[DirectoryKind.USERS].get(actor)
    for row in rows:
        if own is None or row.key != actor:
            continue
        if row.values.get("role") != own.role or row.values.get("active") is False:
            yield Problem(
                row.source,
                row.line,
                "role",
                "Das eigene Konto kann ein Import weder in der Rolle ändern noch deaktivieren.",
            )


def _typed(kind: DirectoryKind, values: dict[str, object]) -> dict[str, object]:
    """The row's values with the enums the tables hold (the domain checks gave their values)."""
    typed = dict(values)
    if kind is DirectoryKind.USERS:
        typed["role"] = Role(str(values["role"]))
    elif kind is DirectoryKind.CENTRES:
        typed["kind"] = CentreKind(str(values["kind"]))
    elif kind is DirectoryKind.PARTNERS:
        typed["kind"] = ActorKind(str(values["kind"]))
    return typed


def _upsert(
    session: Session,
    kind: DirectoryKind,
    rows: list[Row],
    existing: dict[str, Any],
    unusable_hash: str,
) -> tuple[Counts, list[tuple[str, str]]]:
    """Insert the new rows and update the changed ones; the counts and the audit entries
    (verb, id) of the objects created or changed."""
    counts = Counts()
    changes: list[tuple[str, str]] = []
    for row in rows:
        values = _typed(kind, row.values)
        stored = existing.get(row.key)
        if stored is None:
            if kind is DirectoryKind.USERS:
                values["password_hash"] = unusable_hash
            session.add(TABLES[kind](**values))
            counts = replace(counts, new=counts.new + 1)
            changes.append(("directory_import.create", row.key))
        elif any(getattr(stored, column) != value for column, value in values.items()):
            for column, value in values.items():
                setattr(stored, column, value)
            session.add(stored)
            counts = replace(counts, changed=counts.changed + 1)
            changes.append(("directory_import.update", row.key))
        else:
            counts = replace(counts, unchanged=counts.unchanged + 1)
    return counts, changes
