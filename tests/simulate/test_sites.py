"""The simulated model project's directory: the 18 published sites with their Länder, the 87
centres (Hannover's published 5 MBE and 3 JMD), partners of every kind in every municipality,
unique ids, and the rows `seed_directory` writes into a fresh store."""

import re
from collections import Counter
from pathlib import Path
from typing import Any

import holidays
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from domain.enums import ActorKind, CentreKind
from simulate.sites import SITES, build_directory, seed_directory
from store.models import Centre, Municipality, PartnerAgency, Role, User
from store.testing import sqlite_store
from store.users import USERNAME

PUBLISHED_SITES = (
    "Berlin Tempelhof-Schöneberg",
    "Freiburg",
    "Stuttgart",
    "Nürnberg",
    "München",
    "Hamburg-Wilhelmsburg",
    "Wiesbaden",
    "Wetzlar",
    "Hannover",
    "Göttingen",
    "Hamm",
    "Essen",
    "Landkreis Mayen-Koblenz",
    "Ludwigshafen",
    "Neumünster",
    "Leipzig",
    "Stendal",
    "Saarbrücken",
)
PARTNER_KINDS = [kind for kind in ActorKind if kind is not ActorKind.MIGRATION_COUNSELLING]
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def test_the_18_published_sites_in_order_with_their_laender() -> None:
    assert tuple(site.name for site in SITES) == PUBLISHED_SITES
    lands = {site.name: site.land for site in SITES}
    assert lands["Berlin Tempelhof-Schöneberg"] == "BE"
    assert lands["Hamburg-Wilhelmsburg"] == "HH"
    assert lands["Landkreis Mayen-Koblenz"] == "RP"
    assert lands["Stendal"] == "ST"
    assert lands["Saarbrücken"] == "SL"
    # Each Land must be one whose public holidays the working-day clocks know.
    german_subdivisions = set(holidays.country_holidays("DE").subdivisions)
    assert {site.land for site in SITES} <= german_subdivisions


def test_87_centres_hannover_5_mbe_and_3_jmd_every_site_both_kinds() -> None:
    directory = build_directory()
    assert len(directory.centres) == 87
    assert sum(site.mbe + site.jmd for site in SITES) == 87
    kinds = Counter((c.municipality_id, c.kind) for c in directory.centres)
    assert kinds[("hannover", CentreKind.MBE)] == 5
    assert kinds[("hannover", CentreKind.JMD)] == 3
    for site in SITES:
        assert kinds[(site.id, CentreKind.MBE)] == site.mbe >= 1
        assert kinds[(site.id, CentreKind.JMD)] == site.jmd >= 1
        assert len(directory.centres_of(site.id)) == site.mbe + site.jmd


def test_every_municipality_has_a_partner_of_every_kind_but_the_centre_itself() -> None:
    directory = build_directory()
    for site in SITES:
        for kind in PARTNER_KINDS:
            partners = directory.partners_of(site.id, kind)
            assert partners, (site.id, kind)
            assert all(p.municipality_id == site.id and p.kind is kind for p in partners)
            assert all(p.measures for p in partners)
        assert directory.partners_of(site.id, ActorKind.MIGRATION_COUNSELLING) == ()


def test_big_sites_have_a_second_partner_to_reroute_to() -> None:
    directory = build_directory()
    for kind in (ActorKind.LANGUAGE_COURSE_PROVIDER, ActorKind.JOBCENTER):
        assert len(directory.partners_of("muenchen", kind)) == 2
        assert len(directory.partners_of("stendal", kind)) == 1


def test_partners_carry_the_measures_routing_gives_their_kind() -> None:
    directory = build_directory(1)
    measures = {p.kind: set(p.measures) for p in directory.partners}
    assert measures[ActorKind.JOBCENTER] == {"placement"}
    assert measures[ActorKind.EMPLOYMENT_AGENCY] == {"placement", "career_guidance"}
    assert "integration_course" in measures[ActorKind.LANGUAGE_COURSE_PROVIDER]
    assert measures[ActorKind.YOUTH_MIGRATION_SERVICE] == {"transfer_suggestion"}


def test_ids_are_unique_slugs_and_usernames_fit_the_store() -> None:
    directory = build_directory()
    site_ids = [site.id for site in directory.sites]
    centre_ids = [centre.id for centre in directory.centres]
    partner_ids = [partner.id for partner in directory.partners]
    counsellors = list(directory.counsellor_ids)
    for ids in (site_ids, centre_ids, partner_ids, counsellors):
        assert len(ids) == len(set(ids))
        assert all(SLUG.fullmatch(i) and len(i) <= 64 for i in ids)
    # Partner accounts are named by the partner's id: no clash with a counsellor's.
    assert not set(partner_ids) & set(counsellors)
    assert all(USERNAME.fullmatch(name) for name in counsellors + partner_ids)
    assert all(2 <= len(centre.counsellor_ids) <= 3 for centre in directory.centres)
    assert "jobcenter-freiburg" in partner_ids
    assert "mbe-freiburg-1" in centre_ids


def test_lookups_of_the_directory() -> None:
    directory = build_directory()
    assert directory.site("hannover").name == "Hannover"
    with pytest.raises(KeyError):
        directory.site("musterstadt")
    assert directory.centres_of("musterstadt") == ()


def test_first_n_sites_only() -> None:
    directory = build_directory(3)
    assert [site.id for site in directory.sites] == [site.id for site in SITES[:3]]
    assert {c.municipality_id for c in directory.centres} == {s.id for s in SITES[:3]}
    assert {p.municipality_id for p in directory.partners} == {s.id for s in SITES[:3]}
    assert len(directory.centres) == sum(s.mbe + s.jmd for s in SITES[:3])
    for bad in (0, 19, -1):
        with pytest.raises(ValueError):
            build_directory(bad)


def test_the_same_call_gives_the_same_directory() -> None:
    assert build_directory(5) == build_directory(5)


def test_seed_directory_writes_every_row(tmp_path: Path) -> None:
    directory = build_directory(3)
    with sqlite_store(tmp_path) as engine:
        seed_directory(engine, directory)
        with Session(engine) as session:

            def count(model: type, *where: Any) -> int:
                return session.exec(select(func.count()).select_from(model).where(*where)).one()

            assert count(Municipality) == 3
            assert count(Centre) == len(directory.centres)
            assert count(PartnerAgency) == len(directory.partners)
            assert count(User, User.role == Role.COUNSELLOR) == len(directory.counsellor_ids)
            assert count(User, User.role == Role.PARTNER) == len(directory.partners)
            assert count(User, User.role == Role.SUPERVISOR) == 3  # one per municipality
            assert count(User) == len(directory.counsellor_ids) + len(directory.partners) + 3
            coordination = session.get(User, "koordination-freiburg")
            assert coordination is not None and coordination.municipality_id == "freiburg"

            freiburg = session.get(Municipality, "freiburg")
            assert freiburg is not None and freiburg.land == "BW"
            centre = session.get(Centre, "jmd-freiburg-1")
            assert centre is not None and centre.kind is CentreKind.JMD
            counsellor = session.get(User, "beratung-mbe-freiburg-1a")
            assert counsellor is not None
            assert counsellor.centre_id == "mbe-freiburg-1" and counsellor.active
            assert counsellor.display_name
            partner = session.get(User, "jobcenter-freiburg")
            assert partner is not None and partner.partner_id == "jobcenter-freiburg"
            agency = session.get(PartnerAgency, "jobcenter-freiburg")
            assert agency is not None and agency.measures == ["placement"]
            # One shared hash of a secret nobody knows, not one argon2 run per account.
            hashes = session.exec(select(User.password_hash)).all()
            assert len(set(hashes)) == 1 and hashes[0].startswith("$argon2")
