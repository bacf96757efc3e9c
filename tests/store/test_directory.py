"""The partner directory on both backends: open-referral counts from the referrals table,
inactive partners flagged, other municipalities kept apart, centre and Land look-ups."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from domain.enums import ActorKind, CentreKind, NeedKind
from domain.partners import Partner
from domain.referral import ReferralStatus
from store.directory import NotInDirectory, SqlDirectory
from store.models import Centre, Municipality, PartnerAgency
from store.projections import ReferralSummary

T0 = datetime(2025, 5, 5, 8, 0, tzinfo=UTC)
COURSES = ["integration_course", "literacy_course"]


def _agency(partner_id: str, municipality: str, *, active: bool = True) -> PartnerAgency:
    return PartnerAgency(
        id=partner_id,
        name=partner_id.replace("-", " ").title(),
        kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
        municipality_id=municipality,
        measures=COURSES,
        active=active,
    )


def _referral(number: int, partner_id: str, status: ReferralStatus) -> ReferralSummary:
    return ReferralSummary(
        id=f"case-1-ref-{number}",
        case_id="case-1",
        municipality_id="musterstadt",
        route_id=f"route-{number}",
        partner_id=partner_id,
        actor_kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
        measure="integration_course",
        need_kind=NeedKind.LANGUAGE,
        status=status,
        dispatched_at=T0,
        client_first_name="Amina",
        updated_at=T0,
    )


@pytest.fixture
def directory(store_engine: Engine) -> Iterator[SqlDirectory]:
    with Session(store_engine) as session:
        session.add(Municipality(id="musterstadt", name="Musterstadt", land="NW"))
        session.add(Municipality(id="beispielheim", name="Beispielheim", land="BY"))
        session.flush()
        session.add(
            Centre(id="mbe-mitte", name="MBE", kind=CentreKind.MBE, municipality_id="musterstadt")
        )
        session.add(
            Centre(id="jmd-bsp", name="JMD", kind=CentreKind.JMD, municipality_id="beispielheim")
        )
        session.add(_agency("vhs", "musterstadt"))
        session.add(_agency("kursschmiede", "musterstadt"))
        session.add(_agency("geschlossen", "musterstadt", active=False))
        session.add(_agency("vhs-beispielheim", "beispielheim"))
        # vhs: two open (dispatched, acknowledged), three finished that must not count.
        statuses = [
            ("vhs", ReferralStatus.DISPATCHED),
            ("vhs", ReferralStatus.ACKNOWLEDGED),
            ("vhs", ReferralStatus.COMPLETED),
            ("vhs", ReferralStatus.DECLINED),
            ("vhs", ReferralStatus.EXPIRED),
            ("kursschmiede", ReferralStatus.COMPLETED),
            ("geschlossen", ReferralStatus.DISPATCHED),
            ("vhs-beispielheim", ReferralStatus.ACKNOWLEDGED),
        ]
        for number, (partner_id, status) in enumerate(statuses, start=1):
            session.add(_referral(number, partner_id, status))
        session.commit()
    yield SqlDirectory(store_engine)


def test_partners_of_a_municipality_with_their_open_referrals(directory: SqlDirectory) -> None:
    partners = directory.partners("musterstadt")
    assert [(p.id, p.open_referrals, p.active) for p in partners] == [
        ("geschlossen", 1, False),
        ("kursschmiede", 0, True),
        ("vhs", 2, True),
    ]
    vhs = partners[-1]
    assert vhs == Partner(
        id="vhs",
        name="Vhs",
        kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
        municipality="musterstadt",
        measures=COURSES,
        active=True,
        open_referrals=2,
    )


def test_other_municipalities_partners_are_not_listed(directory: SqlDirectory) -> None:
    assert [p.id for p in directory.partners("beispielheim")] == ["vhs-beispielheim"]
    assert directory.partners("nirgendwo") == []


def test_one_partner_by_id_with_its_open_referrals(directory: SqlDirectory) -> None:
    assert directory.partner("vhs").open_referrals == 2
    assert directory.partner("geschlossen").active is False
    with pytest.raises(NotInDirectory, match="nirgendwo"):
        directory.partner("nirgendwo")


def test_centre_and_municipality_lookups(directory: SqlDirectory) -> None:
    assert directory.municipality_of_centre("mbe-mitte") == "musterstadt"
    assert directory.centre_kind("mbe-mitte") is CentreKind.MBE
    assert directory.centre_kind("jmd-bsp") is CentreKind.JMD
    assert directory.land_of("musterstadt") == "NW"
    assert directory.land_of("beispielheim") == "BY"


def test_a_centre_is_named_by_its_name_and_an_unknown_one_by_its_id(
    directory: SqlDirectory,
) -> None:
    assert directory.centre_name("mbe-mitte") not in ("", "mbe-mitte")
    assert directory.centre_name("mbe-unbekannt") == "mbe-unbekannt"


@pytest.mark.parametrize(
    "lookup",
    [
        lambda d: d.municipality_of_centre("mbe-unbekannt"),
        lambda d: d.centre_kind("mbe-unbekannt"),
        lambda d: d.land_of("nirgendwo"),
    ],
)
def test_unknown_ids_raise_not_in_directory(
    directory: SqlDirectory, lookup: Callable[[SqlDirectory], object]
) -> None:
    with pytest.raises(NotInDirectory):
        lookup(directory)
