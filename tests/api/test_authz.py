"""The authorization matrix: every endpoint × every role × (own object, foreign object,
missing id), each cell's status from the one table below. A route of the app without a row
fails `test_every_route_has_a_row`, so a new endpoint cannot skip this test.

Reading the table: 401 is "not logged in", 403 "this role never uses this endpoint" (says
nothing about any object), 404 "no such object, or not yours" (the same answer: ids cannot be
probed). Writes to own objects carry a body the API refuses (422) or an action the workflow
refuses in the object's stage (409, 422), so the matrix changes nothing; that is checked at
the end.

Objects: case A (berater1, mbe-mitte, musterstadt; active, referrals dispatched), case B
(berater2, mbe-nord, musterstadt), case C (berater9 in another municipality), referral A1 (A's
at the language school, acknowledged) and A2 (A's at the Jobcenter), inbound referral I1 (the
language school's to mbe-mitte, declined) and I2 (its to mbe-nord, open).
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session

from domain.enums import ActorKind, CentreKind, NeedKind
from domain.notifications import Addressee, Notice, NoticeKind, event_key
from domain.referral import ReferralStatus
from store.models import Centre, InboundReferral, Municipality
from store.notifications import SqlNoticeLedger
from store.projections import ReferralSummary
from store.reads import notifications as notification_reads
from tests.api_harness import Lotse, eventually, running_lotse, time_skipping_server

ROLES = {
    "anonymous": None,
    "counsellor": "berater1",
    "partner": "sprachkurs",
    "supervisor": "koordination",
    "admin": "admin",
    "evaluator": "auswertung",
    "datenschutz": "datenschutz",
    "regelwerk": "regelwerk",
}
OBJECTS = ("own", "foreign", "missing")
MATRIX_ACCOUNT = "matrix-konto"

Cell = int | tuple[int, int, int]  # one status for all three objects, or (own, foreign, missing)


def row(
    anonymous: Cell,
    counsellor: Cell,
    partner: Cell,
    supervisor: Cell,
    admin: Cell,
    evaluator: Cell = 403,
    datenschutz: Cell = 403,
    regelwerk: Cell = 403,
) -> dict[str, Cell]:
    """The last three columns, the evaluator (aggregates only), the data protection officer
    (erasure, the client's copy, the audit log) and the rule editor (her municipality's
    rules; no case, no client), are 403 unless a row says otherwise."""
    return {
        "anonymous": anonymous,
        "counsellor": counsellor,
        "partner": partner,
        "supervisor": supervisor,
        "admin": admin,
        "evaluator": evaluator,
        "datenschutz": datenschutz,
        "regelwerk": regelwerk,
    }


SCOPED = (422, 404, 404)  # own object reached (body refused), foreign and missing: 404
OWN = (200, 404, 404)  # own object read or marked, foreign and missing: 404
STAGED = (409, 404, 404)  # own object reached (the workflow refuses in its stage)
# fmt: off
MATRIX: dict[tuple[str, str], dict[str, Cell]] = {
    # An empty form.
    ("POST", "/auth/token"):                        row(422, 422, 422, 422, 422, 422, 422, 422),
    ("GET", "/me"):                                 row(401, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/cases"):                             row(401, 422, 403, 403, 403),  # bad body
    ("GET", "/cases"):                              row(401, 200, 403, 403, 403),
    ("GET", "/cases/{case_id}"):                    row(401, (200, 404, 404), 403, 403, 403),
    ("GET", "/cases/{case_id}/agreement"):          row(401, (200, 404, 404), 403, 403, 403),
    ("GET", "/cases/{case_id}/agreement.pdf"):      row(401, (200, 404, 404), 403, 403, 403),
    ("GET", "/cases/{case_id}/history"):            row(401, (200, 404, 404), 403, 403, 403),
    ("POST", "/cases/{case_id}/intake"):            row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/assessment"):        row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/agreement"):         row(401, SCOPED, 403, 403, 403),
    # No body: the active case's unchanged agreement needs no new signature (workflow: 422).
    ("POST", "/cases/{case_id}/signature-request"): row(401, SCOPED, 403, 403, 403),
    # No body: case A is active, nothing awaits signatures (workflow: 409).
    ("POST", "/cases/{case_id}/signature-request/withdrawal"): row(401, STAGED, 403, 403, 403),
    ("POST", "/cases/{case_id}/intake-corrections"): row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/signatures"):        row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/reviews"):           row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/close"):             row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/reassign"):          row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/transfer"):          row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/tasks/done"):        row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/measures/{measure_id}/completion"): row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/referrals/{referral_id}/withdraw"): row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/referrals/{referral_id}/reroute"): row(401, SCOPED, 403, 403, 403),
    ("POST", "/cases/{case_id}/referrals/{referral_id}/set-aside"): row(401, SCOPED, 403, 403, 403),
    ("GET", "/referrals"):                          row(401, 403, 200, 403, 403),
    # No body: referral A1 is acknowledged already (workflow: 409).
    ("POST", "/referrals/{referral_id}/acknowledge"): row(401, 403, (409, 404, 404), 403, 403),
    ("POST", "/referrals/{referral_id}/decline"):   row(401, 403, SCOPED, 403, 403),
    ("POST", "/referrals/{referral_id}/progress"):  row(401, 403, SCOPED, 403, 403),
    ("POST", "/referrals/{referral_id}/complete"):  row(401, 403, SCOPED, 403, 403),
    ("POST", "/inbound-referrals"):                 row(401, 403, 422, 403, 403),  # bad body
    ("GET", "/inbound-referrals"):                  row(401, 200, 403, 403, 403),
    ("GET", "/inbound-referrals/sent"):             row(401, 403, 200, 403, 403),
    # No body: inbound referral I1 is declined already (409).
    ("POST", "/inbound-referrals/{inbound_referral_id}/accept"):
        row(401, (409, 404, 404), 403, 403, 403),
    ("POST", "/inbound-referrals/{inbound_referral_id}/decline"):
        row(401, SCOPED, 403, 403, 403),
    ("GET", "/supervision/inbound-referrals"):      row(401, 403, 403, 200, 403),
    ("GET", "/supervision/overdue-reviews"):        row(401, 403, 403, 200, 403),
    ("GET", "/supervision/open-referrals"):         row(401, 403, 403, 200, 403),
    ("GET", "/supervision/caseload"):               row(401, 403, 403, 200, 403),
    ("GET", "/supervision/cases/{case_id}"):        row(401, 403, 403, (200, 404, 404), 403),
    # Body refused on the own case (422); another municipality's or a missing case: 404.
    ("POST", "/supervision/cases/{case_id}/assign"): row(401, 403, 403, SCOPED, 403),
    ("GET", "/supervision/late-referrals"):         row(401, 403, 403, 200, 403),
    ("GET", "/supervision/tasks"):                  row(401, 403, 403, 200, 403),
    ("POST", "/supervision/referrals/{referral_id}/withdraw"): row(401, 403, 403, SCOPED, 403),
    ("POST", "/supervision/referrals/{referral_id}/reroute"): row(401, 403, 403, SCOPED, 403),
    ("GET", "/reports/evaluation"):                 row(401, 403, 403, 200, 403, 200),
    ("GET", "/reports/evaluation.csv"):             row(401, 403, 403, 200, 403, 200),
    # The catalog names the rules the evaluation counts; it holds no client data.
    ("GET", "/rules"):                              row(401, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/rules/explain"):                     row(401, 422, 403, 422, 422, regelwerk=422),
    # A municipality's own rules: its rule editor and admins write, its coordination reads.
    # An admin names the municipality (422 without); the own version is Musterstadt's
    # published one (publishing it again: 409), the foreign one Beispielheim's.
    ("GET", "/rules/versions"):                     row(401, 403, 403, 200, 422, regelwerk=200),
    ("GET", "/rules/versions/{version_id}"):
        row(401, 403, 403, OWN, (200, 200, 404), regelwerk=OWN),
    ("POST", "/rules/drafts"):                      row(401, 403, 403, 403, 422, regelwerk=422),
    ("PUT", "/rules/drafts/{version_id}"):
        row(401, 403, 403, 403, (422, 422, 404), regelwerk=SCOPED),
    ("POST", "/rules/drafts/{version_id}/publish"):
        row(401, 403, 403, 403, (409, 409, 404), regelwerk=STAGED),
    ("POST", "/rules/what-if"):                     row(401, 403, 403, 422, 422, regelwerk=422),
    ("GET", "/admin/partners"):                     row(401, 403, 403, 403, 200),
    ("POST", "/admin/partners"):                    row(401, 403, 403, 403, 422),
    # The directory (api/routes/admin_directory.py): an admin's, every municipality's; the
    # bodies are refused (422), for a missing id too (the body is read before the lookup).
    ("GET", "/admin/municipalities"):               row(401, 403, 403, 403, 200),
    ("POST", "/admin/municipalities"):              row(401, 403, 403, 403, 422),
    ("PATCH", "/admin/municipalities/{municipality_id}"): row(401, 403, 403, 403, 422),
    ("GET", "/admin/centres"):                      row(401, 403, 403, 403, 200),
    ("POST", "/admin/centres"):                     row(401, 403, 403, 403, 422),
    ("PATCH", "/admin/centres/{centre_id}"):        row(401, 403, 403, 403, 422),
    ("PATCH", "/admin/partners/{partner_id}"):      row(401, 403, 403, 403, 422),
    ("GET", "/admin/users"):                        row(401, 403, 403, 403, 200),
    ("POST", "/admin/users"):                       row(401, 403, 403, 403, 422),
    # An admin reaches every account (own and foreign: the matrix's throw-away account); the
    # body is refused before the account is looked up. A reset needs no body: a missing
    # account is 404.
    ("PATCH", "/admin/users/{username}"):           row(401, 403, 403, 403, 422),
    ("POST", "/admin/users/{username}/password-reset"): row(401, 403, 403, 403, (200, 200, 404)),
    # Everyone changes her own password (the body refused).
    ("POST", "/me/password"):                       row(401, 422, 422, 422, 422, 422, 422, 422),
    ("GET", "/admin/audit"):                        row(401, 403, 403, 403, 200, 403, 200),
    # An account's identity at the identity provider: none is linked (GET 404), no body (PUT
    # 422), unlinking what is not linked changes nothing (204); a missing account is 404.
    ("GET", "/admin/users/{username}/oidc"):        row(401, 403, 403, 403, 404),
    ("PUT", "/admin/users/{username}/oidc"):        row(401, 403, 403, 403, 422),
    ("DELETE", "/admin/users/{username}/oidc"):     row(401, 403, 403, 403, (204, 204, 404)),
    # Erasure: an admin everywhere (case B too), the officer in her municipality; the body is
    # refused (422) once the case is reached. The client's copy: the case's counsellors and
    # the officer of its municipality.
    ("POST", "/admin/cases/{case_id}/erase"):
        row(401, 403, 403, 403, (422, 422, 404), 403, SCOPED),
    ("GET", "/cases/{case_id}/export"):             row(401, OWN, 403, 403, 403, 403, OWN),
    ("GET", "/admin/tasks"):                        row(401, 403, 403, 403, 200),
    ("GET", "/admin/mail-deliveries"):              row(401, 403, 403, 403, 200),
    # Everyone has a list of her own; another user's notification is not found.
    ("GET", "/notifications"):                      row(401, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/notifications/{notification_id}/read"):
        row(401, OWN, OWN, OWN, 404, 404, 404, 404),
    ("GET", "/me/notification-settings"):           row(401, 200, 200, 200, 200, 200, 200, 200),
    # No body.
    ("PUT", "/me/notification-settings"):           row(401, 422, 422, 422, 422, 422, 422, 422),
    # The codec server of the Temporal UI: administrators only (the body refused: 422).
    ("POST", "/codec/decode"):                      row(401, 403, 403, 403, 422),
    ("POST", "/codec/encode"):                      row(401, 403, 403, 403, 422),
    ("GET", "/livez"):                              row(200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/healthz"):                            row(200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/metrics"):                            row(200, 200, 200, 200, 200, 200, 200, 200),
}
# fmt: on


# The directory's entries an admin edits: one of Musterstadt, one of the other municipality.
DIRECTORY_IDS = {
    "{municipality_id}": ("musterstadt", "beispielheim"),
    "{centre_id}": ("mbe-mitte", "mbe-beispielheim"),
    "{partner_id}": ("sprachschule-musterstadt", "jobcenter-musterstadt"),
}


@dataclass(frozen=True)
class World:
    lotse: Lotse
    case_a: str
    case_b: str
    case_c: str
    referral_a1: str
    referral_a2: str
    referral_c1: str  # of case C, in another municipality (a read-model row)
    inbound_i1: str
    inbound_i2: str
    notifications: dict[str, int]  # username -> the id of a notification of hers
    own_version: int  # Musterstadt's published rule set version
    foreign_version: int  # Beispielheim's published one

    def path(self, template: str, role: str, target: str) -> str:
        """The template with the object of `target` for `role` filled in."""
        if "{version_id}" in template:
            chosen = {"own": self.own_version, "foreign": self.foreign_version}.get(
                target, 2**31 - 1
            )
            return template.replace("{version_id}", str(chosen))
        if "{notification_id}" in template:
            foreign = self.notifications["berater2"]
            own = self.notifications.get(ROLES[role] or "", foreign)
            chosen = {"own": own, "foreign": foreign, "missing": 2**62}[target]
            return template.replace("{notification_id}", str(chosen))
        if "{case_id}" in template:
            # A municipality's roles: another municipality's case is the foreign one.
            in_municipality = role in ("supervisor", "datenschutz")
            own, foreign = self.case_a, self.case_c if in_municipality else self.case_b
            missing = f"case-{uuid.uuid4()}"
            chosen = {"own": own, "foreign": foreign, "missing": missing}[target]
            # A case's referral: the own case's own referral; the others fail on the case.
            referral = self.referral_a1 if target == "own" else f"{chosen}-ref-1"
            path = template.replace("{case_id}", chosen).replace("{referral_id}", referral)
            # A measure id means something only within its case: the case decides.
            return path.replace("{measure_id}", "m1")
        if "{referral_id}" in template:
            foreign = self.referral_c1 if role == "supervisor" else self.referral_a2
            chosen = {
                "own": self.referral_a1,
                "foreign": foreign,
                "missing": f"{self.case_a}-ref-99",
            }[target]
            return template.replace("{referral_id}", chosen)
        if "{username}" in template:
            # The account the matrix changes, resets and links (nobody logs in with it).
            account = MATRIX_ACCOUNT if target != "missing" else "niemand"
            return template.replace("{username}", account)
        for name, (mine, theirs) in DIRECTORY_IDS.items():
            if name in template:
                entry = {"own": mine, "foreign": theirs, "missing": "gibt-es-nicht"}[target]
                return template.replace(name, entry)
        if "{inbound_referral_id}" in template:
            chosen = {
                "own": self.inbound_i1,
                "foreign": self.inbound_i2,
                "missing": f"inbound-{uuid.uuid4()}",
            }[target]
            return template.replace("{inbound_referral_id}", chosen)
        return template


def _other_municipality(lotse: Lotse) -> None:
    with Session(lotse.engine) as session:
        session.add(Municipality(id="beispielheim", name="Beispielheim", land="BY"))
        session.flush()
        session.add(
            Centre(
                id="mbe-beispielheim",
                name="MBE Beispielheim",
                kind=CentreKind.MBE,
                municipality_id="beispielheim",
            )
        )
        session.commit()


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with (
        time_skipping_server() as env,
        running_lotse(env, tmp_path_factory.mktemp("lotse")) as lotse,
    ):
        _other_municipality(lotse)
        account = {
            "username": "berater9",
            "password": "geheim-genug",
            "role": "counsellor",
            "centre_id": "mbe-beispielheim",
        }
        await lotse.ok("admin", "POST", "/admin/users", json=account)
        # The account the matrix changes and resets (nobody logs in with it).
        throwaway = {"username": MATRIX_ACCOUNT, "password": "geheim-genug", "role": "evaluator"}
        await lotse.ok("admin", "POST", "/admin/users", json=throwaway)
        lotse.tokens["berater9"] = await _login(lotse, "berater9", "geheim-genug")

        case_a = await lotse.active_case("berater1")
        case_b = await lotse.open_case("berater2")
        case_c = await lotse.open_case("berater9")

        async def referrals() -> dict[str, str] | None:
            state = await lotse.ok("berater1", "GET", f"/cases/{case_a}")
            by_partner = {r["partner_id"]: r["id"] for r in state["referrals"]}
            return by_partner if len(by_partner) == 2 else None

        by_partner = await eventually(referrals)
        a1 = by_partner["sprachschule-musterstadt"]
        a2 = by_partner["jobcenter-musterstadt"]
        await eventually(lambda: _in_inbox(lotse, "sprachkurs", a1))
        await lotse.ok("sprachkurs", "POST", f"/referrals/{a1}/acknowledge")
        c1 = _foreign_referral(lotse, case_c)
        i1 = await _inbound(lotse, "mbe-mitte")
        await lotse.ok(
            "berater1", "POST", f"/inbound-referrals/{i1}/decline", json={"reason": "Kein Platz"}
        )
        i2 = await _inbound(lotse, "mbe-nord")
        notes = _notifications(lotse, case_a, a1)
        own_version, foreign_version = await _rule_versions(lotse)
        yield World(
            lotse, case_a, case_b, case_c, a1, a2, c1, i1, i2, notes, own_version, foreign_version
        )


async def _rule_versions(lotse: Lotse) -> tuple[int, int]:
    """Musterstadt's published rule set (seeded) and one Beispielheim publishes now."""
    [own] = await lotse.ok("regelwerk", "GET", "/rules/versions")
    body = {"municipality": "beispielheim", "override": {"disable": ["care-under1"]}}
    foreign = await lotse.ok("admin", "POST", "/rules/drafts", json=body)
    await lotse.ok("admin", "POST", f"/rules/drafts/{foreign['id']}/publish")
    return own["id"], foreign["id"]


def _foreign_referral(lotse: Lotse, case_id: str) -> str:
    """A referral of case C as the read model holds it: in the other municipality, so
    outside the supervisor's scope (the scope check reads the read model only)."""
    referral_id = f"{case_id}-ref-1"
    now = datetime.now(UTC)
    with Session(lotse.engine) as session:
        session.add(
            ReferralSummary(
                id=referral_id,
                case_id=case_id,
                municipality_id="beispielheim",
                route_id="r1",
                partner_id="sprachschule-beispielheim",
                actor_kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
                measure="integration_course",
                need_kind=NeedKind.LANGUAGE,
                status=ReferralStatus.DISPATCHED,
                dispatched_at=now,
                client_first_name="Jana",
                updated_at=now,
            )
        )
        session.commit()
    return referral_id


async def _inbound(lotse: Lotse, centre_id: str) -> str:
    body = {
        "centre_id": centre_id,
        "client": {"given_name": "Amina", "family_name": "Karimi"},
        "reason": "Beratung zum Integrationskurs",
        "client_consents": True,
    }
    created = await lotse.ok("sprachkurs", "POST", "/inbound-referrals", json=body)
    inbound_id: str = created["id"]
    return inbound_id


def _inbound_rows(lotse: Lotse, *ids: str) -> list[dict[str, Any]]:
    with Session(lotse.engine) as session:
        rows = [session.get(InboundReferral, inbound_id) for inbound_id in ids]
        return [row.model_dump() for row in rows if row is not None]


def _notifications(lotse: Lotse, case_id: str, referral_id: str) -> dict[str, int]:
    """One notification for each of berater1, berater2, sprachkurs and koordination."""
    ledger = SqlNoticeLedger(lotse.engine)
    notices = {
        "berater1": (NoticeKind.REVIEW_OVERDUE, Addressee.counsellor("berater1")),
        "berater2": (NoticeKind.REVIEW_OVERDUE, Addressee.counsellor("berater2")),
        "sprachkurs": (NoticeKind.REFERRAL_NEW, Addressee.partner("sprachschule-musterstadt")),
        "koordination": (NoticeKind.ESCALATION, Addressee.supervisors("musterstadt")),
    }
    ids: dict[str, int] = {}
    for number, (username, (kind, to)) in enumerate(notices.items(), start=1):
        notice = Notice(
            event_key=event_key(case_id, number, kind),
            kind=kind,
            to=to,
            case_id=case_id,
            referral_id=referral_id,
        )
        ledger.record_in_app(notice, [username], datetime.now(UTC))
        with Session(lotse.engine) as session:
            found = notification_reads.notifications_page(
                session, username, 1, 1, unread_only=False
            )
            row_id = found.rows[0].id
            assert row_id is not None
            ids[username] = row_id
    return ids


async def _login(lotse: Lotse, username: str, password: str) -> str:
    response = await lotse.http.post(
        "/auth/token", data={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _in_inbox(lotse: Lotse, partner: str, referral_id: str) -> bool:
    page = await lotse.ok(partner, "GET", "/referrals")
    return any(item["id"] == referral_id for item in page["items"])


def test_every_route_has_a_row(world: World) -> None:
    app = world.lotse.http._transport.app  # type: ignore[attr-defined]
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert routes - MATRIX.keys() == set(), "new endpoint: add its row to MATRIX"
    assert MATRIX.keys() - routes == set(), "row for an endpoint that no longer exists"


async def test_authorization_matrix(world: World) -> None:
    lotse = world.lotse
    last_sequence = await _last_sequence(lotse, world.case_a)
    inbound_before = _inbound_rows(lotse, world.inbound_i1, world.inbound_i2)
    rules_before = await lotse.ok("admin", "GET", "/rules/versions?municipality=beispielheim")
    failures: list[str] = []
    for (method, template), cells in MATRIX.items():
        for role, username in ROLES.items():
            cell = cells[role]
            expected = cell if isinstance(cell, tuple) else (cell, cell, cell)
            for target, status in zip(OBJECTS, expected, strict=True):
                path = world.path(template, role, target)
                kwargs: dict[str, Any] = {}
                if method == "POST" and template == "/auth/token":
                    kwargs["data"] = {}
                elif method in ("POST", "PATCH") and not _bodyless(template):
                    # Every payload forbids unknown fields (a review's are all optional).
                    kwargs["json"] = {"unbekannt": 1}
                response = await lotse.call(username, method, path, **kwargs)
                if response.status_code != status:
                    failures.append(
                        f"{method} {template} as {role} on {target}: "
                        f"{response.status_code} (expected {status}) {response.text[:120]}"
                    )
    assert not failures, "\n".join(failures)
    # Nothing the matrix sent changed case A, the inbound referrals or the rule sets.
    assert await _last_sequence(lotse, world.case_a) == last_sequence
    assert _inbound_rows(lotse, world.inbound_i1, world.inbound_i2) == inbound_before
    rules_after = await lotse.ok("admin", "GET", "/rules/versions?municipality=beispielheim")
    assert rules_after == rules_before


def _bodyless(template: str) -> bool:
    return template.endswith(
        (
            "/signature-request",
            "/withdrawal",
            "/acknowledge",
            "/accept",
            "/read",
            "/publish",
            "/password-reset",
        )
    )


async def _last_sequence(lotse: Lotse, case_id: str) -> int:
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    sequence: int = state["next_sequence"] - 1
    return sequence


async def test_a_foreign_case_answers_exactly_like_a_missing_one(world: World) -> None:
    lotse = world.lotse
    foreign = await lotse.get("berater1", f"/cases/{world.case_b}/history")
    missing = await lotse.get("berater1", f"/cases/case-{uuid.uuid4()}/history")
    malformed = await lotse.get("berater1", "/cases/not-a-case/history")
    assert foreign.status_code == missing.status_code == malformed.status_code == 404
    assert foreign.json() == missing.json() == malformed.json()
    assert foreign.headers.get("content-type") == missing.headers.get("content-type")


async def test_a_transferred_case_leaves_the_old_centre(world: World) -> None:
    lotse = world.lotse
    case_id = await lotse.open_case("berater1")
    moved = {"centre_id": "mbe-nord", "counsellor_id": "berater2"}
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/transfer", json=moved)

    async def gone_for_berater1() -> bool:
        return (await lotse.get("berater1", f"/cases/{case_id}")).status_code == 404

    await eventually(gone_for_berater1)
    state = await lotse.ok("berater2", "GET", f"/cases/{case_id}")
    assert (state["centre_id"], state["counsellor_id"]) == ("mbe-nord", "berater2")


async def test_reassign_and_transfer_check_the_directory(world: World) -> None:
    lotse = world.lotse
    case_id = await lotse.open_case("berater1")
    # berater2 works at another centre; koordination is no counsellor; nobody is nobody.
    for counsellor in ("berater2", "koordination", "nobody"):
        response = await lotse.post(
            "berater1", f"/cases/{case_id}/reassign", json={"counsellor_id": counsellor}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "counsellor_id"
    for centre in ("mbe-beispielheim", "no-such-centre"):
        response = await lotse.post(
            "berater1", f"/cases/{case_id}/transfer", json={"centre_id": centre}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "centre_id"
    wrong_kind = {"centre_id": "jmd-musterstadt", "centre_kind": "MBE"}
    response = await lotse.post("berater1", f"/cases/{case_id}/transfer", json=wrong_kind)
    assert response.status_code == 422


async def test_the_search_never_finds_cases_outside_the_callers_scope(world: World) -> None:
    """`GET /cases?q=`: the same rows as `GET /cases` (the caller's centre), whatever `q` names:
    another centre's or municipality's case by its number, its id or its client's name."""
    lotse = world.lotse
    owners = {world.case_a: "berater1", world.case_b: "berater2", world.case_c: "berater9"}
    numbers: dict[str, str] = {}
    for case_id, owner in owners.items():
        state = await lotse.ok(owner, "GET", f"/cases/{case_id}")
        numbers[case_id] = state["number"]
    assert numbers[world.case_a].startswith("MUS-") and numbers[world.case_c].startswith("BEI-")

    async def found(username: str, q: str) -> set[str]:
        page = await lotse.ok(username, "GET", "/cases", params={"q": q})
        return {item["id"] for item in page["items"]}

    # Each owner finds her case by number and by a variant of the name, once it is projected.
    for case_id, owner in owners.items():

        async def projected(case_id: str = case_id, owner: str = owner) -> bool:
            return {case_id} == await found(owner, numbers[case_id]) and case_id in await found(
                owner, "Amina Carimi"
            )

        await eventually(projected)
    for q in ("Amina Karimi", "Karimi", numbers[world.case_b], numbers[world.case_c]):
        hits = await found("berater1", q)
        assert world.case_b not in hits and world.case_c not in hits, q
    assert await found("berater1", world.case_b) == set()
    assert await found("berater2", numbers[world.case_a]) == set()
    assert world.case_a not in await found("berater9", "Karimi")
    for role in ("partner", "supervisor", "admin", "evaluator"):
        response = await lotse.get(ROLES[role], "/cases", params={"q": "Karimi"})
        assert response.status_code == 403, role
    assert (await lotse.get(None, "/cases", params={"q": "Karimi"})).status_code == 401
