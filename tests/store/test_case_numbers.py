"""Case numbers and the search by name and number in the store (store/case_numbers.py,
store/case_identity.py, store/reads/cases.py, migration 0012), and a duplicate's absence from
the evaluation, on SQLite and PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, column, table
from sqlmodel import Session, col, select

from domain.case import CaseEventKind, ClosureReason, Stage
from domain.months import start_of_german_month
from domain.projection import CaseEventBatch
from store import db
from store.case_numbers import CaseNumberCounter, assign, assign_now, number_of
from store.facts import ClosureFact
from store.models import Municipality
from store.name_key_rebuild import rebuild_name_keys
from store.projections import CaseNameKey, CaseSummary
from store.projector import SqlCaseEventSink
from store.reads.cases import centre_cases
from store.reads.evaluation import ReportScope, fact_counts
from tests.samples import BATCH_CASE, NOW, batch_event, batch_projection

DAY = date(2026, 3, 2)


def _municipalities(engine: Engine, *ids: str) -> None:
    with Session(engine) as session:
        for municipality_id in ids:
            session.add(Municipality(id=municipality_id, name=municipality_id, land="NW"))
        session.commit()


def _case(n: int) -> str:
    return f"case-00000000-0000-4000-8000-{n:012d}"


def test_a_municipality_added_without_a_prefix_gets_a_unique_one(store_engine: Engine) -> None:
    _municipalities(store_engine, "musterstadt", "gemeinde-01", "gemeinde-02", "gemeinde-03")
    with Session(store_engine) as session:
        prefixes = dict(session.exec(select(Municipality.id, col(Municipality.case_prefix))).all())
    assert prefixes["musterstadt"] == "MUS"
    assert len(set(prefixes.values())) == 4
    assert all(p is not None and len(p) == 3 and p.isalpha() for p in prefixes.values())


def test_numbers_count_per_municipality_and_year(store_engine: Engine) -> None:
    _municipalities(store_engine, "musterstadt", "beispielheim")
    numbers = [
        assign_now(store_engine, _case(1), "musterstadt", DAY),
        assign_now(store_engine, _case(2), "musterstadt", DAY),
        assign_now(store_engine, _case(3), "beispielheim", DAY),
        assign_now(store_engine, _case(4), "musterstadt", date(2027, 1, 1)),
        assign_now(store_engine, _case(5), "musterstadt", DAY),
    ]
    assert numbers == [
        "MUS-2026-0001",
        "MUS-2026-0002",
        "BEI-2026-0001",
        "MUS-2027-0001",
        "MUS-2026-0003",
    ]


def test_a_retried_open_gets_the_number_it_got_and_the_counter_stays(
    store_engine: Engine,
) -> None:
    _municipalities(store_engine, "musterstadt")
    first = assign_now(store_engine, _case(1), "musterstadt", DAY)
    assert assign_now(store_engine, _case(1), "musterstadt", DAY) == first
    assert number_of(store_engine, _case(1)) == first
    assert assign_now(store_engine, _case(2), "musterstadt", DAY) == "MUS-2026-0002"


def test_a_rolled_back_open_gives_its_serial_back(store_engine: Engine) -> None:
    _municipalities(store_engine, "musterstadt")
    with Session(store_engine) as session:
        session.begin()
        assert assign(session, _case(1), "musterstadt", DAY) == "MUS-2026-0001"
        session.rollback()
    assert assign_now(store_engine, _case(2), "musterstadt", DAY) == "MUS-2026-0001"


def test_concurrent_opens_get_distinct_consecutive_numbers(store_engine: Engine) -> None:
    _municipalities(store_engine, "musterstadt")

    def open_one(n: int) -> str:
        return assign_now(store_engine, _case(n), "musterstadt", DAY)

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(open_one, range(1, 41)))
    assert sorted(numbers) == [f"MUS-2026-{n:04d}" for n in range(1, 41)]
    with Session(store_engine) as session:
        counter = session.get(CaseNumberCounter, ("musterstadt", 2026))
    assert counter is not None and counter.last_serial == 40


def _opened(case_id: str, given: str, family: str, **changes: object) -> CaseEventBatch:
    return CaseEventBatch(
        case=batch_projection(
            Stage.INTAKE,
            case_id=case_id,
            client_given_name=given,
            client_family_name=family,
            **changes,
        ),
        events=[
            batch_event(
                1,
                CaseEventKind.CASE_OPENED,
                Stage.INTAKE,
                municipality_id="musterstadt",
                centre_id=str(changes.get("centre_id", "mbe-mitte")),
                centre_kind="MBE",
                counsellor_id="berater1",
            )
        ],
    )


def _found(engine: Engine, search: str, centre: str = "mbe-mitte") -> list[str]:
    with Session(engine) as session:
        return [row.case_id for row in session.exec(centre_cases(centre, search=search))]


def test_the_projector_copies_the_number_name_and_birth_date(store_engine: Engine) -> None:
    _municipalities(store_engine, "musterstadt")
    sink = SqlCaseEventSink(store_engine)
    sink.append(
        _opened(
            BATCH_CASE, "Amal", "Haddad", number="MUS-2026-0147", client_birth_date=date(1991, 4, 2)
        )
    )
    with Session(store_engine) as session:
        row = session.get(CaseSummary, BATCH_CASE)
        keys = session.exec(select(CaseNameKey.key).order_by(col(CaseNameKey.key))).all()
    assert row is not None
    assert (row.number, row.client_given_name, row.client_family_name) == (
        "MUS-2026-0147",
        "Amal",
        "Haddad",
    )
    assert row.client_birth_date == date(1991, 4, 2)
    assert row.client_display_name == "Amal H."
    assert list(keys) == ["aml", "hd"]


def test_a_case_without_a_number_in_its_state_gets_one_from_the_read_model(
    store_engine: Engine,
) -> None:
    _municipalities(store_engine, "musterstadt")
    sink = SqlCaseEventSink(store_engine)
    sink.append(_opened(_case(1), "Amal", "Haddad"))  # opened before numbers: none in the state
    second = _opened(_case(1), "Amal", "Haddad")
    second.events[0] = batch_event(2, CaseEventKind.INTAKE_COMPLETED, Stage.ASSESSMENT)
    sink.append(second)
    with Session(store_engine) as session:
        row = session.get(CaseSummary, _case(1))
    # NOW (tests/samples.py) is in 2025; the number is taken once, not per batch.
    assert row is not None and row.number == "MUS-2025-0001"
    assert number_of(store_engine, _case(1)) == "MUS-2025-0001"


def test_a_corrected_name_replaces_the_search_keys(store_engine: Engine) -> None:
    _municipalities(store_engine, "musterstadt")
    sink = SqlCaseEventSink(store_engine)
    sink.append(_opened(_case(1), "Amal", "Hadad"))
    corrected = CaseEventBatch(
        case=batch_projection(
            Stage.ASSESSMENT,
            case_id=_case(1),
            client_given_name="Amal",
            client_family_name="Karimi",
        ),
        events=[batch_event(2, CaseEventKind.INTAKE_COMPLETED, Stage.ASSESSMENT)],
    )
    sink.append(corrected)
    assert _found(store_engine, "Haddad") == []
    assert _found(store_engine, "Karimi") == [_case(1)]


def test_the_search_finds_transliteration_variants_numbers_and_nothing_else(
    store_engine: Engine,
) -> None:
    _municipalities(store_engine, "musterstadt")
    sink = SqlCaseEventSink(store_engine)
    sink.append(_opened(_case(1), "Amal", "Haddad", number="MUS-2026-0001"))
    sink.append(_opened(_case(2), "Mohammed", "Yusuf", number="MUS-2026-0002"))
    sink.append(_opened(_case(3), "Amal", "Karimi", number="MUS-2026-0003"))
    sink.append(_opened(_case(4), "Amal", "Haddad", number="MUS-2026-0004", centre_id="jmd-nord"))
    assert _found(store_engine, "Haddad") == [_case(1)]
    assert _found(store_engine, "hadad") == [_case(1)]
    assert _found(store_engine, "Amal Hadad") == [_case(1)]
    assert sorted(_found(store_engine, "Amal")) == [_case(1), _case(3)]
    assert _found(store_engine, "Muhammad Youssef") == [_case(2)]
    assert _found(store_engine, "Youssef Mohamed") == [_case(2)]
    assert _found(store_engine, "Amal Yusuf") == []
    assert _found(store_engine, "mus-2026-2") == [_case(2)]
    assert _found(store_engine, "MUS-2026-0004") == []  # another centre's
    assert _found(store_engine, "Haddad", centre="jmd-nord") == [_case(4)]
    assert _found(store_engine, _case(3)) == [_case(3)]
    assert _found(store_engine, _case(3).removeprefix("case-").upper()) == [_case(3)]
    # No character is a pattern: a text without letters finds nothing, "Amal%" finds Amal.
    for hostile in ("%", "_", "\\", "%%", "_%_", "'; --", "*", ".", "MUS-2026-%"):
        assert _found(store_engine, hostile) == []
    assert sorted(_found(store_engine, "Amal%")) == [_case(1), _case(3)]
    assert _found(store_engine, "Am_l") == []  # "am" and "l": keys no name here has


def test_the_search_finds_a_word_s_beginning_other_scripts_and_the_serial(
    store_engine: Engine,
) -> None:
    _municipalities(store_engine, "musterstadt")
    sink = SqlCaseEventSink(store_engine)
    sink.append(_opened(_case(1), "Amal", "Haddad", number="MUS-2026-0147"))
    sink.append(_opened(_case(2), "Олена", "Коваленко", number="MUS-2026-0148"))
    sink.append(_opened(_case(3), "أمل", "حداد", number="MUS-2025-0147"))
    sink.append(_opened(_case(4), "Mehmet", "Özdemir", number="MUS-2026-0149"))
    sink.append(_opened(_case(5), "Jürgen", "Strauß", number="MUS-2026-1147"))
    # A word's beginning, three letters up; حداد is keyed as Haddad is.
    assert sorted(_found(store_engine, "Hadd")) == [_case(1), _case(3)]
    assert sorted(_found(store_engine, "Had")) == [_case(1), _case(3)]
    assert _found(store_engine, "Ha") == []  # two letters: the whole word only
    assert _found(store_engine, "Коваленко") == [_case(2)]
    assert _found(store_engine, "олена кова") == [_case(2)]
    assert _found(store_engine, "Kovalenko") == [_case(2)]  # Cyrillic meets its Latin spelling
    assert sorted(_found(store_engine, "حداد")) == [_case(1), _case(3)]
    assert _found(store_engine, "أمل حداد") == [_case(3)]
    assert _found(store_engine, "Oezdemir") == [_case(4)]
    assert _found(store_engine, "Strauss") == [_case(5)]
    assert _found(store_engine, "Juergen") == [_case(5)]
    assert sorted(_found(store_engine, "147")) == [_case(1), _case(3)]  # the serial part
    assert _found(store_engine, "0147") == _found(store_engine, "147")
    assert _found(store_engine, "2026-147") == [_case(1)]
    assert _found(store_engine, "1147") == [_case(5)]
    assert _found(store_engine, "0") == [] and _found(store_engine, "99999999") == []


def test_stored_keys_of_an_older_keying_are_rebuilt_once(store_engine: Engine) -> None:
    """A row keyed before Cyrillic letters had keys (none) and before „ı“ was read as i: the
    worker's start (store/name_key_rebuild.py) rewrites it; a second start writes nothing."""
    _municipalities(store_engine, "musterstadt")
    sink = SqlCaseEventSink(store_engine)
    sink.append(_opened(_case(1), "Олена", "Коваленко", number="MUS-2026-0001"))
    sink.append(_opened(_case(2), "Murat", "Yılmaz", number="MUS-2026-0002"))
    sink.append(_opened(_case(3), "Amal", "Haddad", number="MUS-2026-0003"))
    with Session(store_engine) as session:  # as the keying before 2026-12-01 left them
        for key in session.exec(select(CaseNameKey).where(CaseNameKey.case_id != _case(3))):
            session.delete(key)
        session.add(CaseNameKey(case_id=_case(2), key="mrt"))
        session.add(CaseNameKey(case_id=_case(2), key="lms"))
        session.commit()
    assert _found(store_engine, "Коваленко") == [] and _found(store_engine, "Yilmaz") == []
    assert rebuild_name_keys(store_engine) == 2
    assert _found(store_engine, "Коваленко") == [_case(1)]
    assert _found(store_engine, "Yilmaz") == [_case(2)] == _found(store_engine, "Yılmaz")
    assert _found(store_engine, "Haddad") == [_case(3)]
    assert rebuild_name_keys(store_engine) == 0


def test_migration_0012_numbers_projected_cases_in_opening_order(empty_engine: Engine) -> None:
    db.upgrade(empty_engine, "0011")
    municipalities = table("municipalities", column("id"), column("name"), column("land"))
    summaries = table(
        "case_summaries",
        *(
            column(name)
            for name in (
                "case_id",
                "municipality_id",
                "centre_id",
                "counsellor_id",
                "stage",
                "review_overdue",
                "open_task_count",
                "client_display_name",
                "opened_at",
                "updated_at",
                "last_applied_seq",
            )
        ),
    )

    def row(n: int, municipality_id: str, opened_at: datetime, name: str) -> dict[str, object]:
        return {
            "case_id": _case(n),
            "municipality_id": municipality_id,
            "centre_id": "mbe-mitte",
            "counsellor_id": "berater1",
            "stage": "intake",
            "review_overdue": False,
            "open_task_count": 0,
            "client_display_name": name,
            "opened_at": opened_at,
            "updated_at": opened_at,
            "last_applied_seq": 1,
        }

    with empty_engine.begin() as connection:
        connection.execute(
            municipalities.insert(),
            [
                {"id": "musterstadt", "name": "Musterstadt", "land": "NW"},
                {"id": "musterdorf", "name": "Musterdorf", "land": "NW"},
            ],
        )
        connection.execute(
            summaries.insert(),
            [
                row(1, "musterstadt", datetime(2026, 2, 1, tzinfo=UTC), "Amal H."),
                row(2, "musterstadt", datetime(2025, 12, 31, 23, 30, tzinfo=UTC), "Yusuf K."),
                row(3, "musterstadt", datetime(2026, 1, 5, tzinfo=UTC), "Olena"),
                row(4, "musterdorf", datetime(2026, 1, 6, tzinfo=UTC), "Amal K."),
            ],
        )
    db.upgrade(empty_engine)
    with Session(empty_engine) as session:
        rows = {r.case_id: r for r in session.exec(select(CaseSummary))}
        prefixes = dict(session.exec(select(Municipality.id, col(Municipality.case_prefix))).all())
    # Derived in the order of the ids: the first takes the first three letters.
    assert prefixes == {"musterdorf": "MUS", "musterstadt": "MUT"}
    # 23:30 UTC on New Year's Eve is 00:30 in Germany: a case of 2026, and the first.
    assert [rows[_case(n)].number for n in (2, 3, 1, 4)] == [
        "MUT-2026-0001",
        "MUT-2026-0002",
        "MUT-2026-0003",
        "MUS-2026-0001",
    ]
    assert rows[_case(1)].client_given_name == "Amal"
    assert _found(empty_engine, "Amal") == [_case(1), _case(4)]  # newest change first
    assert _found(empty_engine, "Jussuf") == [_case(2)]
    # The counter goes on where the migration left it.
    assert assign_now(empty_engine, _case(9), "musterstadt", DAY) == "MUT-2026-0004"


def test_a_case_closed_as_duplicate_is_in_no_figure(store_engine: Engine) -> None:
    """The closure facts and the report's closures: a duplicate writes no fact, and the
    report's reasons leave it out (store/fact_writer.py, store/reads/evaluation.py)."""
    _municipalities(store_engine, "musterstadt")
    sink = SqlCaseEventSink(store_engine)
    for n, reason in ((1, "duplicate"), (2, "no_contact")):
        sink.append(_opened(_case(n), "Amal", "Haddad"))
        closed = CaseEventBatch(
            case=batch_projection(Stage.CLOSED, case_id=_case(n)),
            events=[batch_event(2, CaseEventKind.CLOSED, Stage.CLOSED, reason=reason)],
        )
        sink.append(closed)
    with Session(store_engine) as session:
        facts = session.exec(select(ClosureFact.case_id, ClosureFact.reason)).all()
    assert [(case_id, str(reason)) for case_id, reason in facts] == [(_case(2), "no_contact")]
    scope = ReportScope(
        municipalities=("musterstadt",),
        centre_id=None,
        start=NOW - timedelta(days=1),
        end=NOW + timedelta(days=1),
        month_starts=(start_of_german_month(NOW),),
        now=NOW + timedelta(days=1),
    )
    with store_engine.connect() as connection:
        counts = fact_counts(connection, scope)
    assert ClosureReason.DUPLICATE not in counts.closures
    assert counts.closures[ClosureReason.NO_CONTACT] == 1
    assert sum(counts.closures.values()) == 1
