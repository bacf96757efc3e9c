"""The directory of the simulated model project: its 18 real sites, 87 MBE and JMD centres, the
partner agencies of each municipality and the counsellors of each centre, and how they are
written into a store.

The sites and their Länder are the published list of the model project; how the 87 centres
are spread over them is published only for Hannover (5 MBE, 3 JMD) and is an assumption
everywhere else (by the size of the place). Centre, partner and person names are fictional.
Nothing here draws at random: the same call gives the same directory, so a run's store can be
rebuilt from its seed and parameters alone.
"""

import secrets
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session

from domain.enums import ActorKind, CentreKind
from store.models import Centre, Municipality, PartnerAgency, Role
from store.seed import DEMO_PARTNERS
from store.users import create_user, hash_password


@dataclass(frozen=True)
class Site:
    """A municipality of the model project: its slug, name, Land (ISO 3166-2 without "DE-")
    and how many MBE and JMD centres took part."""

    id: str
    name: str
    land: str
    mbe: int
    jmd: int


# The published list of sites, in its order (Länder as published). Only Hannover's centres are
# published (5 MBE, 3 JMD); the other counts are assumptions by the size of the place, chosen so
# that every site has at least one centre of each kind and all add up to the published 87.
SITES: tuple[Site, ...] = (
    Site("berlin-tempelhof-schoeneberg", "Berlin Tempelhof-Schöneberg", "BE", 4, 2),
    Site("freiburg", "Freiburg", "BW", 3, 2),
    Site("stuttgart", "Stuttgart", "BW", 5, 3),
    Site("nuernberg", "Nürnberg", "BY", 5, 2),
    Site("muenchen", "München", "BY", 5, 3),
    Site("hamburg-wilhelmsburg", "Hamburg-Wilhelmsburg", "HH", 2, 1),
    Site("wiesbaden", "Wiesbaden", "HE", 3, 2),
    Site("wetzlar", "Wetzlar", "HE", 2, 1),
    Site("hannover", "Hannover", "NI", 5, 3),
    Site("goettingen", "Göttingen", "NI", 2, 1),
    Site("hamm", "Hamm", "NW", 2, 1),
    Site("essen", "Essen", "NW", 5, 2),
    Site("landkreis-mayen-koblenz", "Landkreis Mayen-Koblenz", "RP", 2, 1),
    Site("ludwigshafen", "Ludwigshafen", "RP", 3, 1),
    Site("neumuenster", "Neumünster", "SH", 1, 1),
    Site("leipzig", "Leipzig", "SN", 4, 2),
    Site("stendal", "Stendal", "ST", 1, 1),
    Site("saarbruecken", "Saarbrücken", "SL", 3, 1),
)

# A site with this many centres or more has a second language course provider and a second
# Jobcenter office, so a declined or expired referral there can be re-routed to another partner.
BIG_SITE_CENTRES = 5

# The measures of each partner kind: those ROUTING.md routes to it, as the demo data has them.
MEASURES: dict[ActorKind, tuple[str, ...]] = {p.kind: p.measures for p in DEMO_PARTNERS}

# Welfare associations that run MBE and JMD centres, rotated over a site's centres.
_MBE_CARRIERS = ("Caritas", "Diakonie", "AWO", "DRK", "Paritätischer", "BdV")
_JMD_CARRIERS = ("Internationaler Bund", "Caritas", "Diakonie", "AWO", "CJD")

# Fictional people: given and family names combined by position, not real persons.
_GIVEN = (
    "Katrin", "Murat", "Sabine", "Jonas", "Aylin", "Thomas", "Olena", "Stefan", "Miriam",
    "Tobias", "Leyla", "Andreas", "Julia", "Dimitri", "Anja", "Hasan", "Claudia", "Markus",
    "Svetlana", "Felix", "Nadine", "Emre", "Birgit", "Lukas", "Fatma", "Christian", "Ewa",
    "Michael",
)  # fmt: skip
_FAMILY = (
    "Schulte", "Yılmaz", "Krüger", "Richter", "Demir", "Becker", "Kovalenko", "Wagner",
    "Schäfer", "Hoffmann", "Lange", "Nowak", "Weber", "Petrović", "Braun", "Özdemir", "Koch",
    "Vogel", "Wolf", "Morozova", "Neumann", "Arslan", "Schmitt", "Zimmermann", "Haddad",
    "Keller", "Lorenz",
)  # fmt: skip


@dataclass(frozen=True)
class SimCentre:
    id: str
    municipality_id: str
    name: str
    kind: CentreKind
    counsellor_ids: tuple[str, ...]  # usernames of the centre's counsellors


@dataclass(frozen=True)
class SimPartner:
    id: str
    municipality_id: str
    name: str
    kind: ActorKind
    measures: tuple[str, ...]


@dataclass(frozen=True)
class SimDirectory:
    sites: tuple[Site, ...]
    centres: tuple[SimCentre, ...]
    partners: tuple[SimPartner, ...]
    # Lookups the driver makes for every case, built once.
    _sites: dict[str, Site] = field(init=False, repr=False, compare=False)
    _centres: dict[str, tuple[SimCentre, ...]] = field(init=False, repr=False, compare=False)
    _partners: dict[tuple[str, ActorKind], tuple[SimPartner, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        centres: dict[str, list[SimCentre]] = {}
        for centre in self.centres:
            centres.setdefault(centre.municipality_id, []).append(centre)
        partners: dict[tuple[str, ActorKind], list[SimPartner]] = {}
        for partner in self.partners:
            partners.setdefault((partner.municipality_id, partner.kind), []).append(partner)
        # frozen: the indexes are set once, here.
        object.__setattr__(self, "_sites", {site.id: site for site in self.sites})
        object.__setattr__(self, "_centres", {k: tuple(v) for k, v in centres.items()})
        object.__setattr__(self, "_partners", {k: tuple(v) for k, v in partners.items()})

    def centres_of(self, municipality_id: str) -> tuple[SimCentre, ...]:
        """The municipality's centres, MBE first, in id order within each kind."""
        return self._centres.get(municipality_id, ())

    def partners_of(self, municipality_id: str, kind: ActorKind) -> tuple[SimPartner, ...]:
        """The municipality's partners of this kind (none for `migration_counselling`)."""
        return self._partners.get((municipality_id, kind), ())

    def site(self, municipality_id: str) -> Site:
        """The site with this id; KeyError for any other."""
        return self._sites[municipality_id]

    @property
    def counsellor_ids(self) -> tuple[str, ...]:
        """Every counsellor's username, centre by centre."""
        return tuple(name for centre in self.centres for name in centre.counsellor_ids)


def build_directory(municipalities: int | None = None) -> SimDirectory:
    """The directory of all 18 sites, or of the first `municipalities` of them (tests use a
    few: the smaller directory has the same shape)."""
    count = len(SITES) if municipalities is None else municipalities
    if not 1 <= count <= len(SITES):
        raise ValueError(f"municipalities must be between 1 and {len(SITES)}, got {count}")
    sites = SITES[:count]
    centres = tuple(centre for site in sites for centre in _centres(site))
    partners = tuple(partner for site in sites for partner in _partners(site))
    return SimDirectory(sites, centres, partners)


def _centres(site: Site) -> list[SimCentre]:
    centres = []
    for kind, count, carriers, title in (
        (CentreKind.MBE, site.mbe, _MBE_CARRIERS, "Migrationsberatung für Erwachsene"),
        (CentreKind.JMD, site.jmd, _JMD_CARRIERS, "Jugendmigrationsdienst"),
    ):
        for number in range(1, count + 1):
            centre_id = f"{kind.value.lower()}-{site.id}-{number}"
            # The first MBE of a site is the larger office (three counsellors), the others two.
            staff = 3 if kind is CentreKind.MBE and number == 1 else 2
            carrier = carriers[(number - 1) % len(carriers)]
            centres.append(
                SimCentre(
                    id=centre_id,
                    municipality_id=site.id,
                    name=f"{title} {carrier} {site.name} {number}",
                    kind=kind,
                    counsellor_ids=tuple(
                        f"beratung-{centre_id}{letter}" for letter in "abc"[:staff]
                    ),
                )
            )
    return centres


def _partners(site: Site) -> list[SimPartner]:
    big = site.mbe + site.jmd >= BIG_SITE_CENTRES
    place = site.name

    def one(slug: str, name: str, kind: ActorKind, number: int = 1) -> SimPartner:
        partner_id = f"{slug}-{site.id}" if number == 1 else f"{slug}-{site.id}-{number}"
        return SimPartner(partner_id, site.id, name, kind, MEASURES[kind])

    language = ActorKind.LANGUAGE_COURSE_PROVIDER
    partners = [one("sprachkurs", f"Volkshochschule {place} (Integrationskursträger)", language)]
    if big:
        partners.append(
            one("sprachkurs", f"Sprachinstitut {place} (Integrationskursträger)", language, 2)
        )
    if big:
        partners.append(one("jobcenter", f"Jobcenter {place}, Standort Mitte", ActorKind.JOBCENTER))
        partners.append(
            one("jobcenter", f"Jobcenter {place}, Standort Nord", ActorKind.JOBCENTER, 2)
        )
    else:
        partners.append(one("jobcenter", f"Jobcenter {place}", ActorKind.JOBCENTER))
    partners += [
        one("arbeitsagentur", f"Agentur für Arbeit {place}", ActorKind.EMPLOYMENT_AGENCY),
        one("anerkennungsstelle", f"Anerkennungsstelle {place}", ActorKind.RECOGNITION_OFFICE),
        one(
            "anerkennungsberatung",
            f"Anerkennungsberatung {place} (IQ Netzwerk)",
            ActorKind.RECOGNITION_COUNSELLING,
        ),
        one("auslaenderbehoerde", f"Ausländerbehörde {place}", ActorKind.FOREIGNERS_AUTHORITY),
        one("jugendamt", f"Jugendamt {place} (Kita-Platzvergabe)", ActorKind.CHILDCARE_OFFICE),
    ]
    # The youth migration service a `transfer_suggestion` goes to is each JMD centre itself,
    # under the centre's id (as in the demo data: jmd-musterstadt is centre and partner).
    for centre in _centres(site):
        if centre.kind is CentreKind.JMD:
            kind = ActorKind.YOUTH_MIGRATION_SERVICE
            partners.append(SimPartner(centre.id, site.id, centre.name, kind, MEASURES[kind]))
    return partners


def _person(index: int) -> str:
    """A fictional name for the index-th person: the two lists have coprime lengths (28, 27),
    so the first 756 people all get different names."""
    return f"{_GIVEN[index % len(_GIVEN)]} {_FAMILY[index % len(_FAMILY)]}"


def seed_directory(engine: Engine, directory: SimDirectory) -> None:
    """Write the directory into an empty, migrated store in one transaction: municipalities,
    centres, partner agencies, one counsellor account per counsellor and one partner account
    per partner (its username is the partner's id), and one supervisor per municipality."""
    # Nobody logs in to a simulation's store: one hash of a secret nobody knows serves every
    # account (argon2 is slow on purpose; hashing per account would take minutes).
    unusable = hash_password(secrets.token_urlsafe(32))
    with Session(engine) as session:
        for site in directory.sites:
            session.add(Municipality(id=site.id, name=site.name, land=site.land))
        # No ORM relationships, so the unit of work does not order inserts by foreign key:
        # flush each level before the rows that reference it (as store/seed.py does).
        session.flush()
        for centre in directory.centres:
            session.add(
                Centre(
                    id=centre.id,
                    name=centre.name,
                    kind=centre.kind,
                    municipality_id=centre.municipality_id,
                )
            )
        for partner in directory.partners:
            session.add(
                PartnerAgency(
                    id=partner.id,
                    name=partner.name,
                    kind=partner.kind,
                    municipality_id=partner.municipality_id,
                    measures=list(partner.measures),
                )
            )
        session.flush()
        person = 0
        for centre in directory.centres:
            for username in centre.counsellor_ids:
                create_user(
                    session,
                    username,
                    Role.COUNSELLOR,
                    password_hash=unusable,
                    centre_id=centre.id,
                    display_name=_person(person),
                )
                person += 1
        for partner in directory.partners:
            create_user(
                session,
                partner.id,
                Role.PARTNER,
                password_hash=unusable,
                partner_id=partner.id,
                display_name=_person(person),
            )
            person += 1
        for site in directory.sites:
            # The coordination: escalations and overdue reviews reach someone.
            create_user(
                session,
                f"koordination-{site.id}",
                Role.SUPERVISOR,
                password_hash=unusable,
                municipality_id=site.id,
                display_name=_person(person),
            )
            person += 1
        session.commit()
