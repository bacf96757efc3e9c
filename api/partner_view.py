"""The facts of its partner kind a partner sees on a referral, in German: what `GET /referrals`
items carry as `client_details` and the partner's referral page lists below the first name and
languages.

The read model keeps raw values (`referrals.partner_view`: an ISO country code, a CEFR code, an
ISO date); this module turns them into what a person at the partner reads: „A2 (Grundstufe)",
„Syrien", „17.05.1990", „vollständig". It shows only the facts domain/consent.py gives the
row's partner kind for its need, in the table's order, so a row written wrongly cannot show
more than the signed clause names.
"""

from datetime import date

from pydantic import BaseModel

from domain.consent import DATUM_LABELS, PartnerDatum, PartnerView, kind_data
from domain.enums import GermanLevel
from domain.labels import GERMAN_LEVEL_LABELS

# German country names are domain/languages.py's, one table for every page and the document.
from domain.languages import country_name as country_name
from domain.months import GERMAN_TIME
from store.projections import ReferralSummary


class ClientDetail(BaseModel):
    """One fact about the client, as the consent clause names it and a person reads it."""

    key: PartnerDatum
    label: str  # German, as in the consent clause
    value: str  # German display text (dates dd.mm.yyyy, country names in German)


def client_details(row: ReferralSummary) -> list[ClientDetail]:
    """The kind-specific facts of `row`'s client its partner sees (none for a referral from
    before migration 0008, and none once it is withdrawn)."""
    stored = row.partner_view or {}
    view = PartnerView.model_validate(
        {key: value for key, value in stored.items() if key in PartnerView.model_fields}
    )
    details: list[ClientDetail] = []
    for datum in kind_data(row.actor_kind, row.need_kind):
        value = getattr(view, datum.value)
        if value is not None:
            text = _text(datum, value, row)
            details.append(ClientDetail(key=datum, label=DATUM_LABELS[datum], value=text))
    return details


def _text(datum: PartnerDatum, value: object, row: ReferralSummary) -> str:
    if isinstance(value, bool):  # the qualification's documents
        return "vollständig" if value else "unvollständig"
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    if isinstance(value, GermanLevel):
        return GERMAN_LEVEL_LABELS[value]
    if isinstance(value, int):  # the age, counted on the day of the referral: say which
        on = row.dispatched_at.astimezone(GERMAN_TIME)
        return f"{_years(value)} (am {on:%d.%m.%Y})"
    if isinstance(value, list):  # the children without a place
        ages = ", ".join(_years(age) for age in value)
        return f"{len(value)} {'Kind' if len(value) == 1 else 'Kinder'}: {ages}"
    if datum is PartnerDatum.QUALIFICATION_COUNTRY:
        return country_name(str(value))
    return str(value)


def _years(age: int) -> str:
    if age < 1:
        return "unter 1 Jahr"
    return f"{age} {'Jahr' if age == 1 else 'Jahre'}"
