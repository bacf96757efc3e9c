"""What a partner agency receives about a client: the one table, per partner kind, that the
agreement's consent clause names, the case hands to the read model, the referral row keeps and
the partner API and pages show.

Every partner of a referral receives a common minimum: the client's first name and languages
(whom to expect, in which language to speak to her), the need and the measure (what to do).
Beyond that each partner kind receives what it needs to act on its measure, and no more
(`KIND_TERMS`, each with the reason). Everything else of the profile (residence status,
benefits, employment, the other needs and qualifications, the counsellor's notes) stays in the
case. A fact not in a kind's row never reaches a partner of that kind.

The consent clause names the kind, not only the partner chosen now: a re-route to another
partner of the same kind in the municipality is covered by the signature and sends the same
facts; a partner of another kind needs an amended agreement with new signatures (the case
refuses such a re-route: domain/stages_withdrawal.py).

Which clause was signed matters: an agreement rendered before the clause named the
kind-specific facts (`consent_terms` 1) covers the common minimum only, so its referrals, later
re-routes included, receive nothing more. The rendered document, the document version and
each referral carry the terms (domain/actions.py, domain/case.py). Pure.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from domain.dates import age_on
from domain.enums import ActorKind, GermanLevel, NeedKind
from domain.profile import IntakeData, StrictModel

# The consent clause's versions. 1: every partner the four common facts (documents rendered
# before this table, and the default of everything recorded then); 2: the common minimum and
# the kind's facts of KIND_TERMS.
COMMON_MINIMUM_TERMS = 1
KIND_SPECIFIC_TERMS = 2
CONSENT_TERMS = KIND_SPECIFIC_TERMS  # what a document rendered now says


class PartnerDatum(StrEnum):
    """A fact about the client a partner may receive. The value is its name in the partner
    API (`GET /referrals` items: a field of its own for the common minimum, a `client_details`
    key for the others) and, for the others, its key in `referrals.partner_view`."""

    FIRST_NAME = "client_first_name"
    LANGUAGES = "languages"
    NEED = "need"
    MEASURE = "measure"
    FAMILY_NAME = "family_name"
    BIRTH_DATE = "birth_date"
    AGE = "age"
    GERMAN_LEVEL = "german_level"
    QUALIFICATION_TITLE = "qualification_title"
    QUALIFICATION_COUNTRY = "qualification_country"
    QUALIFICATION_DOCUMENTS = "qualification_documents_complete"
    CHILDREN_AGES = "children_ages"


# What the consent clause and the partner's page call each fact.
DATUM_LABELS: dict[PartnerDatum, str] = {
    PartnerDatum.FIRST_NAME: "Vorname",
    PartnerDatum.LANGUAGES: "Sprachen",
    PartnerDatum.NEED: "Art des Bedarfs",
    PartnerDatum.MEASURE: "vorgesehene Maßnahme",
    PartnerDatum.FAMILY_NAME: "Familienname",
    PartnerDatum.BIRTH_DATE: "Geburtsdatum",
    PartnerDatum.AGE: "Alter",
    PartnerDatum.GERMAN_LEVEL: "Deutschkenntnisse",
    PartnerDatum.QUALIFICATION_TITLE: "Bezeichnung der Qualifikation",
    PartnerDatum.QUALIFICATION_COUNTRY: "Herkunftsland der Qualifikation",
    PartnerDatum.QUALIFICATION_DOCUMENTS: "Stand der Unterlagen",
    PartnerDatum.CHILDREN_AGES: "Anzahl und Alter der Kinder ohne Betreuungsplatz",
}

COMMON_MINIMUM: tuple[PartnerDatum, ...] = (
    PartnerDatum.FIRST_NAME,
    PartnerDatum.LANGUAGES,
    PartnerDatum.NEED,
    PartnerDatum.MEASURE,
)

# The facts of the qualification a credential route is about (`Route.qualification`); a
# partner learns them only for a credential need, and only of that one qualification.
QUALIFICATION_DATA: tuple[PartnerDatum, ...] = (
    PartnerDatum.QUALIFICATION_TITLE,
    PartnerDatum.QUALIFICATION_COUNTRY,
    PartnerDatum.QUALIFICATION_DOCUMENTS,
)


@dataclass(frozen=True)
class KindTerms:
    """What the consent clause says of one partner kind."""

    # The kind as the clause names it: accusative, with its indefinite article ("an ein
    # Jobcenter in Musterstadt").
    named: str
    # The facts beyond the common minimum, in the order the clause and the page list them.
    data: tuple[PartnerDatum, ...]


KIND_TERMS: dict[ActorKind, KindTerms] = {
    # Places the client in a course module and a group: the German level is what its placement
    # starts from. The measure already says literacy, youth or parents' course, so neither age
    # nor children are needed; the school invites through the contact the client is given.
    ActorKind.LANGUAGE_COURSE_PROVIDER: KindTerms(
        "einen Träger von Integrations- oder Berufssprachkursen",
        (PartnerDatum.GERMAN_LEVEL,),
    ),
    # Must invite the client and find her in its own files (she receives Bürgergeld there):
    # that takes family name and date of birth. Its records hold the address and the benefits,
    # so Lotse sends neither.
    ActorKind.JOBCENTER: KindTerms(
        "ein Jobcenter", (PartnerDatum.FAMILY_NAME, PartnerDatum.BIRTH_DATE)
    ),
    # Registers the client as seeking work or invites her to career guidance: it identifies a
    # person by family name and date of birth, like the Jobcenter.
    ActorKind.EMPLOYMENT_AGENCY: KindTerms(
        "eine Agentur für Arbeit", (PartnerDatum.FAMILY_NAME, PartnerDatum.BIRTH_DATE)
    ),
    # Decides on the recognition of one qualification: which one (title), from where (country:
    # the reference occupation and the documents to expect depend on it) and whether the
    # documents are complete (the procedure's clock starts with them). Never the other
    # qualifications, nor the residence status.
    ActorKind.RECOGNITION_OFFICE: KindTerms(
        "eine für die Anerkennung zuständige Stelle", QUALIFICATION_DATA
    ),
    # Prepares that application with the client: the same three facts tell it what to advise on
    # (mostly documents still missing).
    ActorKind.RECOGNITION_COUNSELLING: KindTerms(
        "eine Anerkennungsberatungsstelle", QUALIFICATION_DATA
    ),
    # Must find the client's file to clarify her residence: family name and date of birth. It
    # holds the residence status itself; Lotse does not send it.
    ActorKind.FOREIGNERS_AUTHORITY: KindTerms(
        "eine Ausländerbehörde", (PartnerDatum.FAMILY_NAME, PartnerDatum.BIRTH_DATE)
    ),
    # Looks for a childcare place: how many children need one and how old they are (the legal
    # claim and the groups go by age). Children who have a place already are none of its
    # business, nor are their birth dates: ages in years suffice.
    ActorKind.CHILDCARE_OFFICE: KindTerms(
        "eine Stelle für die Vergabe von Kita-Plätzen", (PartnerDatum.CHILDREN_AGES,)
    ),
    # Serves young people from 12 to 26: the age (at the referral) tells it the client is
    # one of them; the date of birth would say more than that.
    ActorKind.YOUTH_MIGRATION_SERVICE: KindTerms(
        "einen Jugendmigrationsdienst", (PartnerDatum.AGE,)
    ),
    # Counsels the client in person (e.g. on childcare for a baby): it asks her itself.
    ActorKind.MIGRATION_COUNSELLING: KindTerms("eine Migrationsberatungsstelle", ()),
}


def kind_data(kind: ActorKind, need: NeedKind) -> tuple[PartnerDatum, ...]:
    """The facts beyond the common minimum a partner of `kind` receives for a referral of
    `need`. Qualification facts go with a credential need only: any other need of a
    recognition partner concerns no particular qualification."""
    data = KIND_TERMS[kind].data
    if need is not NeedKind.CREDENTIAL:
        data = tuple(datum for datum in data if datum not in QUALIFICATION_DATA)
    return data


def partner_data(
    kind: ActorKind, need: NeedKind, terms: int = CONSENT_TERMS
) -> tuple[PartnerDatum, ...]:
    """Everything a partner of `kind` receives for a referral of `need` under the consent
    clause `terms`: what the clause names, in its order."""
    if terms < KIND_SPECIFIC_TERMS:
        return COMMON_MINIMUM
    return COMMON_MINIMUM + kind_data(kind, need)


class PartnerView(StrictModel):
    """The kind-specific facts one referral's partner receives (the common minimum is in the
    referral row's own columns). A fact its kind does not receive, or the profile lacks, stays
    None. Personal data: it goes to the read model in the case's projection, never into an
    event."""

    family_name: str | None = None
    birth_date: date | None = None
    age: int | None = None  # completed years on the day of the referral
    german_level: GermanLevel | None = None
    qualification_title: str | None = None
    qualification_country: str | None = None  # ISO 3166-1 alpha-2
    qualification_documents_complete: bool | None = None
    children_ages: Annotated[list[int], Field(max_length=20)] | None = None

    def stored(self) -> dict[str, object]:
        """As the read model keeps it (`referrals.partner_view`): only the facts present."""
        return self.model_dump(mode="json", exclude_none=True)

    def only(self, data: tuple[PartnerDatum, ...]) -> "PartnerView":
        """This view without any fact outside `data`."""
        kept = {datum.value for datum in data}
        return PartnerView.model_validate(
            {key: value for key, value in self.stored().items() if key in kept}
        )


def partner_view(
    kind: ActorKind,
    need: NeedKind,
    *,
    terms: int,
    family_name: str,
    profile: IntakeData | None,
    qualification: str | None,
    on: date,
) -> PartnerView:
    """The facts the partner of one referral receives beyond the common minimum: the route's
    `kind` and `need`, the consent `terms` in force when it was dispatched, the client's
    family name and profile, the title of the qualification the route is about, and the day of
    the referral (ages are counted on it)."""
    if terms < KIND_SPECIFIC_TERMS:
        return PartnerView()
    wanted = set(kind_data(kind, need))
    values: dict[str, object] = {}
    if PartnerDatum.FAMILY_NAME in wanted and family_name:
        values["family_name"] = family_name
    if profile is None:
        return PartnerView.model_validate(values)
    if PartnerDatum.BIRTH_DATE in wanted:
        values["birth_date"] = profile.birth_date
    if PartnerDatum.AGE in wanted:
        values["age"] = age_on(profile.birth_date, on)
    if PartnerDatum.GERMAN_LEVEL in wanted:
        values["german_level"] = profile.german_level
    # The route names its qualification by title (rules/plan.py); two of the same title are
    # one for the partner.
    about = next((q for q in profile.qualifications if q.title == qualification), None)
    if about is not None:
        if PartnerDatum.QUALIFICATION_TITLE in wanted:
            values["qualification_title"] = about.title
        if PartnerDatum.QUALIFICATION_COUNTRY in wanted:
            values["qualification_country"] = about.country
        if PartnerDatum.QUALIFICATION_DOCUMENTS in wanted:
            values["qualification_documents_complete"] = about.documents_complete
    if PartnerDatum.CHILDREN_AGES in wanted:
        ages = sorted(age_on(c.birth_date, on) for c in profile.children if not c.has_childcare)
        if ages:
            values["children_ages"] = ages
    return PartnerView.model_validate(values)
