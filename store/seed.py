"""The demo data of DESIGN.md, seeded by `lotse up` into an empty store.

One municipality (Musterstadt, NRW), its three centres, one partner agency of every actor kind
but `migration_counselling` (that is the centre itself) with the measures ROUTING.md gives that
kind, one account per role and partner, all with the password `demo`, two open referrals
from the Jobcenter to MBE Mitte (`berater1`'s page "Eingehende Vermittlungen" is not empty), and
Musterstadt's own routing rules as its published rule set version 1.
Never in production: a known password on a real system is an open door, so `seed_demo` refuses
there outright.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

from sqlalchemy import Engine
from sqlmodel import Session, select

from domain.enums import ActorKind, CentreKind
from domain.inbound import InboundReferralRequest
from store import inbound
from store.models import (
    Centre,
    Municipality,
    PartnerAgency,
    Role,
    RuleSetStatus,
    RuleSetVersion,
    User,
)
from store.rule_sets import content_hash
from store.users import create_user, hash_password

DEMO_PASSWORD = "demo"
PRODUCTION = "production"
MUNICIPALITY_ID = "musterstadt"


class SeedRefused(RuntimeError):
    """Demo data was asked for where it must never be (production)."""


@dataclass(frozen=True)
class DemoPartner:
    account: str  # the partner user's username
    id: str
    name: str
    kind: ActorKind
    measures: tuple[str, ...]


# The measures are those ROUTING.md routes to each kind; the youth migration service receives
# the `age-jmd` transfer suggestion and is the same agency as the centre jmd-musterstadt.
DEMO_PARTNERS = (
    DemoPartner(
        "sprachkurs",
        "sprachschule-musterstadt",
        "Sprachschule Musterstadt (Integrationskursträger)",
        ActorKind.LANGUAGE_COURSE_PROVIDER,
        (
            "literacy_course",
            "youth_integration_course",
            "parent_integration_course",
            "integration_course",
            "job_language_course",
        ),
    ),
    DemoPartner(
        "jobcenter",
        "jobcenter-musterstadt",
        "Jobcenter Musterstadt",
        ActorKind.JOBCENTER,
        ("placement",),
    ),
    DemoPartner(
        "arbeitsagentur",
        "arbeitsagentur-musterstadt",
        "Agentur für Arbeit Musterstadt",
        ActorKind.EMPLOYMENT_AGENCY,
        ("placement", "career_guidance"),
    ),
    DemoPartner(
        "anerkennung",
        "anerkennungsstelle-musterstadt",
        "Anerkennungsstelle Musterstadt",
        ActorKind.RECOGNITION_OFFICE,
        ("recognition_procedure", "equivalence_assessment", "statement_of_comparability"),
    ),
    DemoPartner(
        "anerkennungsberatung",
        "anerkennungsberatung-musterstadt",
        "Anerkennungsberatung Musterstadt (IQ Netzwerk)",
        ActorKind.RECOGNITION_COUNSELLING,
        ("recognition_counselling",),
    ),
    DemoPartner(
        "auslaenderbehoerde",
        "auslaenderbehoerde-musterstadt",
        "Ausländerbehörde Musterstadt",
        ActorKind.FOREIGNERS_AUTHORITY,
        ("residence_clarification", "residence_information"),
    ),
    DemoPartner(
        "kita",
        "jugendamt-musterstadt",
        "Jugendamt Musterstadt (Kita-Platzvergabe)",
        ActorKind.CHILDCARE_OFFICE,
        ("childcare_place",),
    ),
    DemoPartner(
        "jmd",
        "jmd-musterstadt",
        "Jugendmigrationsdienst Musterstadt",
        ActorKind.YOUTH_MIGRATION_SERVICE,
        ("transfer_suggestion",),
    ),
)


@dataclass(frozen=True)
class DemoCentre:
    id: str
    name: str
    kind: CentreKind
    address: str
    phone: str
    email: str


# Fictional addresses and numbers: Musterstadt's area code is one no real place uses, and
# `.example` is reserved (RFC 2606), so a demo mail can never reach anybody.
DEMO_CENTRES = (
    DemoCentre(
        "mbe-mitte",
        "MBE Musterstadt-Mitte",
        CentreKind.MBE,
        "Marktplatz 4, 12345 Musterstadt",
        "01234 5678-210",
        "mbe-mitte@musterstadt.example",
    ),
    DemoCentre(
        "mbe-nord",
        "MBE Musterstadt-Nord",
        CentreKind.MBE,
        "Nordring 17, 12347 Musterstadt",
        "01234 5678-310",
        "mbe-nord@musterstadt.example",
    ),
    DemoCentre(
        "jmd-musterstadt",
        "Jugendmigrationsdienst Musterstadt",
        CentreKind.JMD,
        "Bahnhofstraße 21, 12345 Musterstadt",
        "01234 5678-410",
        "jmd@musterstadt.example",
    ),
)


@dataclass(frozen=True)
class DemoStaff:
    role: Role
    centre_id: str | None
    municipality_id: str | None
    display_name: str
    phone: str


# username -> the account; partner accounts come from DEMO_PARTNERS.
DEMO_STAFF: dict[str, DemoStaff] = {
    "berater1": DemoStaff(Role.COUNSELLOR, "mbe-mitte", None, "Katrin Schulte", "01234 5678-211"),
    "berater2": DemoStaff(Role.COUNSELLOR, "mbe-nord", None, "Murat Yılmaz", "01234 5678-311"),
    "koordination": DemoStaff(
        Role.SUPERVISOR, None, MUNICIPALITY_ID, "Dr. Sabine Krüger", "01234 5678-100"
    ),
    "admin": DemoStaff(Role.ADMIN, None, None, "Lotse-Betrieb Musterstadt", ""),
    # The Land's evaluation: aggregates of every municipality, nothing else.
    "auswertung": DemoStaff(Role.EVALUATOR, None, None, "Landesauswertung Integration", ""),
    # Musterstadt's data protection officer: erasure, the client's copy, the audit log.
    "datenschutz": DemoStaff(
        Role.DATA_PROTECTION, None, MUNICIPALITY_ID, "Datenschutzbeauftragte Musterstadt", ""
    ),
    # Musterstadt's rule editor: drafts, tries and publishes the municipality's own rules.
    "regelwerk": DemoStaff(Role.RULE_EDITOR, None, MUNICIPALITY_ID, "Regelwerk Musterstadt", ""),
}
# The contact person of each demo partner's account (by account name).
DEMO_PARTNER_CONTACTS = {
    "sprachkurs": "Petra Lange",
    "jobcenter": "Thomas Becker",
    "arbeitsagentur": "Aylin Demir",
    "anerkennung": "Jörg Hoffmann",
    "anerkennungsberatung": "Olena Kovalenko",
    "auslaenderbehoerde": "Stefan Wagner",
    "kita": "Miriam Schäfer",
    "jmd": "Jonas Richter",
}


def seed_demo(engine: Engine, *, environment: str) -> bool:
    """Write the demo data into an empty, migrated store; True when it did. A store that holds
    any municipality or user is left alone (False), so `lotse up` may call this on every start.
    Raises `SeedRefused` when `environment` is production."""
    if environment.strip().lower() == PRODUCTION:
        raise SeedRefused(
            "demo data (password 'demo' for every account) is never seeded in production"
        )
    with Session(engine) as session:
        if _holds_data(session):
            # A demo store from before migration 0018 gets Musterstadt's rules as data once,
            # so it routes as it did when they were a packaged file.
            if session.get(Municipality, MUNICIPALITY_ID) is not None and not _has_rules(session):
                _add_demo_rules(session)
                session.commit()
            return False
        _add_directory(session)
        # argon2 is slow on purpose: one hash serves every demo account.
        demo_hash = hash_password(DEMO_PASSWORD)
        for username, staff in DEMO_STAFF.items():
            create_user(
                session,
                username,
                staff.role,
                password_hash=demo_hash,
                centre_id=staff.centre_id,
                municipality_id=staff.municipality_id,
                display_name=staff.display_name,
                phone=staff.phone,
                email=_demo_email(username),
            )
        for partner in DEMO_PARTNERS:
            create_user(
                session,
                partner.account,
                Role.PARTNER,
                password_hash=demo_hash,
                partner_id=partner.id,
                display_name=DEMO_PARTNER_CONTACTS[partner.account],
                email=_demo_email(partner.account),
            )
        _add_demo_rules(session)
        session.commit()
    _add_inbound_referrals(engine)
    return True


# Musterstadt's own rules, published as its version 1. The text is the override file the rules
# package ships (rules/catalog/musterstadt.yaml, which the rules' tests read too): read as data,
# by its place in the installed package, without importing the rules (a layer above the store).
DEMO_RULES = "catalog/musterstadt.yaml"


def demo_rules_text() -> str:
    return resources.files("rules").joinpath(DEMO_RULES).read_text(encoding="utf-8")


def _has_rules(session: Session) -> bool:
    query = select(RuleSetVersion.id).where(RuleSetVersion.municipality_id == MUNICIPALITY_ID)
    return session.exec(query.limit(1)).first() is not None


def _add_demo_rules(session: Session) -> None:
    now = datetime.now(UTC)
    text = demo_rules_text()
    session.add(
        RuleSetVersion(
            municipality_id=MUNICIPALITY_ID,
            version=1,
            status=RuleSetStatus.PUBLISHED,
            override_text=text,
            content_hash=content_hash(text),
            created_by="admin",
            created_at=now,
            updated_at=now,
            published_by="admin",
            published_at=now,
        )
    )


def _demo_email(account: str) -> str:
    return f"{account}@musterstadt.example"


def _holds_data(session: Session) -> bool:
    return (
        session.exec(select(Municipality.id).limit(1)).first() is not None
        or session.exec(select(User.username).limit(1)).first() is not None
    )


def _add_directory(session: Session) -> None:
    session.add(Municipality(id=MUNICIPALITY_ID, name="Musterstadt", land="NW"))
    # The tables have no ORM relationships, so the unit of work does not order inserts by
    # foreign key: flush each level before the rows that reference it.
    session.flush()
    for centre in DEMO_CENTRES:
        session.add(
            Centre(
                id=centre.id,
                name=centre.name,
                kind=centre.kind,
                municipality_id=MUNICIPALITY_ID,
                address=centre.address,
                phone=centre.phone,
                email=centre.email,
            )
        )
    for partner in DEMO_PARTNERS:
        session.add(
            PartnerAgency(
                id=partner.id,
                name=partner.name,
                kind=partner.kind,
                municipality_id=MUNICIPALITY_ID,
                measures=list(partner.measures),
                contact_email=_demo_email(partner.account),
            )
        )
    session.flush()


# (hours ago, the Jobcenter's referral to MBE Mitte); names and numbers are made up: the phone
# numbers are from the range the Bundesnetzagentur keeps free for films (0xx 23125 xxx).
DEMO_INBOUND: tuple[tuple[int, dict[str, object]], ...] = (
    (
        50,
        {
            "centre_id": "mbe-mitte",
            "client": {"given_name": "Olena", "family_name": "Kovalenko"},
            "contact": {"phone": "0211 23125 104", "email": "olena.kovalenko@example.org"},
            "reason": "Frau Kovalenko bezieht Bürgergeld und möchte wieder als Krankenpflegerin "
            "arbeiten. Sie braucht Unterstützung bei der Anerkennung ihres Abschlusses und "
            "einen Platz im Integrationskurs. Termine bitte vormittags (Kita bis 14 Uhr).",
            "client_consents": True,
        },
    ),
    (
        5,
        {
            "centre_id": "mbe-mitte",
            "client": {"given_name": "Samir", "family_name": "Haddad"},
            "contact": {"phone": "0211 23125 187"},
            "reason": "Herr Haddad hat eine Stelle als Elektrikerhelfer in Aussicht; sein "
            "Aufenthaltstitel läuft in drei Monaten ab. Er bittet um Beratung zur Verlängerung "
            "und zu einer Weiterbildung.",
            "client_consents": True,
        },
    ),
)


def _add_inbound_referrals(engine: Engine) -> None:
    """The Jobcenter's demo referrals, through the same write as `POST /inbound-referrals`."""
    with Session(engine) as session:
        jobcenter = session.get(PartnerAgency, "jobcenter-musterstadt")
    assert jobcenter is not None  # added above
    now = datetime.now(UTC)
    for hours_ago, body in DEMO_INBOUND:
        request = InboundReferralRequest.model_validate(body)
        inbound.new_referral(
            engine,
            f"inbound-{uuid.uuid4()}",
            jobcenter,
            request.centre_id,
            request,
            now - timedelta(hours=hours_ago),
        )
