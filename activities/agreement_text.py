"""The agreement document as the client and the counsellor sign it: plain text, rendered
deterministically from the draft (the same draft gives the same text and so the same SHA-256,
whichever worker renders it and however often).

The consent clause names, for every measure a partner carries out, the kind of partner in the
municipality, the partner chosen now and exactly the data that kind receives (the table in
domain/consent.py, which the projection and the partner view read as well); what a change of
partner within the kind, a partner of another kind and a withdrawal mean. Nothing reaches a
partner kind the signed document does not name. Pure: the partners, the municipality's name
and the edition's translation are passed in.

A bilingual edition (`language` set) is the German text with each block followed by its
translation (activities/edition_texts.py) and, under the title, the sentence that the German
text is binding (and, for an unreviewed translation, that it is unchecked) in both languages.
The hash covers all of it: what the client read is what she signed. Without a language no
line of a translation enters the text (an input recorded before editions renders alike).
"""

import hashlib
from collections.abc import Mapping
from datetime import datetime

from activities.edition_texts import EditionTexts
from domain.case import CaseGoal, CaseRoute, ClientName, Measure, Responsible
from domain.consent import DATUM_LABELS, KIND_TERMS, QUALIFICATION_DATA, partner_data
from domain.editions import EDITION_GERMAN_NAMES, UNREVIEWED_NOTE
from domain.enums import CentreKind
from domain.labels import ACTOR_LABELS, NEED_LABELS
from domain.months import german_day
from domain.partners import Partner
from domain.profile import StrictModel


class AgreementDocumentInput(StrictModel):
    """Everything the document shows; the input of the `render_agreement` activity."""

    case_id: str
    # The human case number the document names; None for a case opened before numbers,
    # whose documents keep naming its id.
    number: str | None = None
    version: int
    municipality_id: str
    centre_id: str
    centre_kind: CentreKind
    client: ClientName | None
    goals: list[CaseGoal]
    measures: list[Measure]
    routes: list[CaseRoute]  # the proposals the measures carry out
    next_review_due: datetime | None  # set for an amendment; a first agreement counts from signing
    first_review_months: int
    max_review_interval_months: int
    # The edition's language (domain/editions.py); None: German only, as every document
    # rendered before editions.
    language: str | None = None


# What the two kinds of centre are, in the words of their federal programmes.
CENTRE_KIND_LABELS: dict[CentreKind, str] = {
    CentreKind.MBE: "Migrationsberatung für erwachsene Zugewanderte",
    CentreKind.JMD: "Jugendmigrationsdienst",
}

RESPONSIBLE_LABELS: dict[Responsible, str] = {
    Responsible.CLIENT: "Klientin/Klient",
    Responsible.COUNSELLOR: "Beratungsstelle",
    Responsible.PARTNER: "Partner",
}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def partner_measures(
    doc: AgreementDocumentInput, partners: Mapping[str, Partner]
) -> list[tuple[Measure, CaseRoute, Partner]]:
    """Each partner measure with its proposal and partner, in document order (KeyError for a
    partner not in `partners`: the caller checks first)."""
    routes = {route.id: route for route in doc.routes}
    return [
        (measure, routes[measure.route_id], partners[measure.partner_id])
        for measure in doc.measures
        if measure.responsible is Responsible.PARTNER
        and measure.route_id is not None
        and measure.partner_id is not None
    ]


def render_agreement_text(
    doc: AgreementDocumentInput,
    partners: Mapping[str, Partner],
    municipality: str = "",
    centre: str = "",
    edition: EditionTexts | None = None,
) -> str:
    """The document; `municipality` is the municipality's name (its id when empty), within
    which the consent clause lets a measure move to another partner of the same kind, and
    `centre` the centre's name (its id when empty); `edition` the translation to follow each
    block (None: German only)."""
    by_partner = {m.id: (route, p) for m, route, p in partner_measures(doc, partners)}
    client = doc.client
    client_name = f"{client.given_name} {client.family_name}".strip() if client else "—"
    place = municipality or doc.municipality_id
    said = edition.texts if edition else None
    lines = ["INTEGRATIONSVEREINBARUNG"]
    if edition and said:
        lines.append(said.title)
    lines.append(f"Fall {doc.number or doc.case_id} · Fassung {doc.version}")
    if edition and said:
        lines += _edition_notes(edition)
    lines += [
        "",
        "zwischen",
        f"  {client_name} (Klientin/Klient)",
        "und",
        f"  der Beratungsstelle „{centre or doc.centre_id}“ "
        f"({CENTRE_KIND_LABELS[doc.centre_kind]}) in {place}.",
    ]
    if said:
        parties = said.parties.format(
            client=client_name, centre=centre or doc.centre_id, municipality=place
        )
        lines.append(f"  {parties}")
    lines += ["", "1. Ziele"]
    for number, goal in enumerate(doc.goals, start=1):
        until = f" (bis {goal.target_date:%d.%m.%Y})" if goal.target_date else ""
        lines.append(f"  1.{number} {goal.text}{until}")
    if said:
        lines += [said.goals, f"  {said.goals_note}"]
    lines += ["", "2. Maßnahmen"]
    if not doc.measures:
        lines.append("  keine")
    for number, measure in enumerate(doc.measures, start=1):
        who = RESPONSIBLE_LABELS[measure.responsible]
        if measure.id in by_partner:
            route, partner = by_partner[measure.id]
            who = f"{ACTOR_LABELS[route.actor]} „{partner.name or partner.id}“"
        lines.append(f"  2.{number} {measure.text} — verantwortlich: {who}")
    if said:
        lines += [said.measures, f"  {said.measures_note}"]
    lines += ["", "3. Überprüfung"]
    if doc.next_review_due is not None:
        due = german_day(doc.next_review_due)
        lines.append(f"  Nächste gemeinsame Überprüfung: {due:%d.%m.%Y}.")
    else:
        lines.append(
            f"  Erste gemeinsame Überprüfung {doc.first_review_months} Monate nach "
            "Unterzeichnung durch beide Seiten."
        )
    lines.append(
        f"  Danach spätestens alle {doc.max_review_interval_months} Monate; Ziele und "
        "Maßnahmen werden dabei angepasst."
    )
    if said:
        lines.append(said.review)
        if doc.next_review_due is not None:
            due = german_day(doc.next_review_due)
            lines.append(f"  {said.review_next.format(date=f'{due:%d.%m.%Y}')}")
        else:
            lines.append(f"  {said.review_first.format(months=doc.first_review_months)}")
        lines.append(f"  {said.review_interval.format(months=doc.max_review_interval_months)}")
    lines += ["", "4. Einwilligung in die Weitergabe von Daten"]
    lines += _consent(doc, by_partner, place)
    if said:
        lines.append(said.consent)
        if by_partner:
            lines += [
                f"  {said.consent_intro.format(municipality=place)}",
                f"  {said.consent_takeover}",
                f"  {said.consent_withdraw}",
                f"  {said.consent_others}",
            ]
        else:
            lines.append(f"  {said.consent_none}")
    lines += ["", "Unterschriften"]
    if said:
        lines.append(said.signatures)
    lines += [
        "  Klientin/Klient: ______________________",
        "  Beratungsstelle: ______________________",
        "",
    ]
    return "\n".join(lines)


def _edition_notes(edition: EditionTexts) -> list[str]:
    """Under the title: which edition this is and that the German text binds, in German and
    in the translation's language; an unreviewed translation says so in both."""
    german = (
        f"Zweisprachige Fassung: Deutsch und {EDITION_GERMAN_NAMES[edition.language]}. "
        "Verbindlich ist allein der deutsche Text."
    )
    translated = edition.texts.binding
    if not edition.reviewed:
        german += f" {UNREVIEWED_NOTE}"
        translated += f" {edition.texts.unreviewed}"
    return [german, translated]


def _consent(
    doc: AgreementDocumentInput,
    by_partner: Mapping[str, tuple[CaseRoute, Partner]],
    municipality: str,
) -> list[str]:
    if not by_partner:
        return ["  Für diese Vereinbarung werden keine Daten an Partner weitergegeben."]
    # Plain language for a client with A2 German: one short sentence a line, the everyday
    # word („bekommt“, „zurücknehmen“), the legal basis named once in brackets.
    lines = [
        "  Ich bin einverstanden: Die Beratungsstelle gibt für jede Maßnahme unten nur die dort",
        "  genannten Daten weiter, und nur an eine Stelle der genannten Art (Art. 6 Abs. 1 lit. a,",
        "  Art. 9 Abs. 2 lit. a DSGVO).",
    ]
    for measure in doc.measures:
        if measure.id not in by_partner:
            continue
        route, partner = by_partner[measure.id]
        data = partner_data(route.actor, route.need)
        named = ", ".join(DATUM_LABELS[datum] for datum in data)
        if route.qualification and any(datum in QUALIFICATION_DATA for datum in data):
            named += f" – nur zur Qualifikation „{route.qualification}“"
        lines += [
            f"  - „{measure.text}“ (Bedarf: {NEED_LABELS[route.need]}): an "
            f"{KIND_TERMS[route.actor].named} in {municipality}, derzeit: "
            f"{partner.name or partner.id}.",
            f"    Daten: {named}.",
        ]
    # Only what Lotse does: a re-route stays within the kind (domain/stages_withdrawal.py), a
    # withdrawn referral's row loses the client's data (store/projector.py), and a referral
    # that ended otherwise keeps what its partner received.
    lines += [
        f"  Übernimmt eine andere Stelle derselben Art in {municipality} eine Maßnahme (zum",
        "  Beispiel weil die jetzige Stelle ablehnt), bekommt sie dieselben Daten.",
        "  Eine Stelle anderer Art bekommt Daten erst, wenn wir diese Vereinbarung ändern und",
        "  beide Seiten neu unterschreiben.",
        "  Ich kann meine Einwilligung jederzeit zurücknehmen, für eine Maßnahme oder für alle.",
        "  Dazu sage ich es der Beratungsstelle.",
        "  Dann holt die Beratungsstelle die laufende Vermittlung zurück. Die Stelle sieht danach",
        "  in Lotse zu dieser Maßnahme keine Daten mehr von mir und bekommt keine neuen.",
        "  Ist eine Vermittlung schon beendet (abgeschlossen, abgelehnt oder abgelaufen), sieht",
        "  die Stelle weiter die Daten, die sie dafür bekommen hat.",
        "  Was bis dahin weitergegeben wurde, durfte weitergegeben werden.",
        "  Andere Partner bekommen über Lotse keine Daten von mir.",
    ]
    return lines
