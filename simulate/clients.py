"""The seeded client generator: who comes to a centre, as an intake profile Lotse validates and
the needs a counsellor would assess from it.

Everything is drawn from the `rng` passed in, in a fixed order, never from the global random
generator or the clock: one seed (and one `today`) gives one client. Names are fictional,
combined from short lists of common given and family names per first language.

The needs follow from the profile (so that the federal default rules of ROUTING.md route every
one of them):

- `language`: German below B1, or a literacy need (priority 1 at none/A1 or with a literacy
  need, else 2);
- `employment`: unemployed, with or without citizens' benefit (priority 1 with it, else 2);
- `training`: a JMD client aged 14 or more who is unemployed or not seeking work (priority 2);
- `credential`: a foreign qualification (priority 2; the rules route each qualification, to the
  recognition counselling when its documents are incomplete);
- `childcare`: a child without a childcare place (priority 2; that child is between half a year
  and four and a half years old, so it is still under six when the needs are routed);
- `residence`: toleration, gestattung or unclear status, or a permit that expires within a year
  (priority 1 for the first three and for a permit within 90 days, else 2);
- `other`: with `intake.extra_need_share` (priority 3);
- at least one need always: without any of the above, `language` when German is below C1, else
  `employment` (priority 3).

Plausibility rules of the profile: a client under 16 is a pupil (`not_seeking`); only clients
of 15 or more receive citizens' benefit, and never with toleration or gestattung (those receive
benefits under the AsylbLG); only clients of 18 or more have children, of 20 or more a
qualification; speakers of the language of an EU member state have the status `eu`; the goals
are those of the needs.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.case import ClientName
from domain.dates import age_on
from domain.enums import (
    CentreKind,
    Employment,
    GermanLevel,
    Goal,
    NeedKind,
    QualificationKind,
    ResidenceStatus,
)
from domain.needs import Need
from domain.profile import IntakeData, validate_intake
from simulate.parameters import Parameters


@dataclass(frozen=True)
class Client:
    name: ClientName
    intake: IntakeData
    needs: tuple[Need, ...]


PUPIL_BELOW_AGE = 16
BENEFIT_FROM_AGE = 15  # SGB II: employable from 15
PARENT_FROM_AGE = 18
QUALIFIED_FROM_AGE = 20
TRAINING_FROM_AGE = 14  # career orientation starts in school
CHILD_UNDER_AGE = 14  # children_share: children under 14
RESIDENCE_NEED_WITHIN_DAYS = 365
URGENT_WITHIN_DAYS = 90  # ROUTING.md res-urgent
PERMIT_DAYS = (45, 3 * 365)  # a permit runs out 45 days to three years after intake
UNCARED_CHILD_DAYS = (183, 4 * 365 + 183)  # half a year to four and a half years old
SECOND_QUALIFICATION_SHARE = 0.15

# First languages of EU member states among the simulated ones: their speakers are EU citizens.
EU_LANGUAGES = frozenset({"pl", "ro", "bg", "el", "es", "it", "hu", "hr", "cs", "sk", "lt", "lv"})
UNSETTLED = frozenset({ResidenceStatus.TOLERATION, ResidenceStatus.GESTATTUNG})
URGENT_STATUSES = UNSETTLED | {ResidenceStatus.UNCLEAR}

_GOAL_OF_NEED = {
    NeedKind.LANGUAGE: Goal.LANGUAGE,
    NeedKind.EMPLOYMENT: Goal.EMPLOYMENT,
    NeedKind.TRAINING: Goal.TRAINING,
    NeedKind.CREDENTIAL: Goal.RECOGNITION,
    NeedKind.CHILDCARE: Goal.CHILDCARE,
    NeedKind.RESIDENCE: Goal.RESIDENCE,
    NeedKind.OTHER: Goal.OTHER,
}
_OTHER_NOTES = (
    "Wohnungssuche",
    "Schulden und Haushaltsplanung",
    "Gesundheitliche Versorgung",
    "Schulische Fragen der Kinder",
    "Familienzusammenführung",
)


@dataclass(frozen=True)
class _Names:
    female: tuple[str, ...]
    male: tuple[str, ...]
    family: tuple[str, ...]


def _names(female: str, male: str, family: str) -> _Names:
    return _Names(tuple(female.split()), tuple(male.split()), tuple(family.split()))


# Common given and family names per first language (German transliteration where German usage
# has one); any combination is made up. Family names are in the male form; `_female_form`
# gives the female form in languages that have one.
NAMES: dict[str, _Names] = {
    "ru": _names(
        "Olga Natalja Irina Swetlana Jelena Tatjana",
        "Sergej Dmitrij Alexej Andrej Nikolaj Pawel",
        "Iwanow Petrow Smirnow Kusnezow Popow Wolkow Sokolow",
    ),
    "tr": _names(
        "Ayşe Fatma Elif Zeynep Emine Hatice",
        "Mehmet Mustafa Ahmet Ali Hüseyin Emre",
        "Yılmaz Kaya Demir Şahin Çelik Yıldız Aydın Öztürk Arslan Doğan",
    ),
    "ar": _names(
        "Fatima Aisha Mariam Layla Rania Nour",
        "Mohammed Ahmad Omar Khaled Yusuf Samir",
        "Haddad Khalil Nasser Saleh Hamdan Aziz Mansour Darwish Hassan Ibrahim",
    ),
    "pl": _names(
        "Anna Katarzyna Małgorzata Agnieszka Joanna Ewa",
        "Piotr Krzysztof Tomasz Paweł Marek Michał",
        "Nowak Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński",
    ),
    "ro": _names(
        "Maria Elena Ioana Andreea Mihaela",
        "Ion Andrei Gheorghe Mihai Alexandru",
        "Popescu Ionescu Popa Stan Dumitru Constantin",
    ),
    "bg": _names(
        "Maria Iwanka Elena Desislawa Petja",
        "Georgi Iwan Dimitar Nikolaj Stojan",
        "Iwanow Georgiew Dimitrow Petrow Nikolow",
    ),
    "fa": _names(
        "Zahra Maryam Fatemeh Shirin Parisa Soraya",
        "Ali Reza Hossein Mehdi Farid Dariush",
        "Ahmadi Hosseini Karimi Rahimi Mohammadi Rezaei Sharifi",
    ),
    "ku": _names(
        "Berfin Rojda Zozan Dilan Hêvî",
        "Azad Rojhat Baran Serhat Welat",
        "Mirza Hesen Şêxo Ehmed Osman",
    ),
    "ps": _names(
        "Zarmina Nazia Gulalai Freshta",
        "Najib Wahid Jawid Gul Rahmat",
        "Popal Stanikzai Ahmadzai Wardak Sadat",
    ),
    "uk": _names(
        "Olena Oksana Iryna Natalija Tetjana",
        "Oleksandr Andrij Serhij Mykola Taras",
        "Kowalenko Bondarenko Tkatschenko Krawtschenko Melnyk",
    ),
    "sq": _names(
        "Arta Blerina Drita Valbona Mimoza",
        "Arben Besnik Fatmir Agron Driton",
        "Krasniqi Gashi Shala Morina Kelmendi",
    ),
    "sr": _names(
        "Jelena Milica Marija Ivana Snežana",
        "Marko Nikola Stefan Milan Dragan",
        "Jovanović Petrović Nikolić Marković Stojanović",
    ),
    "en": _names(
        "Grace Blessing Esther Abena Priya",
        "Emmanuel Samuel Kwame Daniel Rajesh",
        "Okafor Mensah Adeyemi Boateng Sharma",
    ),
    "fr": _names(
        "Aminata Fatou Marie Mariama Awa",
        "Mamadou Ibrahima Jean Moussa Ousmane",
        "Diallo Traoré Camara Diop Kouassi",
    ),
    "vi": _names("Lan Hoa Thu Mai Linh", "Minh Tuan Hung Duc Long", "Nguyen Tran Le Pham Hoang"),
    "el": _names(
        "Maria Eleni Katerina Georgia Sofia",
        "Giorgos Dimitris Nikos Kostas Ioannis",
        "Papadopoulos Georgiou Oikonomou Vlachos Antonopoulos",
    ),
    "es": _names(
        "María Carmen Lucía Laura Ana",
        "José Javier David Carlos Manuel",
        "García Martínez López Sánchez Pérez",
    ),
    "it": _names(
        "Giulia Francesca Chiara Sara Anna",
        "Marco Luca Andrea Giuseppe Matteo",
        "Rossi Russo Esposito Bianchi Romano",
    ),
}
# For a first language the lists above do not have (a parameters file may name any).
OTHER_NAMES = _names("Amina Sara Nadia Lina", "Adam Daniel Samuel Elias", "Ali Kaya Petrov Diallo")

# Countries a qualification of a first language's speaker was plausibly earned in (ISO 3166-1).
COUNTRIES: dict[str, tuple[str, ...]] = {
    "ru": ("RU", "KZ", "UA", "UZ", "KG"),
    "tr": ("TR",),
    "ar": ("IQ", "SY", "LB", "MA", "EG"),
    "pl": ("PL",),
    "ro": ("RO", "MD"),
    "bg": ("BG",),
    "fa": ("IR", "AF"),
    "ku": ("IQ", "TR", "SY"),
    "ps": ("AF",),
    "uk": ("UA",),
    "sq": ("AL", "MK"),
    "sr": ("RS", "BA", "ME"),
    "en": ("NG", "GH", "IN"),
    "fr": ("SN", "CM", "CD", "GN"),
    "vi": ("VN",),
    "el": ("GR",),
    "es": ("ES",),
    "it": ("IT",),
}
OTHER_COUNTRIES = ("TR", "SY", "RU", "PL")

# (title, kind, regulated in Germany)
QUALIFICATIONS: tuple[tuple[str, QualificationKind, bool], ...] = (
    ("Gesundheits- und Krankenpfleger/in", QualificationKind.VOCATIONAL, True),
    ("Erzieher/in", QualificationKind.VOCATIONAL, True),
    ("Elektriker/in", QualificationKind.VOCATIONAL, False),
    ("Kfz-Mechaniker/in", QualificationKind.VOCATIONAL, False),
    ("Koch/Köchin", QualificationKind.VOCATIONAL, False),
    ("Friseur/in", QualificationKind.VOCATIONAL, False),
    ("Buchhalter/in", QualificationKind.VOCATIONAL, False),
    ("Schweißer/in", QualificationKind.VOCATIONAL, False),
    ("Humanmedizin (Ärztin/Arzt)", QualificationKind.ACADEMIC, True),
    ("Lehramt Mathematik", QualificationKind.ACADEMIC, True),
    ("Pharmazie", QualificationKind.ACADEMIC, True),
    ("Informatik (Bachelor)", QualificationKind.ACADEMIC, False),
    ("Betriebswirtschaft (Diplom)", QualificationKind.ACADEMIC, False),
    ("Maschinenbau (Diplom)", QualificationKind.ACADEMIC, False),
)


def draw_client(
    rng: random.Random, params: Parameters, centre_kind: CentreKind, today: date
) -> Client:
    """One client of a centre of this kind coming in on `today`: name, validated intake
    profile and the needs it implies (module docstring)."""
    p = params.clients
    female = rng.random() < 0.5
    language = pick(rng, p.languages)
    ages = p.jmd_age if centre_kind is CentreKind.JMD else p.mbe_age
    age = rng.randint(ages.min, ages.max)
    birth_date = birth_date_for(rng, today, age)
    name = _name(rng, language, female)

    languages = [language]
    if rng.random() < p.second_language_share:
        second = rng.choice(("en", "fr"))
        if second != language:
            languages.append(second)

    level = GermanLevel(pick(rng, p.german_level))
    below_b1 = level.rank < GermanLevel.B1.rank
    literacy_need = below_b1 and rng.random() < p.literacy_need_share
    course_completed = (
        level is not GermanLevel.NONE and rng.random() < p.integration_course_completed_share
    )

    if language in EU_LANGUAGES:
        status = ResidenceStatus.EU
    else:
        status = ResidenceStatus(pick(rng, p.residence))
    expires_on = None
    if status is ResidenceStatus.PERMIT:
        expires_on = today + timedelta(days=rng.randint(*PERMIT_DAYS))

    employment = Employment(pick(rng, p.employment))
    if age < PUPIL_BELOW_AGE:
        employment = Employment.NOT_SEEKING
    benefit = rng.random() < p.citizens_benefit_share
    benefit = benefit and age >= BENEFIT_FROM_AGE and status not in UNSETTLED

    qualifications: list[dict[str, Any]] = []
    if age >= QUALIFIED_FROM_AGE and rng.random() < p.qualification_share:
        count = 2 if rng.random() < SECOND_QUALIFICATION_SHARE else 1
        for title, kind, regulated in rng.sample(QUALIFICATIONS, count):
            qualifications.append(
                {
                    "title": title,
                    "country": rng.choice(COUNTRIES.get(language, OTHER_COUNTRIES)),
                    "kind": kind,
                    "regulated": regulated,
                    "documents_complete": rng.random() < p.qualification_documents_complete_share,
                }
            )

    children: list[dict[str, Any]] = []
    if age >= PARENT_FROM_AGE and rng.random() < p.children_share:
        count = rng.choices((1, 2, 3), weights=(0.5, 0.35, 0.15))[0]
        oldest = max(1, min(CHILD_UNDER_AGE - 1, age - PARENT_FROM_AGE))
        for _ in range(count):
            days = rng.randint(365, (oldest + 1) * 365 - 1)
            children.append({"birth_date": today - timedelta(days=days), "has_childcare": True})
        if rng.random() < p.child_without_place_share:
            days = rng.randint(*UNCARED_CHILD_DAYS)
            children[0] = {"birth_date": today - timedelta(days=days), "has_childcare": False}

    profile: dict[str, Any] = {
        "birth_date": birth_date,
        "languages": languages,
        "german_level": level,
        "literacy_need": literacy_need,
        "integration_course_completed": course_completed,
        "residence": {"status": status, "expires_on": expires_on},
        "receives_citizens_benefit": benefit,
        "employment": employment,
        "qualifications": qualifications,
        "children": children,
    }
    intake = validate_intake(profile, today)
    needs = needs_of(rng, params, centre_kind, intake, today)
    goals = list(dict.fromkeys(_GOAL_OF_NEED[need.kind] for need in needs))
    return Client(name=name, intake=intake.model_copy(update={"goals": goals}), needs=needs)


def needs_of(
    rng: random.Random,
    params: Parameters,
    centre_kind: CentreKind,
    intake: IntakeData,
    today: date,
) -> tuple[Need, ...]:
    """The needs the profile implies on `today`, by the rules of the module docstring (only
    the `other` need is drawn, from `rng`)."""
    age = age_on(intake.birth_date, today)
    needs: list[Need] = []
    level = intake.german_level
    if level.rank < GermanLevel.B1.rank or intake.literacy_need:
        urgent = level.rank <= GermanLevel.A1.rank or intake.literacy_need
        note = f"Deutschkenntnisse: {_level_text(level)}"
        if intake.literacy_need:
            note += ", Alphabetisierung nötig"
        needs.append(Need(kind=NeedKind.LANGUAGE, priority=1 if urgent else 2, note=note))
    if intake.employment is Employment.UNEMPLOYED:
        benefit = intake.receives_citizens_benefit
        note = "Arbeitsuchend, bezieht Bürgergeld" if benefit else "Arbeitsuchend"
        needs.append(Need(kind=NeedKind.EMPLOYMENT, priority=1 if benefit else 2, note=note))
    if (
        centre_kind is CentreKind.JMD
        and age >= TRAINING_FROM_AGE
        and intake.employment in {Employment.UNEMPLOYED, Employment.NOT_SEEKING}
    ):
        needs.append(
            Need(kind=NeedKind.TRAINING, note="Ausbildung oder Berufsorientierung gesucht")
        )
    if intake.qualifications:
        titles = ", ".join(q.title for q in intake.qualifications)
        needs.append(Need(kind=NeedKind.CREDENTIAL, note=f"Ausländischer Abschluss: {titles}"))
    if any(not child.has_childcare for child in intake.children):
        needs.append(Need(kind=NeedKind.CHILDCARE, note="Kind ohne Betreuungsplatz"))
    residence = intake.residence
    days_left = (residence.expires_on - today).days if residence.expires_on else None
    if residence.status in URGENT_STATUSES or (
        days_left is not None and days_left <= RESIDENCE_NEED_WITHIN_DAYS
    ):
        urgent = residence.status in URGENT_STATUSES or (
            days_left is not None and days_left <= URGENT_WITHIN_DAYS
        )
        needs.append(
            Need(kind=NeedKind.RESIDENCE, priority=1 if urgent else 2, note="Aufenthalt klären")
        )
    if rng.random() < params.intake.extra_need_share:
        needs.append(Need(kind=NeedKind.OTHER, priority=3, note=rng.choice(_OTHER_NOTES)))
    if not needs:
        fallback = NeedKind.LANGUAGE if level.rank < GermanLevel.C1.rank else NeedKind.EMPLOYMENT
        needs.append(Need(kind=fallback, priority=3, note="Weiterentwicklung"))
    return tuple(needs)


def pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    """A key drawn with probability proportional to its weight (a zero weight is never drawn;
    the parameters ensure a positive total). Keys are taken in the mapping's order, so the same
    file gives the same draws."""
    total = sum(weights.values())
    point = rng.random() * total
    last = ""
    for key, weight in weights.items():
        if weight <= 0:
            continue
        last = key
        point -= weight
        if point < 0:
            return key
    return last  # rounding: the point fell on the total itself


def birth_date_for(rng: random.Random, today: date, age: int) -> date:
    """A birth date on which a person is exactly `age` years old on `today`."""
    latest = _years_before(today, age)
    earliest = _years_before(today, age + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _name(rng: random.Random, language: str, female: bool) -> ClientName:
    names = NAMES.get(language, OTHER_NAMES)
    given = rng.choice(names.female if female else names.male)
    family = rng.choice(names.family)
    if female:
        family = _female_form(language, family)
    return ClientName(given_name=given, family_name=family)


def _female_form(language: str, family: str) -> str:
    """The female form of a male family name, in the languages whose family names have one."""
    if language in {"ru", "bg"} and family.endswith(("ow", "ew", "in")):
        return family + "a"
    if language == "pl" and family.endswith(("ski", "cki")):
        return family[:-1] + "a"
    if language == "el" and family.endswith("os"):
        return family[:-2] + "ou"
    return family


def _level_text(level: GermanLevel) -> str:
    return "keine" if level is GermanLevel.NONE else level.value
