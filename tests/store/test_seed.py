"""The demo data of DESIGN.md on both backends: what it contains, that seeding twice (or into a
store in use) changes nothing, and that production refuses it."""

import hashlib

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, select

from domain.enums import ActorKind, CentreKind
from domain.inbound import InboundStatus
from store import seed
from store.directory import SqlDirectory
from store.models import (
    Centre,
    InboundReferral,
    Municipality,
    PartnerAgency,
    Role,
    RuleSetStatus,
    RuleSetVersion,
    User,
)
from store.users import authenticate, create_user

# ROUTING.md: every measure a partner (not the centre itself) carries out, by actor kind.
ROUTED_MEASURES = {
    ActorKind.LANGUAGE_COURSE_PROVIDER: {
        "literacy_course",
        "youth_integration_course",
        "parent_integration_course",
        "integration_course",
        "job_language_course",
    },
    ActorKind.JOBCENTER: {"placement"},
    ActorKind.EMPLOYMENT_AGENCY: {"placement", "career_guidance"},
    ActorKind.RECOGNITION_COUNSELLING: {"recognition_counselling"},
    ActorKind.RECOGNITION_OFFICE: {
        "recognition_procedure",
        "equivalence_assessment",
        "statement_of_comparability",
    },
    ActorKind.CHILDCARE_OFFICE: {"childcare_place"},
    ActorKind.FOREIGNERS_AUTHORITY: {"residence_clarification", "residence_information"},
    ActorKind.YOUTH_MIGRATION_SERVICE: {"transfer_suggestion"},
}
DESIGN_ACCOUNTS = {
    "berater1",
    "berater2",
    "koordination",
    "sprachkurs",
    "jobcenter",
    "arbeitsagentur",
    "anerkennung",
    "auslaenderbehoerde",
    "kita",
    "jmd",
    "admin",
}


def _count(session: Session, table: type[SQLModel]) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def test_seed_writes_the_demo_directory(store_engine: Engine) -> None:
    assert seed.seed_demo(store_engine, environment="development") is True
    with Session(store_engine) as session:
        municipality = session.get(Municipality, "musterstadt")
        assert municipality is not None and municipality.land == "NW"
        centres = {c.id: c.kind for c in session.exec(select(Centre))}
        assert centres == {
            "mbe-mitte": CentreKind.MBE,
            "mbe-nord": CentreKind.MBE,
            "jmd-musterstadt": CentreKind.JMD,
        }
        partners = {p.kind: p for p in session.exec(select(PartnerAgency))}
        assert _count(session, PartnerAgency) == len(partners) == len(ActorKind) - 1
        assert {kind: set(p.measures) for kind, p in partners.items()} == ROUTED_MEASURES
        assert all(p.active and p.municipality_id == "musterstadt" for p in partners.values())


def test_seed_writes_one_account_per_role_and_partner_all_with_password_demo(
    store_engine: Engine,
) -> None:
    seed.seed_demo(store_engine, environment="development")
    with Session(store_engine) as session:
        accounts = {u.username: u for u in session.exec(select(User))}
        extra = {"anerkennungsberatung", "auswertung", "datenschutz", "regelwerk"}
        assert DESIGN_ACCOUNTS | extra == set(accounts)
        scope = {name: (u.role, u.centre_id, u.municipality_id) for name, u in accounts.items()}
        assert scope["berater1"] == (Role.COUNSELLOR, "mbe-mitte", None)
        assert scope["berater2"] == (Role.COUNSELLOR, "mbe-nord", None)
        assert scope["koordination"] == (Role.SUPERVISOR, None, "musterstadt")
        assert scope["admin"] == (Role.ADMIN, None, None)
        # The evaluator has no scope column and no municipality rows: every municipality.
        assert scope["auswertung"] == (Role.EVALUATOR, None, None)
        assert scope["datenschutz"] == (Role.DATA_PROTECTION, None, "musterstadt")
        assert scope["regelwerk"] == (Role.RULE_EDITOR, None, "musterstadt")
        partner_of = {u.username: u.partner_id for u in accounts.values() if u.role is Role.PARTNER}
        kind_of = {p.id: p.kind for p in session.exec(select(PartnerAgency))}
        assert {name: kind_of[pid] for name, pid in partner_of.items() if pid} == {
            "sprachkurs": ActorKind.LANGUAGE_COURSE_PROVIDER,
            "jobcenter": ActorKind.JOBCENTER,
            "arbeitsagentur": ActorKind.EMPLOYMENT_AGENCY,
            "anerkennung": ActorKind.RECOGNITION_OFFICE,
            "anerkennungsberatung": ActorKind.RECOGNITION_COUNSELLING,
            "auslaenderbehoerde": ActorKind.FOREIGNERS_AUTHORITY,
            "kita": ActorKind.CHILDCARE_OFFICE,
            "jmd": ActorKind.YOUTH_MIGRATION_SERVICE,
        }
        # argon2 is slow: the demo password is hashed once and shared, so one login per role
        # proves every account's password.
        assert len({u.password_hash for u in accounts.values()}) == 1
        for username in ("berater1", "koordination", "sprachkurs", "admin", "auswertung"):
            assert authenticate(session, username, seed.DEMO_PASSWORD) is not None, username


def test_the_seeded_directory_serves_partner_resolution(store_engine: Engine) -> None:
    seed.seed_demo(store_engine, environment="development")
    directory = SqlDirectory(store_engine)
    partners = directory.partners("musterstadt")
    assert {p.kind for p in partners} == set(ActorKind) - {ActorKind.MIGRATION_COUNSELLING}
    assert all(p.active and p.open_referrals == 0 for p in partners)
    assert directory.centre_kind("jmd-musterstadt") is CentreKind.JMD
    assert directory.municipality_of_centre("mbe-nord") == "musterstadt"
    assert directory.land_of("musterstadt") == "NW"


def test_seeding_twice_changes_nothing(store_engine: Engine) -> None:
    assert seed.seed_demo(store_engine, environment="development") is True
    with Session(store_engine) as session:
        before = [_count(session, t) for t in (Municipality, Centre, PartnerAgency, User)]
    assert seed.seed_demo(store_engine, environment="development") is False
    with Session(store_engine) as session:
        assert [_count(session, t) for t in (Municipality, Centre, PartnerAgency, User)] == before


def test_a_store_in_use_is_not_seeded(store_engine: Engine) -> None:
    with Session(store_engine) as session:
        create_user(session, "root", Role.ADMIN, password="geheim")
        session.commit()
    assert seed.seed_demo(store_engine, environment="development") is False
    with Session(store_engine) as session:
        assert _count(session, Municipality) == 0
        assert _count(session, User) == 1


@pytest.mark.parametrize("environment", ["production", " Production "])
def test_seeding_is_refused_in_production(
    store_engine: Engine,
    environment: str,
) -> None:
    with pytest.raises(seed.SeedRefused, match="never seeded in production"):
        seed.seed_demo(store_engine, environment=environment)
    with Session(store_engine) as session:
        assert _count(session, Municipality) == _count(session, User) == 0


def test_the_demo_holds_open_referrals_from_the_jobcenter_to_mbe_mitte_once(
    store_engine: Engine,
) -> None:
    seed.seed_demo(store_engine, environment="development")
    seed.seed_demo(store_engine, environment="development")
    with Session(store_engine) as session:
        rows = session.exec(select(InboundReferral)).all()
    assert len(rows) == len(seed.DEMO_INBOUND) == 2
    for row in rows:
        assert (row.partner_id, row.partner_kind) == ("jobcenter-musterstadt", ActorKind.JOBCENTER)
        assert (row.centre_id, row.municipality_id) == ("mbe-mitte", "musterstadt")
        assert row.status is InboundStatus.OPEN and row.case_id is None
        assert row.given_name and row.reason


def test_seed_publishes_musterstadts_packaged_rules_as_its_version_1(store_engine: Engine) -> None:
    seed.seed_demo(store_engine, environment="development")
    with Session(store_engine) as session:
        [row] = session.exec(select(RuleSetVersion)).all()
    assert (row.municipality_id, row.version, row.status) == (
        "musterstadt",
        1,
        RuleSetStatus.PUBLISHED,
    )
    assert row.override_text == seed.demo_rules_text()
    assert "train-youth-agency" in row.override_text
    assert row.content_hash == hashlib.sha256(row.override_text.encode()).hexdigest()


def test_a_demo_store_from_before_rule_sets_gets_musterstadts_rules_once(
    store_engine: Engine,
) -> None:
    seed.seed_demo(store_engine, environment="development")
    with Session(store_engine) as session:
        for row in session.exec(select(RuleSetVersion)).all():
            session.delete(row)
        session.commit()
    assert seed.seed_demo(store_engine, environment="development") is False
    assert seed.seed_demo(store_engine, environment="development") is False
    with Session(store_engine) as session:
        rows = session.exec(select(RuleSetVersion)).all()
    assert [(r.municipality_id, r.version, r.status) for r in rows] == [
        ("musterstadt", 1, RuleSetStatus.PUBLISHED)
    ]
