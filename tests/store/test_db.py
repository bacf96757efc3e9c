"""The store's engine, migrations and column types, with the same assertions on SQLite and on
PostgreSQL (the PostgreSQL runs skip when LOTSE_TEST_POSTGRES_URL is unset; the stores come
from tests/store/conftest.py)."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Engine, column, inspect, table, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, SQLModel, col, select

from domain.clocks import Clocks
from domain.enums import ActorKind, CentreKind, NeedKind
from domain.months import start_of_german_month
from domain.referral import ReferralStatus, referral_deadlines
from domain.workdays import DEFAULT_LAND, add_working_days
from store import db
from store.evaluation_cells import EvaluationStaleMonth
from store.models import Centre, Role, User
from store.projections import CaseSummary, ReferralSummary, ReviewRecord, client_display_name
from store.testing import postgres_schema
from store.types import UTCDateTime

STORE_TABLES = {
    "evaluation_counts",
    "evaluation_acknowledge_hours",
    "evaluation_survey",
    "evaluation_partners",
    "evaluation_stale_months",
    "municipalities",
    "centres",
    "partners",
    "users",
    "oidc_links",
    "oidc_pending_logins",
    "case_summaries",
    "referrals",
    "tasks",
    "reviews",
    "audit_events",
    "case_events",
    "agreement_documents",
    "referral_notes",
    "referral_steps",
    "inbound_referrals",
    "notifications",
    "mail_deliveries",
    "agreement_versions",
    "case_closures",
    "need_facts",
    "rule_hits",
    "evaluator_municipalities",
    "case_number_counters",
    "case_numbers",
    "case_name_keys",
    "data_keys",  # migration 0013
    "case_erasures",  # migration 0014
    "rule_sets",  # migration 0018
}
T0 = datetime(2025, 3, 28, 23, 30, tzinfo=UTC)  # across the clock change and a day boundary


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_from_empty_reaches_head_and_matches_the_models(empty_engine: Engine) -> None:
    assert db.current_revision(empty_engine) is None
    db.upgrade(empty_engine)
    assert db.current_revision(empty_engine) == db.head_revision() is not None
    assert _tables(empty_engine) == STORE_TABLES | {"alembic_version"}
    # The hand-written migration creates exactly what the models declare (types, indexes, keys).
    with empty_engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []


def test_upgrade_twice_is_a_no_op_and_downgrade_to_base_removes_every_table(
    store_engine: Engine,
) -> None:
    db.upgrade(store_engine)
    assert db.current_revision(store_engine) == db.head_revision()
    db.downgrade(store_engine, "base")
    assert _tables(store_engine) == {"alembic_version"}
    assert db.current_revision(store_engine) is None
    db.upgrade(store_engine)
    assert _tables(store_engine) == STORE_TABLES | {"alembic_version"}


def test_a_failing_migration_leaves_the_database_as_it_was(
    empty_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_upgrade = command.upgrade

    def upgrade_then_fail(config: Config, revision: str) -> None:
        real_upgrade(config, revision)
        raise RuntimeError("power cut")

    monkeypatch.setattr(command, "upgrade", upgrade_then_fail)
    with pytest.raises(RuntimeError, match="power cut"):
        db.upgrade(empty_engine)
    assert _tables(empty_engine) == set()
    monkeypatch.undo()
    db.upgrade(empty_engine)
    assert db.current_revision(empty_engine) == db.head_revision()


def test_upgrade_by_url_finds_the_migrations_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    url = f"sqlite:///{tmp_path / 'by-url.sqlite'}"
    db.upgrade(url)
    engine = db.engine_from_url(url)
    try:
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", [None, ""])
def test_no_url_means_a_wal_sqlite_file_in_the_data_dir_with_foreign_keys(
    tmp_path: Path, url: str | None
) -> None:
    data_dir = tmp_path / "data" / "nested"
    engine = db.make_engine(url, data_dir)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert (data_dir / db.SQLITE_FILE).is_file()
    finally:
        engine.dispose()


# Friday 3 January 2025, 10:00 in Germany: Epiphany (Monday the 6th) is a holiday in Bavaria,
# not in North Rhine-Westphalia, so the two Länder's deadlines differ by a working day.
BEFORE_EPIPHANY = datetime(2025, 1, 3, 9, 0, tzinfo=UTC)


def test_referrals_from_before_0004_get_the_deadlines_the_pages_computed(
    empty_engine: Engine,
) -> None:
    db.upgrade(empty_engine, "0003")
    referrals = table(
        "referrals",
        *(
            column(name)
            for name in (
                "id",
                "case_id",
                "municipality_id",
                "route_id",
                "partner_id",
                "actor_kind",
                "measure",
                "need_kind",
                "status",
                "escalated",
                "client_first_name",
                "last_applied_seq",
            )
        ),
        column("languages", JSON),
        column("dispatched_at", UTCDateTime),
        column("updated_at", UTCDateTime),
    )
    municipalities = table("municipalities", column("id"), column("name"), column("land"))
    row = {
        "case_id": "case-1",
        "route_id": "r1",
        "partner_id": "sprachschule-mitte",
        "actor_kind": ActorKind.LANGUAGE_COURSE_PROVIDER.value,
        "measure": "Integrationskurs",
        "need_kind": NeedKind.LANGUAGE.value,
        "status": ReferralStatus.DISPATCHED.value,
        "escalated": False,
        "client_first_name": "Amina",
        "languages": ["ar"],
        "last_applied_seq": 1,
        "dispatched_at": BEFORE_EPIPHANY,
        "updated_at": BEFORE_EPIPHANY,
    }
    with empty_engine.begin() as connection:
        connection.execute(
            municipalities.insert(),
            [
                {"id": "musterstadt", "name": "Musterstadt", "land": "NW"},
                {"id": "bergdorf", "name": "Bergdorf", "land": "BY"},
            ],
        )
        connection.execute(
            referrals.insert(),
            [
                {**row, "id": "ref-nw", "municipality_id": "musterstadt"},
                {**row, "id": "ref-by", "municipality_id": "bergdorf"},
                # No municipality row (the directory and the read model are written apart).
                {**row, "id": "ref-unknown", "municipality_id": "nirgendwo"},
            ],
        )
    db.upgrade(empty_engine)
    with Session(empty_engine) as session:
        found = {r.id: r for r in session.exec(select(ReferralSummary)).all()}
    expected = {
        "ref-nw": referral_deadlines(BEFORE_EPIPHANY, "NW", Clocks()),
        "ref-by": referral_deadlines(BEFORE_EPIPHANY, "BY", Clocks()),
        "ref-unknown": referral_deadlines(BEFORE_EPIPHANY, DEFAULT_LAND, Clocks()),
    }
    for referral_id, deadlines in expected.items():
        assert (
            found[referral_id].acknowledge_by,
            found[referral_id].escalate_at,
            found[referral_id].expires_at,
        ) == (deadlines.acknowledge_by, deadlines.escalate_at, deadlines.expires_at)
    # The Land's holidays count: Bavaria's answer is due a working day later.
    assert expected["ref-by"].acknowledge_by > expected["ref-nw"].acknowledge_by
    # What the partner's inbox and the dashboard did before 0004 (api/ui/sla.py): overdue from
    # five working days after dispatch on.
    assert expected["ref-nw"].acknowledge_by == add_working_days(BEFORE_EPIPHANY, 5, "NW")


def test_referrals_from_before_0008_get_no_facts_their_consent_did_not_name(
    empty_engine: Engine,
) -> None:
    db.upgrade(empty_engine, "0007")
    referrals = table(
        "referrals",
        *(
            column(name)
            for name in (
                "id",
                "case_id",
                "municipality_id",
                "route_id",
                "partner_id",
                "actor_kind",
                "measure",
                "need_kind",
                "status",
                "escalated",
                "client_first_name",
                "last_applied_seq",
            )
        ),
        column("languages", JSON),
        column("dispatched_at", UTCDateTime),
        column("updated_at", UTCDateTime),
    )
    with empty_engine.begin() as connection:
        connection.execute(
            referrals.insert(),
            {
                "id": "case-1-ref-1",
                "case_id": "case-1",
                "municipality_id": "musterstadt",
                "route_id": "r2",
                "partner_id": "jobcenter-musterstadt",
                "actor_kind": ActorKind.JOBCENTER.value,
                "measure": "placement",
                "need_kind": NeedKind.EMPLOYMENT.value,
                "status": ReferralStatus.DISPATCHED.value,
                "escalated": False,
                "client_first_name": "Amina",
                "languages": ["ar"],
                "last_applied_seq": 4,
                "dispatched_at": T0,
                "updated_at": T0,
            },
        )
    db.upgrade(empty_engine)
    with Session(empty_engine) as session:
        row = session.get(ReferralSummary, "case-1-ref-1")
    # The common minimum stays; no family name or birth date appears for a Jobcenter.
    assert row is not None and (row.client_first_name, row.languages) == ("Amina", ["ar"])
    assert row.partner_view == {}


def test_foreign_keys_are_enforced(store_engine: Engine) -> None:
    with Session(store_engine) as session:
        session.add(
            Centre(id="mbe-x", name="MBE X", kind=CentreKind.MBE, municipality_id="nowhere")
        )
        with pytest.raises(IntegrityError):
            session.commit()


def _case(case_id: str, **changes: object) -> CaseSummary:
    values: dict[str, object] = {
        "case_id": case_id,
        "municipality_id": "musterstadt",
        "centre_id": "mbe-mitte",
        "counsellor_id": "berater1",
        "stage": "active",
        "client_display_name": client_display_name("Amina", "Khalil"),
        "opened_at": T0,
        "updated_at": T0,
    }
    values.update(changes)
    return CaseSummary.model_validate(values)


def test_instants_come_back_aware_in_utc_whatever_zone_went_in(store_engine: Engine) -> None:
    berlin_summer = timezone(timedelta(hours=2))
    new_york = timezone(timedelta(hours=-4))
    due = datetime(2025, 7, 1, 9, 0, tzinfo=berlin_summer)
    with Session(store_engine) as session:
        session.add(_case("case-a", next_review_due=due, updated_at=T0.astimezone(new_york)))
        # Later instant, earlier wall-clock time: the order must follow the instant.
        session.add(_case("case-b", next_review_due=datetime(2025, 7, 1, 8, 30, tzinfo=UTC)))
        session.commit()
    with Session(store_engine) as session:
        if store_engine.dialect.name == "postgresql":
            # PostgreSQL answers in the session's zone; the store must still hand out UTC.
            session.connection().exec_driver_sql("SET TIME ZONE 'America/New_York'")
        rows = session.exec(select(CaseSummary).order_by(col(CaseSummary.next_review_due))).all()
        assert [row.case_id for row in rows] == ["case-a", "case-b"]
        first = rows[0]
        assert first.next_review_due == due
        assert first.next_review_due is not None and first.next_review_due.tzinfo is UTC
        assert first.updated_at == T0 and first.updated_at.tzinfo is UTC
        due_before = session.exec(
            select(CaseSummary.case_id).where(
                col(CaseSummary.next_review_due)
                < datetime(2025, 7, 1, 10, 15, tzinfo=berlin_summer)
            )
        ).all()
        assert due_before == ["case-a"]


def test_a_naive_datetime_is_refused(store_engine: Engine) -> None:
    with Session(store_engine) as session:
        session.add(_case("case-naive", opened_at=datetime(2025, 1, 1, 12, 0)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()


def _referral(status: Any) -> ReferralSummary:
    # The constructor, not model_validate: table models skip validation there, so a bad value
    # reaches the column type, which must refuse it on its own.
    return ReferralSummary(
        id="case-a-ref-1",
        case_id="case-a",
        municipality_id="musterstadt",
        route_id="route-1",
        partner_id="sprachschule-musterstadt",
        actor_kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
        measure="integration_course",
        need_kind=NeedKind.LANGUAGE,
        status=status,
        dispatched_at=T0,
        client_first_name="Amina",
        languages=["ar", "fr"],
        updated_at=T0,
    )


def test_enums_are_stored_as_their_values_and_json_lists_round_trip(store_engine: Engine) -> None:
    with Session(store_engine) as session:
        session.add(_referral(ReferralStatus.DISPATCHED))
        session.commit()
    with Session(store_engine) as session:
        raw = session.connection().execute(text("SELECT actor_kind, status FROM referrals")).one()
        assert tuple(raw) == ("language_course_provider", "dispatched")
        referral = session.exec(select(ReferralSummary)).one()
        assert referral.actor_kind is ActorKind.LANGUAGE_COURSE_PROVIDER
        assert referral.status is ReferralStatus.DISPATCHED
        assert referral.languages == ["ar", "fr"]


def test_a_value_outside_the_enum_is_refused(store_engine: Engine) -> None:
    with Session(store_engine) as session:
        session.add(_referral("lost_in_the_post"))
        with pytest.raises(StatementError, match="lost_in_the_post"):
            session.commit()


@pytest.mark.parametrize(
    ("given", "family", "shown"),
    [
        ("Amina", "Khalil", "Amina K."),
        ("  Jean  Luc ", " öztürk", "Jean Luc Ö."),
        ("Ali", "", "Ali"),
    ],
)
def test_client_display_name_keeps_only_the_family_initial(
    given: str, family: str, shown: str
) -> None:
    assert client_display_name(given, family) == shown


def test_concurrent_upgrades_on_postgresql_wait_for_each_other(postgres_url: str) -> None:
    # API and workers may all run `upgrade` on start against one PostgreSQL database: separate
    # processes, so only the database can make them take turns.
    with postgres_schema(postgres_url) as scoped_url:
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=3, mp_context=spawn) as pool:
            for future in [pool.submit(db.upgrade, scoped_url) for _ in range(3)]:
                future.result()
        engine = db.engine_from_url(scoped_url)
        try:
            assert db.current_revision(engine) == db.head_revision()
        finally:
            engine.dispose()


def test_concurrent_upgrades_in_one_process_take_turns(store_engine: Engine) -> None:
    db.downgrade(store_engine, "base")
    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(db.upgrade, store_engine) for _ in range(3)]:
            future.result()
    assert db.current_revision(store_engine) == db.head_revision()


def test_directory_rows_from_before_0005_keep_their_data_and_get_empty_contacts(
    empty_engine: Engine,
) -> None:
    db.upgrade(empty_engine, "0004")
    municipalities = table("municipalities", column("id"), column("name"), column("land"))
    centres = table(
        "centres", column("id"), column("name"), column("kind"), column("municipality_id")
    )
    users = table(
        "users",
        column("username"),
        column("role"),
        column("centre_id"),
        column("password_hash"),
        column("active"),
    )
    with empty_engine.begin() as connection:
        connection.execute(
            municipalities.insert(), [{"id": "musterstadt", "name": "Musterstadt", "land": "NW"}]
        )
        connection.execute(
            centres.insert(),
            [
                {
                    "id": "mbe-mitte",
                    "name": "MBE Mitte",
                    "kind": CentreKind.MBE.value,
                    "municipality_id": "musterstadt",
                }
            ],
        )
        connection.execute(
            users.insert(),
            [
                {
                    "username": "berater1",
                    "role": "counsellor",
                    "centre_id": "mbe-mitte",
                    "password_hash": "x",
                    "active": True,
                }
            ],
        )
    db.upgrade(empty_engine)
    with Session(empty_engine) as session:
        centre = session.get(Centre, "mbe-mitte")
        user = session.get(User, "berater1")
    assert centre is not None and user is not None
    assert (centre.name, centre.address, centre.phone, centre.email) == ("MBE Mitte", "", "", "")
    assert (user.role, user.display_name, user.phone, user.email) == (Role.COUNSELLOR, "", "", "")
    # And back: 0005's downgrade drops exactly its columns, the rows stay.
    db.downgrade(empty_engine, "0004")
    with empty_engine.connect() as connection:
        assert connection.execute(select(centres.c.name)).scalar_one() == "MBE Mitte"
        assert "email" not in {c["name"] for c in inspect(connection).get_columns("centres")}


def test_reviews_before_0011_learn_their_next_review_here_and_every_month_is_stale(
    empty_engine: Engine,
) -> None:
    """A client reviewed at mbe-mitte, then at mbe-nord, then at mbe-mitte again: her first
    review's next one there is the third. Every month from her first review on is to be
    counted into the evaluation's cells by the first report."""
    db.upgrade(empty_engine, "0010")
    reviews = table(
        "reviews",
        *(column(name) for name in ("case_id", "seq", "municipality_id", "centre_id")),
        column("recorded_at", UTCDateTime),
        column("goal_progress", JSON),
    )
    centres = ["mbe-mitte", "mbe-nord", "mbe-mitte"]
    with empty_engine.begin() as connection:
        for number, centre in enumerate(centres):
            connection.execute(
                reviews.insert(),
                {
                    "case_id": "case-1",
                    "seq": 10 * (number + 1),
                    "municipality_id": "musterstadt",
                    "centre_id": centre,
                    "recorded_at": T0 + timedelta(days=40 * number),
                    "goal_progress": [],
                },
            )
    db.upgrade(empty_engine)
    with Session(empty_engine) as session:
        found = session.exec(select(ReviewRecord).order_by(col(ReviewRecord.seq))).all()
        stale = session.exec(
            select(EvaluationStaleMonth.month).where(
                EvaluationStaleMonth.municipality_id == "musterstadt"
            )
        ).all()
    assert [r.next_here_recorded_at for r in found] == [found[2].recorded_at, None, None]
    # T0 is 00:30 on 29 March in Germany: from March 2025 to this month, each once.
    first = datetime(2025, 2, 28, 23, 0, tzinfo=UTC)
    assert min(stale) == first and len(stale) == len(set(stale))
    assert max(stale) == start_of_german_month(datetime.now(UTC))
