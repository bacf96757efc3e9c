"""What each partner sees of a client, through HTTP: a language school, a recognition office
with a credential need and a Jobcenter each get the common minimum and exactly the facts of
their kind (domain/consent.py), in German, in `GET /referrals` and on the referral page; no
other fact of the profile appears anywhere in what they are sent. A withdrawn referral shows
none of it any more.

Real Temporal (a time-skipping server of this module), the real workflows and activities, the
seeded SQLite store; the pages through a browser-like client with a cookie jar.
"""

import html
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from api.partner_view import client_details, country_name
from domain.enums import ActorKind, NeedKind
from domain.referral import ReferralStatus
from store.projections import ReferralSummary
from tests.api_harness import Lotse, eventually
from tests.ui_harness import Browser

# Amal: A2 German, Bürgergeld, a permit, two qualifications (a physician's degree with every
# document, regulated: the recognition office; a nursing diploma with documents missing: the
# recognition counselling), a toddler without a Kita place.
INTAKE: dict[str, Any] = {
    "birth_date": "1990-05-17",
    "languages": ["ar"],
    "german_level": "A2",
    "residence": {"status": "permit", "expires_on": "2030-03-01"},
    "receives_citizens_benefit": True,
    "employment": "unemployed",
    "qualifications": [
        {
            "title": "Ärztin",
            "country": "SY",
            "kind": "academic",
            "regulated": True,
            "documents_complete": True,
        },
        {
            "title": "Krankenpflegerin",
            "country": "JO",
            "kind": "vocational",
            "regulated": True,
            "documents_complete": False,
        },
    ],
    "children": [{"birth_date": "2023-04-01", "has_childcare": False}],
    "goals": ["language", "employment", "recognition"],
}
NEEDS = {"needs": [{"kind": "language"}, {"kind": "employment"}, {"kind": "credential"}]}

# Profile facts no partner of these three receives.
NOBODYS = (
    "Bürgergeld",
    "citizens_benefit",
    "Aufenthaltserlaubnis",
    "permit",
    "2030-03-01",  # the permit's expiry
    "01.03.2030",
    "Krankenpflegerin",  # the qualification the recognition office is not asked about
    "Jordanien",
    "2023-04-01",  # the child
    "01.04.2023",
    "unemployed",
    "arbeitslos",
)
FAMILY_NAME_AND_BIRTH = ("Haddad", "17.05.1990", "1990-05-17")


async def _active_case(lotse: Lotse) -> str:
    client = {"given_name": "Amal", "family_name": "Haddad"}
    case_id = (await lotse.ok("berater1", "POST", "/cases", json={"client": client}))["id"]
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/intake", json=INTAKE)
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/assessment", json=NEEDS)
    routes = (await lotse.ok("berater1", "GET", f"/cases/{case_id}"))["routes"]
    assert {(r["actor"], r["qualification"]) for r in routes} >= {
        ("recognition_office", "Ärztin"),
        ("recognition_counselling", "Krankenpflegerin"),
    }
    measures = [
        {"text": f"Maßnahme {route['measure']}", "responsible": "partner", "route_id": route["id"]}
        for route in routes
        if route["partner_id"] is not None
    ]
    draft = {"goals": [{"text": "Als Ärztin arbeiten"}], "measures": measures}
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/agreement", json=draft)
    document = await lotse.ok("berater1", "POST", f"/cases/{case_id}/signature-request")
    for party in ("client", "counsellor"):
        signature = {"party": party, "document_hash": document["document_hash"]}
        await lotse.ok("berater1", "POST", f"/cases/{case_id}/signatures", json=signature)
    return case_id


async def _seen(lotse: Lotse, partner: str, case_id: str) -> tuple[dict[str, Any], str, str]:
    """The partner's item of the case (and its whole `GET /referrals` answer as text, every
    other case's items left out) and its referral page's text."""
    item = await lotse.inbox_item(partner, case_id)
    browser = Browser(lotse)
    assert (await browser.login(partner)).status_code == 303
    page = await browser.get(f"/eingang/{item['id']}")
    assert page.status_code == 200
    return item, json.dumps(item, ensure_ascii=False), html.unescape(page.text)


def _details(item: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(d["key"], d["label"], d["value"]) for d in item["client_details"]]


def _absent(words: tuple[str, ...], *texts: str) -> None:
    for text in texts:
        for word in words:
            assert word not in text, word


async def test_each_partner_sees_the_facts_of_its_kind_and_nothing_else(lotse: Lotse) -> None:
    case_id = await _active_case(lotse)

    school, school_json, school_page = await _seen(lotse, "sprachkurs", case_id)
    assert (school["client_first_name"], school["languages"], school["need"]) == (
        "Amal",
        ["ar"],
        "language",
    )
    assert _details(school) == [("german_level", "Deutschkenntnisse", "A2 (Grundstufe)")]
    assert "Deutschkenntnisse" in school_page and "A2 (Grundstufe)" in school_page
    _absent(
        (*NOBODYS, *FAMILY_NAME_AND_BIRTH, "Ärztin", "Syrien", "credential", "employment"),
        school_json,
        school_page,
    )

    office, office_json, office_page = await _seen(lotse, "anerkennung", case_id)
    assert office["need"] == "credential" and office["client_first_name"] == "Amal"
    assert _details(office) == [
        ("qualification_title", "Bezeichnung der Qualifikation", "Ärztin"),
        ("qualification_country", "Herkunftsland der Qualifikation", "Syrien"),
        ("qualification_documents_complete", "Stand der Unterlagen", "vollständig"),
    ]
    for shown in ("Bezeichnung der Qualifikation", "Ärztin", "Syrien", "vollständig"):
        assert shown in office_page, shown
    _absent(
        (*NOBODYS, *FAMILY_NAME_AND_BIRTH, "Grundstufe", "Deutschkenntnisse", "employment"),
        office_json,
        office_page,
    )

    jobcenter, jobcenter_json, jobcenter_page = await _seen(lotse, "jobcenter", case_id)
    assert jobcenter["need"] == "employment"
    assert _details(jobcenter) == [
        ("family_name", "Familienname", "Haddad"),
        ("birth_date", "Geburtsdatum", "17.05.1990"),
    ]
    for shown in ("Familienname", "Haddad", "Geburtsdatum", "17.05.1990"):
        assert shown in jobcenter_page, shown
    _absent(
        (
            *NOBODYS,
            "1990-05-17",
            "Grundstufe",
            "Deutschkenntnisse",
            "Ärztin",
            "Syrien",
            "credential",
        ),
        jobcenter_json,
        jobcenter_page,
    )


async def test_a_withdrawn_referral_shows_its_partner_nothing_of_the_client(lotse: Lotse) -> None:
    case_id = await _active_case(lotse)
    jobcenter = await lotse.inbox_item("jobcenter", case_id)
    assert _details(jobcenter)
    path = f"/cases/{case_id}/referrals/{jobcenter['id']}/withdraw"
    await lotse.ok("berater1", "POST", path, json={"reason": "Klientin hat widerrufen"})

    async def withdrawn() -> dict[str, Any] | None:
        page = await lotse.ok("jobcenter", "GET", "/referrals", params={"status": "withdrawn"})
        found = [item for item in page["items"] if item["id"] == jobcenter["id"]]
        return found[0] if found else None

    item = await eventually(withdrawn)
    assert (item["client_first_name"], item["languages"], item["client_details"]) == ("", [], [])
    browser = Browser(lotse)
    assert (await browser.login("jobcenter")).status_code == 303
    page = html.unescape((await browser.get(f"/eingang/{jobcenter['id']}")).text)
    _absent(("Amal", *FAMILY_NAME_AND_BIRTH), json.dumps(item), page)


# --- the German display of each kind's facts, on rows as the read model holds them ---------

DISPATCHED = datetime(2025, 3, 3, 23, 30, tzinfo=UTC)  # 4 March in Germany


def _row(kind: ActorKind, need: NeedKind, view: dict[str, object]) -> ReferralSummary:
    return ReferralSummary(
        id="case-1-ref-1",
        case_id="case-1",
        municipality_id="musterstadt",
        route_id="r1",
        partner_id="p",
        actor_kind=kind,
        measure="m",
        need_kind=need,
        status=ReferralStatus.DISPATCHED,
        dispatched_at=DISPATCHED,
        client_first_name="Amal",
        partner_view=view,
        updated_at=DISPATCHED,
    )


@pytest.mark.parametrize(
    ("kind", "need", "view", "shown"),
    [
        (
            ActorKind.YOUTH_MIGRATION_SERVICE,
            NeedKind.OTHER,
            {"age": 19},
            [("Alter", "19 Jahre (am 04.03.2025)")],
        ),
        (
            ActorKind.CHILDCARE_OFFICE,
            NeedKind.CHILDCARE,
            {"children_ages": [0, 1, 4]},
            [
                (
                    "Anzahl und Alter der Kinder ohne Betreuungsplatz",
                    "3 Kinder: unter 1 Jahr, 1 Jahr, 4 Jahre",
                )
            ],
        ),
        (
            ActorKind.RECOGNITION_COUNSELLING,
            NeedKind.CREDENTIAL,
            {
                "qualification_title": "Lehrerin",
                "qualification_country": "IR",
                "qualification_documents_complete": False,
            },
            [
                ("Bezeichnung der Qualifikation", "Lehrerin"),
                ("Herkunftsland der Qualifikation", "Iran"),
                ("Stand der Unterlagen", "unvollständig"),
            ],
        ),
        # A row holding more than its kind receives (written by a bug) shows only the kind's.
        (
            ActorKind.LANGUAGE_COURSE_PROVIDER,
            NeedKind.LANGUAGE,
            {"german_level": "none", "family_name": "Haddad", "unknown_key": "x"},
            [("Deutschkenntnisse", "keine Deutschkenntnisse")],
        ),
        # Before migration 0008 (and once withdrawn): nothing beyond the common minimum.
        (ActorKind.JOBCENTER, NeedKind.EMPLOYMENT, {}, []),
    ],
)
def test_each_fact_reads_in_german(
    kind: ActorKind, need: NeedKind, view: dict[str, object], shown: list[tuple[str, str]]
) -> None:
    details = client_details(_row(kind, need, view))
    assert [(detail.label, detail.value) for detail in details] == shown


def test_country_names_are_german_and_short() -> None:
    assert [country_name(code) for code in ("SY", "UA", "TR", "XX")] == [
        "Syrien",
        "Ukraine",
        "Türkei",
        "XX",
    ]
