"""A directory import on each backend: the example files of deploy/README.md into an empty
directory, references resolved within one import, an upsert that a second run leaves alone,
and one bad row (or a reference to nothing, an id given twice) writing nothing at all."""

from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from domain.directory_rows import DirectoryKind
from domain.enums import ActorKind, CentreKind
from store.directory_import import Counts, ImportOutcome, import_directory
from store.models import Centre, Municipality, PartnerAgency, Role, User
from store.projections import AuditEvent
from store.users import authenticate, create_user, verify_password

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "directory"
EXAMPLE_FILES = ("municipalities.csv", "centres.csv", "partners.csv", "users.csv")

TOWN = "id,name,land\nneustadt,Neustadt,NI\n"
CENTRES = "id,municipality_id,name,kind\nmbe-neu,neustadt,MBE Neustadt,MBE\n"


def _examples() -> list[tuple[str, bytes]]:
    return [(name, (EXAMPLES / name).read_bytes()) for name in EXAMPLE_FILES]


def _import(engine: Engine, *files: tuple[str, str], **options: object) -> ImportOutcome:
    encoded = [(name, text.encode()) for name, text in files]
    return import_directory(engine, encoded, actor="admin", **options)  # type: ignore[arg-type]


def _count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def _audit(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        rows = session.execute(select(AuditEvent).order_by(col(AuditEvent.id))).scalars()
        return [(row.action, row.object_type, row.object_id) for row in rows]


def _directory(engine: Engine) -> tuple[int, int, int, int]:
    return tuple(_count(engine, t) for t in (Municipality, Centre, PartnerAgency, User))  # type: ignore[return-value]


def test_the_example_files_fill_an_empty_directory_and_a_second_run_changes_nothing(
    store_engine: Engine,
) -> None:
    first = import_directory(store_engine, _examples(), actor="admin")
    assert first.ok, [str(p) for p in first.problems]
    assert first.counts == {
        DirectoryKind.MUNICIPALITIES: Counts(new=1),
        DirectoryKind.CENTRES: Counts(new=2),
        DirectoryKind.PARTNERS: Counts(new=3),
        DirectoryKind.USERS: Counts(new=5),
    }
    assert first.new_accounts == 5
    with Session(store_engine) as session:
        centre = session.get(Centre, "mbe-neustadt")
        assert centre is not None and centre.kind is CentreKind.MBE
        assert centre.address == "Marktplatz 3, 31535 Neustadt"
        vhs = session.get(PartnerAgency, "vhs-neustadt")
        assert vhs is not None and vhs.kind is ActorKind.LANGUAGE_COURSE_PROVIDER
        assert vhs.measures == ["integration_course", "literacy_course", "job_language_course"]
        town = session.get(Municipality, "neustadt")
        assert town is not None and town.land == "NI" and town.case_prefix
        counsellor = session.get(User, "a.yilmaz")
        assert counsellor is not None and counsellor.role is Role.COUNSELLOR
        assert counsellor.centre_id == "mbe-neustadt" and counsellor.display_name == "Ayşe Yılmaz"
        # No usable password: an argon2 hash of a secret nobody kept.
        assert counsellor.password_hash.startswith("$argon2id$")
        assert authenticate(session, "a.yilmaz", "") is None
        assert authenticate(session, "a.yilmaz", "demo") is None
    created = [entry for entry in _audit(store_engine) if entry[0] == "directory_import.create"]
    assert len(created) == 11 and ("directory_import.create", "user", "a.yilmaz") in created
    assert _audit(store_engine)[-1] == (
        "directory_import",
        "directory",
        "new=11,changed=0,unchanged=0",
    )

    before = _audit(store_engine)
    second = import_directory(store_engine, _examples(), actor="admin")
    assert second.ok
    assert {kind: c.unchanged for kind, c in second.counts.items()} == {
        DirectoryKind.MUNICIPALITIES: 1,
        DirectoryKind.CENTRES: 2,
        DirectoryKind.PARTNERS: 3,
        DirectoryKind.USERS: 5,
    }
    assert all(c.new == c.changed == 0 for c in second.counts.values())
    assert _audit(store_engine)[len(before) :] == [
        ("directory_import", "directory", "new=0,changed=0,unchanged=11")
    ]


def test_references_resolve_within_one_import_whatever_the_order_of_its_files(
    store_engine: Engine,
) -> None:
    users = "username,role,centre_id\nb1,counsellor,mbe-neu\n"
    outcome = _import(store_engine, ("u.csv", users), ("c.csv", CENTRES), ("m.csv", TOWN))
    assert outcome.ok, [str(p) for p in outcome.problems]
    assert _directory(store_engine) == (1, 1, 0, 1)


def test_one_bad_row_imports_nothing_and_every_problem_is_named(store_engine: Engine) -> None:
    users = (
        "username,role,centre_id,partner_id,municipality_id\n"
        "b1,counsellor,mbe-neu,,\n"
        "b2,counsellor,mbe-gibtsnicht,,\n"
        "p1,partner,,partner-gibtsnicht,\n"
        "k1,supervisor,,,altstadt\n"
        "b1,counsellor,mbe-neu,,\n"
    )
    outcome = _import(store_engine, ("m.csv", TOWN), ("c.csv", CENTRES), ("u.csv", users))
    assert not outcome.ok
    assert sorted(str(p) for p in outcome.problems) == [
        "u.csv, Zeile 3, Feld centre_id: Diese Beratungsstelle gibt es weder im Verzeichnis "
        "noch im Import.",
        "u.csv, Zeile 4, Feld partner_id: Diesen Partner gibt es weder im Verzeichnis noch im "
        "Import.",
        "u.csv, Zeile 5, Feld municipality_id: Diese Kommune gibt es weder im Verzeichnis noch "
        "im Import.",
        "u.csv, Zeile 6, Feld username: Dieselbe Id steht schon in Zeile 2.",
    ]
    assert _directory(store_engine) == (0, 0, 0, 0)
    assert _audit(store_engine) == [
        ("directory_import.refused", "directory", "problems=4"),
    ]


def test_an_id_given_twice_across_files_of_one_kind_is_refused(store_engine: Engine) -> None:
    again = "id,municipality_id,name,kind\nmbe-neu,neustadt,Zweite,JMD\n"
    outcome = _import(store_engine, ("m.csv", TOWN), ("a.csv", CENTRES), ("b.csv", again))
    assert [str(p) for p in outcome.problems] == [
        "b.csv, Zeile 2, Feld id: Dieselbe Id steht schon in Zeile 2 von a.csv."
    ]
    assert _directory(store_engine) == (0, 0, 0, 0)


def test_changed_fields_are_updated_and_what_a_file_leaves_out_is_kept(
    store_engine: Engine,
) -> None:
    partners = "id,municipality_id,name,kind,measures,active\n"
    assert _import(
        store_engine,
        ("m.csv", TOWN),
        ("c.csv", CENTRES),
        ("p.csv", partners + "jc,neustadt,Jobcenter,jobcenter,placement,nein\n"),
    ).ok
    with Session(store_engine) as session:
        create_user(session, "b1", Role.COUNSELLOR, password="altes-passwort", centre_id="mbe-neu")
        session.commit()
    users = "username,role,centre_id,display_name\nB1,counsellor,mbe-neu,Berta Eins\n"
    changed = "id,municipality_id,name,kind,address\nmbe-neu,neustadt,MBE Neustadt,MBE,Weg 1\n"
    outcome = _import(
        store_engine,
        ("c.csv", changed),
        (
            "p.csv",
            partners + "jc,neustadt,Jobcenter Neustadt,jobcenter,placement;career_guidance,\n",
        ),
        ("u.csv", users),
    )
    assert outcome.ok
    assert outcome.counts == {
        DirectoryKind.CENTRES: Counts(changed=1),
        DirectoryKind.PARTNERS: Counts(changed=1),
        DirectoryKind.USERS: Counts(changed=1),
    }
    with Session(store_engine) as session:
        partner = session.get(PartnerAgency, "jc")
        assert partner is not None and partner.name == "Jobcenter Neustadt"
        assert partner.measures == ["placement", "career_guidance"]
        assert partner.active is False  # an empty `active` cell never re-activates
        centre = session.get(Centre, "mbe-neu")
        assert centre is not None and centre.address == "Weg 1"
        user = session.get(User, "b1")
        assert user is not None and user.display_name == "Berta Eins"
        assert verify_password(user.password_hash, "altes-passwort")  # kept
    updates = [e for e in _audit(store_engine) if e[0] == "directory_import.update"]
    assert updates == [
        ("directory_import.update", "centre", "mbe-neu"),
        ("directory_import.update", "partner", "jc"),
        ("directory_import.update", "user", "b1"),
    ]


def test_an_import_never_demotes_or_deactivates_the_importing_admin(store_engine: Engine) -> None:
    with Session(store_engine) as session:
        create_user(session, "chefin", Role.ADMIN, password="geheim-genug")
        session.commit()
    for row in ("chefin,supervisor,neustadt,ja", "chefin,admin,,nein"):
        users = f"username,role,municipality_id,active\n{row}\n"
        outcome = import_directory(
            store_engine,
            [("m.csv", TOWN.encode()), ("u.csv", users.encode())],
            actor="chefin",
        )
        assert [str(p) for p in outcome.problems] == [
            "u.csv, Zeile 2, Feld role: Das eigene Konto kann ein Import weder in der Rolle "
            "ändern noch deaktivieren."
        ]
    assert _directory(store_engine) == (0, 0, 0, 1)


def test_a_dry_run_counts_and_writes_nothing(store_engine: Engine) -> None:
    outcome = import_directory(store_engine, _examples(), actor="admin", dry_run=True)
    assert outcome.ok and outcome.dry_run and outcome.new_accounts == 5
    assert _directory(store_engine) == (0, 0, 0, 0)
    refused = _import(store_engine, ("c.csv", CENTRES), dry_run=True)
    assert [str(p) for p in refused.problems] == [
        "c.csv, Zeile 2, Feld municipality_id: Diese Kommune gibt es weder im Verzeichnis noch "
        "im Import."
    ]
    assert _audit(store_engine) == []  # a check writes nothing, not even an entry
