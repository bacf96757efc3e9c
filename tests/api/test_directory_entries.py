"""The directory's municipalities, centres and partner agencies over the admin API
(api/routes/admin_directory.py), on SQLite and PostgreSQL, without Temporal: create, list,
edit, deactivate and reactivate; a taken id is 409, an unknown reference 422 naming the field,
a missing entry 404; a kind stays once cases or referrals use it; there is no delete; every
write is one audit entry of ids and verbs, a refusal none.

Hostile input: every field of every payload with control characters, bidi controls, line
breaks, huge values, wrong types and values out of range is a 422 in German naming the field,
and nothing is written.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from domain.enums import ActorKind, NeedKind
from domain.referral import ReferralStatus
from store.models import Centre, Municipality, PartnerAgency
from store.projections import AuditEvent, CaseSummary, ReferralSummary
from tests.api_harness import StoreOnly, field_messages, store_only
from tests.hostile_values import HUGE, store_texts_are_clean, variants, with_value

MUNICIPALITY: dict[str, Any] = {"id": "neustadt", "name": "Neustadt an der Weide", "land": "BY"}
CENTRE: dict[str, Any] = {
    "id": "jmd-neustadt",
    "municipality_id": "musterstadt",
    "name": "JMD Neustadt",
    "kind": "JMD",
    "address": "Am Markt 1, 12345 Musterstadt",
    "phone": "01234 5678-0",
    "email": "jmd@musterstadt.example",
}
PARTNER: dict[str, Any] = {
    "id": "lernwerk",
    "name": "Lernwerk Musterstadt",
    "kind": "language_course_provider",
    "municipality_id": "musterstadt",
    "measures": ["integration_course"],
    "contact_email": "kurse@lernwerk.example",
}
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("directory")) as system:
        yield system


def _admin_entries(system: StoreOnly) -> list[tuple[str, str, str]]:
    with Session(system.engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action).startswith("admin."))
            .order_by(col(AuditEvent.id))
        ).all()
        return [(row.action, row.object_type, row.object_id) for row in rows]


async def test_a_municipality_is_added_edited_deactivated_and_reactivated_never_deleted(
    system: StoreOnly,
) -> None:
    created = await system.call("admin", "POST", "/admin/municipalities", json=MUNICIPALITY)
    assert created.status_code == 201, created.text
    # The Land as typed in lower case is stored as its code; the prefix comes from the id.
    assert created.json() == MUNICIPALITY | {"case_prefix": "NEU", "active": True}
    listed = await system.api("admin", "/admin/municipalities")
    assert [m["id"] for m in listed] == ["musterstadt", "neustadt"]

    again = await system.call(
        "admin", "POST", "/admin/municipalities", json=MUNICIPALITY | {"name": "Anders"}
    )
    assert again.status_code == 409
    assert again.json()["detail"] == "Eine Kommune mit der Id 'neustadt' existiert bereits."
    assert field_messages(again) == {"id": "Diese Kennung ist schon vergeben."}

    edited = await system.call(
        "admin", "PATCH", "/admin/municipalities/neustadt", json={"name": "Neustadt", "land": "he"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json() == {
        "id": "neustadt",
        "name": "Neustadt",
        "land": "HE",
        "case_prefix": "NEU",
        "active": True,
    }
    off = await system.call(
        "admin", "PATCH", "/admin/municipalities/neustadt", json={"active": False}
    )
    assert off.json()["active"] is False and off.json()["name"] == "Neustadt"
    # The same change again changes nothing and records nothing.
    await system.call("admin", "PATCH", "/admin/municipalities/neustadt", json={"active": False})
    on = await system.call(
        "admin", "PATCH", "/admin/municipalities/neustadt", json={"active": True}
    )
    assert on.json()["active"] is True

    missing = await system.call(
        "admin", "PATCH", "/admin/municipalities/nirgendwo", json={"active": False}
    )
    assert missing.status_code == 404
    assert missing.json()["detail"] == "Eine Kommune mit dieser Id fehlt."
    for path in ("/admin/municipalities/neustadt", "/admin/centres/mbe-mitte"):
        assert (await system.call("admin", "DELETE", path)).status_code == 405
    assert _admin_entries(system) == [
        ("admin.municipality_create", "municipality", "neustadt"),
        ("admin.municipality_change", "municipality", "neustadt"),
        ("admin.municipality_deactivate", "municipality", "neustadt"),
        ("admin.municipality_reactivate", "municipality", "neustadt"),
    ]


async def test_a_centre_belongs_to_a_known_municipality_and_keeps_its_kind_once_it_has_cases(
    system: StoreOnly,
) -> None:
    unknown = await system.call(
        "admin", "POST", "/admin/centres", json=CENTRE | {"municipality_id": "nirgendwo"}
    )
    assert unknown.status_code == 422
    assert field_messages(unknown) == {
        "municipality_id": "'nirgendwo' gibt es im Verzeichnis nicht."
    }
    taken = await system.call("admin", "POST", "/admin/centres", json=CENTRE | {"id": "mbe-mitte"})
    assert taken.status_code == 409
    assert (
        taken.json()["detail"] == "Eine Beratungsstelle mit der Id 'mbe-mitte' existiert bereits."
    )

    created = await system.call("admin", "POST", "/admin/centres", json=CENTRE)
    assert created.status_code == 201, created.text
    assert created.json() == CENTRE | {"active": True}
    bare = {"id": "mbe-bare", "municipality_id": "musterstadt", "name": "MBE", "kind": "MBE"}
    assert (await system.call("admin", "POST", "/admin/centres", json=bare)).json() == bare | {
        "address": "",
        "phone": "",
        "email": "",
        "active": True,
    }
    # No case yet: the kind may change; contact fields may be emptied.
    changed = await system.call(
        "admin", "PATCH", "/admin/centres/jmd-neustadt", json={"kind": "MBE", "phone": ""}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["kind"] == "MBE" and changed.json()["phone"] == ""

    system.add(_case("jmd-neustadt"))
    refused = await system.call(
        "admin", "PATCH", "/admin/centres/jmd-neustadt", json={"kind": "JMD", "name": "Neu"}
    )
    assert refused.status_code == 409
    assert field_messages(refused) == {
        "kind": "Die Art der Beratungsstelle lässt sich nicht mehr ändern: Sie hat bereits Fälle."
    }
    same_kind = await system.call(
        "admin", "PATCH", "/admin/centres/jmd-neustadt", json={"kind": "MBE", "active": False}
    )
    assert same_kind.status_code == 200 and same_kind.json()["active"] is False
    listed = await system.api("admin", "/admin/centres")
    assert [c for c in listed if c["id"] == "jmd-neustadt"] == [same_kind.json()]
    assert (
        await system.call("admin", "PATCH", "/admin/centres/gibt-es-nicht", json={"name": "X"})
    ).status_code == 404
    assert _admin_entries(system) == [
        ("admin.centre_create", "centre", "jmd-neustadt"),
        ("admin.centre_create", "centre", "mbe-bare"),
        ("admin.centre_change", "centre", "jmd-neustadt"),
        ("admin.centre_deactivate", "centre", "jmd-neustadt"),
    ]


async def test_a_partner_s_measures_contact_and_kind_are_edited_and_it_is_deactivated(
    system: StoreOnly,
) -> None:
    created = await system.call("admin", "POST", "/admin/partners", json=PARTNER)
    assert created.status_code == 201, created.text
    changes = {
        "name": "Lernwerk",
        "measures": ["job_language_course", "integration_course", "job_language_course"],
        "contact_email": "",
        "kind": "employment_agency",
    }
    edited = await system.call("admin", "PATCH", "/admin/partners/lernwerk", json=changes)
    assert edited.status_code == 200, edited.text
    # A measure named twice is offered once.
    assert edited.json() == PARTNER | changes | {
        "measures": ["job_language_course", "integration_course"],
        "active": True,
    }
    system.add(_referral("lernwerk"))
    refused = await system.call(
        "admin", "PATCH", "/admin/partners/lernwerk", json={"kind": "jobcenter"}
    )
    assert refused.status_code == 409
    assert "bereits Vermittlungen" in field_messages(refused)["kind"]
    off = await system.call("admin", "PATCH", "/admin/partners/lernwerk", json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    with Session(system.engine) as session:
        stored = session.get(PartnerAgency, "lernwerk")
        assert stored is not None and not stored.active and stored.kind == "employment_agency"
    assert (
        await system.call("admin", "PATCH", "/admin/partners/weg", json={"active": False})
    ).status_code == 404
    assert _admin_entries(system) == [
        ("admin.partner_create", "partner", "lernwerk"),
        ("admin.partner_change", "partner", "lernwerk"),
        ("admin.partner_deactivate", "partner", "lernwerk"),
    ]


def _case(centre_id: str) -> CaseSummary:
    return CaseSummary(
        case_id="case-00000000-0000-4000-8000-0000000000c1",
        municipality_id="musterstadt",
        centre_id=centre_id,
        counsellor_id="berater1",
        stage="intake",
        client_display_name="Amina K.",
        client_given_name="Amina",
        client_family_name="Karimi",
        number="MUS-2026-0901",
        opened_at=NOW,
        updated_at=NOW,
    )


def _referral(partner_id: str) -> ReferralSummary:
    return ReferralSummary(
        id="case-00000000-0000-4000-8000-0000000000c1-ref-1",
        case_id="case-00000000-0000-4000-8000-0000000000c1",
        municipality_id="musterstadt",
        route_id="r1",
        partner_id=partner_id,
        actor_kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
        measure="integration_course",
        need_kind=NeedKind.LANGUAGE,
        status=ReferralStatus.DISPATCHED,
        dispatched_at=NOW,
        client_first_name="Amina",
        updated_at=NOW,
    )


# --- hostile input ------------------------------------------------------------------------

# (method, path, valid body, {field: (kind of value, its German label)})
TARGETS: list[tuple[str, str, dict[str, Any], dict[str, tuple[str, str]]]] = [
    (
        "POST",
        "/admin/municipalities",
        MUNICIPALITY,
        {"id": ("slug", "Kennung"), "name": ("line", "Name"), "land": ("land", "Bundesland")},
    ),
    (
        "PATCH",
        "/admin/municipalities/musterstadt",
        {"name": "Musterstadt", "land": "NW"},
        {"name": ("line", "Name"), "land": ("land", "Bundesland"), "active": ("bool", "Aktiv")},
    ),
    (
        "POST",
        "/admin/centres",
        CENTRE,
        {
            "id": ("slug", "Kennung"),
            "municipality_id": ("slug", "Kommune"),
            "name": ("line", "Name"),
            "kind": ("choice", "Art"),
            "address": ("line", "Anschrift"),
            "phone": ("line", "Telefon"),
            "email": ("line", "E-Mail"),
        },
    ),
    (
        "PATCH",
        "/admin/centres/mbe-mitte",
        {k: v for k, v in CENTRE.items() if k not in ("id", "municipality_id", "kind")},
        {
            "name": ("line", "Name"),
            "kind": ("choice", "Art"),
            "address": ("line", "Anschrift"),
            "phone": ("line", "Telefon"),
            "email": ("line", "E-Mail"),
            "active": ("bool", "Aktiv"),
        },
    ),
    (
        "POST",
        "/admin/partners",
        PARTNER,
        {
            "id": ("slug", "Kennung"),
            "name": ("line", "Name"),
            "kind": ("choice", "Art"),
            "municipality_id": ("slug", "Kommune"),
            "measures": ("list", "Angebotene Maßnahmen"),
            "measures.0": ("line", "Maßnahme"),
            "contact_email": ("line", "E-Mail für Vermittlungen"),
        },
    ),
    (
        "PATCH",
        "/admin/partners/sprachschule-musterstadt",
        {"name": "Sprachschule", "measures": ["integration_course"]},
        {
            "name": ("line", "Name"),
            "kind": ("choice", "Art"),
            "measures": ("list", "Angebotene Maßnahmen"),
            "measures.0": ("line", "Maßnahme"),
            "contact_email": ("line", "E-Mail für Vermittlungen"),
            "active": ("bool", "Aktiv"),
        },
    ),
]
_CONTROLS = [value for _, value, _ in variants("line")]
# The bad values of a kind of field that the shared ones (tests/hostile_values.py) do not say
# the way these fields refuse them: an id is refused for its characters, a choice as unknown.
BY_KIND: dict[str, list[tuple[Any, str]]] = {
    "slug": [(v, "Zu lang" if v == HUGE else "Nur Kleinbuchstaben") for v in _CONTROLS]
    + [("", "Zu kurz"), ("Neu Stadt", "Nur Klein"), ("ä-stadt", "Nur Klein"), (7, "Text")],
    "choice": [(v, "Unbekannter Wert") for v in _CONTROLS] + [("mbe", "Unbekannt"), (1, "Unbek")],
    "land": [
        ("N\x00", "Unbekanntes Land"),
        ("\u202eN", "Unbekanntes Land"),
        (HUGE, "Zu lang"),
        ("ZZ", "Unbekanntes Land-Kürzel"),
        ("DE-NW", "Zu lang"),
        ("", "Zu kurz"),
        (5, "Text"),
    ],
    "bool": [("vielleicht", "ja oder nein"), (2, "ja oder nein"), (HUGE, "ja oder nein")],
    "list": [(["m"] * 51, "Zu lang"), ("integration_course", "Liste"), ({"a": 1}, "Liste")],
}
# Out of range and wrong, per field.
BY_FIELD: dict[str, list[tuple[Any, str]]] = {
    "name": [("", "Bitte geben Sie den Namen ein"), ("N" * 201, "Zu lang"), (["N"], "Text")],
    "address": [("A" * 301, "Zu lang"), ({"street": "x"}, "Text")],
    "phone": [("ruf mich an", "Telefonnummer"), ("0" * 41, "Zu lang")],
    "email": [("jmd.example", "E-Mail-Adresse"), ("a" * 250 + "@b.de", "Zu lang")],
    "contact_email": [("kurse(at)lernwerk", "E-Mail-Adresse")],
    "measures.0": [("", "Bitte geben Sie die Maßnahme an"), ("m" * 65, "Zu lang")],
}


def _cases() -> list[tuple[str, str, dict[str, Any], str, Any, str, str]]:
    """(method, path, body, field, value, words, label) for every field and bad value."""
    found = []
    for method, path, body, fields in TARGETS:
        for field, (kind, label) in fields.items():
            bad = (
                BY_KIND[kind]
                if kind in BY_KIND
                else [(value, words) for _, value, words in variants(kind)]
            )
            for value, words in bad + BY_FIELD.get(field, []):
                found.append((method, path, body, field, value, words, label))
    return found


def _snapshot(system: StoreOnly) -> list[Any]:
    """The directory's rows and the administrators' audit entries (logins add theirs)."""
    with Session(system.engine) as session:
        rows = [
            [row.model_dump() for row in session.exec(select(table)).all()]
            for table in (Municipality, Centre, PartnerAgency)
        ]
    return [*rows, _admin_entries(system)]


async def test_every_field_refuses_hostile_and_out_of_range_values_in_german_naming_it(
    system: StoreOnly,
) -> None:
    before = _snapshot(system)
    failures: list[str] = []
    for method, path, body, field, value, words, label in _cases():
        response = await system.call("admin", method, path, json=with_value(body, field, value))
        shown = f"{method} {path} {field}={str(value)[:30]!r}"
        if response.status_code != 422:
            failures.append(f"{shown}: {response.status_code} {response.text[:200]}")
            continue
        fields = field_messages(response)
        message = fields.get(field) or fields.get(field.split(".")[0], "")
        if words not in message or label not in message:
            failures.append(f"{shown}: {fields}")
    assert not failures, "\n".join(failures[:20])
    # An unknown field, a body that is not an object, a path id of huge length.
    for method, path, _, _ in TARGETS:
        assert (await system.call("admin", method, path, json={"unbekannt": 1})).status_code == 422
        assert (await system.call("admin", method, path, json=["x"])).status_code == 422
    huge_id = await system.call("admin", "PATCH", f"/admin/centres/{'x' * 5000}", json={})
    assert huge_id.status_code == 422
    # A path id no entry can have (a NUL, which PostgreSQL refuses in a query) is not found.
    for kind in ("municipalities", "centres", "partners"):
        for bad in ("mbe%00mitte", "MBE-MITTE", "%E2%80%AEx", "a%0Ab"):
            answer = await system.call("admin", "PATCH", f"/admin/{kind}/{bad}", json={})
            assert answer.status_code == 404, (kind, bad, answer.text)
    assert _snapshot(system) == before
    assert store_texts_are_clean(system.engine)
