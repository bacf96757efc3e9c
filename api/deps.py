"""The dependencies every route declares: the app's services, a database session, the current
user, the role a route needs, and the objects a route works on, already checked for scope.

Scope is checked here and nowhere else, so no route can forget it:

- `ScopedCase` (counsellor): the case belongs to the caller's centre.
- `SupervisedCase` (supervisor): the case belongs to the caller's municipality.
- `ScopedReferral` (partner): the referral was sent to the caller's agency.
- `ScopedInboundReferral` (counsellor): a partner referred the client to the caller's centre.

A case or referral outside the caller's scope answers 404, exactly like one that does not
exist (DESIGN.md), so ids cannot be probed. A role that may not use an endpoint at all gets 403:
that says nothing about any object. Each scoped access writes an audit entry (`store.audit`), and
so does each list of case data (`CentreListing`, `PartnerListing`, `MunicipalityListing`).

Scope comes from the read model (one indexed row, `store.reads.scope`). The projection lags
the workflow by a moment, so a case or referral without a row yet (just opened) is looked up
in its workflow instead: the answer is the same, only slower. An inbound referral has no
workflow: its row, which the API writes itself, is all there is.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from api.errors import invalid
from api.evaluation import ReportRequest
from api.gateway import Gateway
from api.login_throttle import LoginThrottle
from api.metrics import ApiMetrics
from api.security import InvalidToken, TokenIssuer, issued_before
from app.payload_codec import CachedKeyStore
from app.settings import Settings
from domain.actor import Actor, ActorRole
from domain.fields import PlausibleDate, SingleLine
from domain.months import add_months, german_day
from rules.municipal import MunicipalEvaluators
from store import audit
from store.models import Role, User
from store.projections import ID_LENGTH
from store.reads import scope as scope_reads
from store.reads.scope import CaseOwner

CASE_ID = re.compile(r"case-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REFERRAL_ID = re.compile(CASE_ID.pattern + r"-ref-[1-9][0-9]{0,5}")
INBOUND_ID = re.compile("inbound-" + CASE_ID.pattern.removeprefix("case-"))

NOT_FOUND = "Nicht gefunden."
ERASED = (
    "Dieser Fall wurde aus Datenschutzgründen gelöscht (Art. 17 DSGVO); seine Daten sind "
    "nicht mehr vorhanden."
)
NOT_AUTHENTICATED = "Nicht angemeldet oder Anmeldung abgelaufen; bitte neu anmelden."


@dataclass(frozen=True)
class Services:
    """What the routes work with; built once by `main.create_app`, kept in `app.state`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    gateway: Gateway
    # The data keys of Temporal's payloads (the gateway's client encrypts with them; erasure
    # destroys a case's key through this object, which forgets its cached copy at once).
    keys: CachedKeyStore
    tokens: TokenIssuer
    metrics: ApiMetrics
    logins: LoginThrottle
    # Each municipality's routing evaluator by its published rule set (rules/municipal.py).
    rules: MunicipalEvaluators


# Dependencies without I/O are `async def`: FastAPI runs a plain `def` in a worker thread, a hop
# that costs more than such a function's work.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def get_gateway(services: ServicesDep) -> Gateway:
    return services.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]

# auto_error=False: the 401 below carries our message, not FastAPI's "Not authenticated".
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def client_address(request: Request) -> str:
    """The caller's address as uvicorn saw it (behind a proxy it trusts: the forwarded one)."""
    return request.client.host if request.client is not None else "unknown"


def unauthorized(detail: str = NOT_AUTHENTICATED) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def get_account(
    services: ServicesDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    """The active account the bearer token names, also one that must change its password
    first (only `POST /me/password` takes it so); 401 for a missing, malformed, forged or
    expired token, for a token from before the account's last password change or reset, and
    for an account that is gone or deactivated."""
    if not token:
        raise unauthorized()
    try:
        username, issued = services.tokens.subject(token)
    except InvalidToken:
        raise unauthorized() from None
    user = scope_reads.active_account(session, username)
    if user is None or issued_before(issued, user.password_changed_at):
        raise unauthorized()
    return user


AccountUser = Annotated[User, Depends(get_account)]

# After an administrator's reset, the account's tokens reach nothing but the change of its
# password (docs/architecture.md, "Accounts"): every other route answers 403 with this.
PASSWORD_CHANGE_REQUIRED = (
    "Das Passwort wurde zurückgesetzt: Bitte legen Sie zuerst mit POST /me/password "
    "(current_password, new_password) ein neues fest."
)


async def get_current_user(user: AccountUser) -> User:
    """The account of `get_account`, once it needs no new password (403 otherwise)."""
    if user.must_change_password:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=PASSWORD_CHANGE_REQUIRED)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

ROLE_LABELS = {
    Role.COUNSELLOR: "Beratung",
    Role.PARTNER: "Partnerstelle",
    Role.SUPERVISOR: "Koordination",
    Role.ADMIN: "Verwaltung",
    Role.EVALUATOR: "Auswertung",
    Role.DATA_PROTECTION: "Datenschutz",
    Role.RULE_EDITOR: "Regelwerk",
}


def require_role(*roles: Role) -> Callable[[User], User]:
    """A dependency letting only `roles` through (403 for the others). Synchronous on purpose:
    the web UI (api/ui) calls the returned check directly."""
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = ", ".join(ROLE_LABELS[role] for role in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"Diese Funktion steht nur folgenden Rollen offen: {names}.",
            )
        return user

    return check


Counsellor = Annotated[User, Depends(require_role(Role.COUNSELLOR))]
Partner = Annotated[User, Depends(require_role(Role.PARTNER))]
Supervisor = Annotated[User, Depends(require_role(Role.SUPERVISOR))]
Admin = Annotated[User, Depends(require_role(Role.ADMIN))]
# A municipality's rules: administrators and its rule editors change them; its coordination
# reads them and sees which of its cases a draft would route differently.
RuleEditor = Annotated[User, Depends(require_role(Role.ADMIN, Role.RULE_EDITOR))]
RuleReader = Annotated[User, Depends(require_role(Role.ADMIN, Role.RULE_EDITOR, Role.SUPERVISOR))]
# The audit log: administrators and data protection officers.
AuditReader = Annotated[User, Depends(require_role(Role.ADMIN, Role.DATA_PROTECTION))]


def _scope_of(user: User) -> tuple[str, str]:
    for kind, value in (
        ("centre", user.centre_id),
        ("partner", user.partner_id),
        ("municipality", user.municipality_id),
    ):
        if value is not None:
            return kind, value
    return "directory", "-"


def audited_listing(role: Role) -> Callable[..., User]:
    """`require_role(role)`, then an audit entry for a list of the caller's scope (a list shows
    many cases at once: one entry naming the scope, e.g. `case.list` of centre `mbe-mitte`).
    Written in the request's own session, so it costs one insert and commit."""
    check = require_role(role)

    def audited(
        request: Request, user: Annotated[User, Depends(check)], session: SessionDep
    ) -> User:
        kind, scope_id = _scope_of(user)
        audit.add_entry(session, user.username, _action(request, "list"), kind, scope_id)
        return user

    return audited


CentreListing = Annotated[User, Depends(audited_listing(Role.COUNSELLOR))]
PartnerListing = Annotated[User, Depends(audited_listing(Role.PARTNER))]
MunicipalityListing = Annotated[User, Depends(audited_listing(Role.SUPERVISOR))]


def actor_of(user: User) -> Actor:
    """The caller as the workflows see it: every update carries it (domain/actor.py)."""
    return Actor(
        user_id=user.username,
        role=ActorRole(user.role.value),
        centre_id=user.centre_id,
        partner_id=user.partner_id,
        municipality_id=user.municipality_id,
    )


@dataclass(frozen=True)
class CaseRef:
    """A case the caller may act on, with the ownership facts its scope was checked against."""

    id: str
    municipality_id: str
    centre_id: str
    counsellor_id: str | None
    actor: User


@dataclass(frozen=True)
class ReferralRef:
    id: str
    partner_id: str
    actor: User


@dataclass(frozen=True)
class InboundRef:
    """An inbound referral to the caller's centre."""

    id: str
    centre_id: str
    actor: User


def _action(request: Request, default: str) -> str:
    # Every scoped route has a name ("case.intake"): the audit verb.
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    return name if isinstance(name, str) and "." in name else default


async def _case_owner(services: Services, case_id: str) -> CaseOwner | None:
    """Who owns the case, or None when there is no such case."""
    if not CASE_ID.fullmatch(case_id):
        return None
    owner = await run_in_threadpool(scope_reads.case_owner, services.engine, case_id)
    if owner is not None:
        return owner
    # Not projected yet, or no such case.
    try:
        state = await services.gateway.case_state(case_id)
    except HTTPException as error:
        if error.status_code == status.HTTP_404_NOT_FOUND:
            return None
        raise
    return CaseOwner(state.municipality_id, state.centre_id, state.counsellor_id)


async def _audited(
    services: Services, user: User, action: str, kind: str, object_id: str, allowed: bool
) -> None:
    """Record the access (or the refused attempt), then refuse it with 404 when not allowed."""
    verb = action if allowed else action + audit.DENIED_SUFFIX
    # Ids longer than the column are never real ones; the audit row must still fit.
    await run_in_threadpool(
        audit.record, services.engine, user.username, verb, kind, object_id[:ID_LENGTH]
    )
    if not allowed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="Eine wiederholte Anfrage mit demselben Schlüssel wirkt nur einmal.",
    ),
]
# Single-line ids: a NUL in a path would otherwise reach the audit insert (PostgreSQL text
# cannot hold NUL: a 500 instead of the 404 a foreign or missing id gets).
CasePath = Annotated[SingleLine, Path(max_length=120, description="Fall-Id, case-<uuid>")]
ReferralPath = Annotated[
    SingleLine, Path(max_length=120, description="Vermittlungs-Id, case-<uuid>-ref-<n>")
]
InboundPath = Annotated[
    SingleLine, Path(max_length=120, description="Id der Vermittlung an die Beratungsstelle")
]
MeasurePath = Annotated[SingleLine, Path(max_length=120, description="Maßnahmen-Id, m<n>")]


async def scoped_case(
    request: Request, case_id: CasePath, user: Counsellor, services: ServicesDep
) -> CaseRef:
    """The case, when it belongs to the counsellor's centre; 404 otherwise."""
    owner = await _case_owner(services, case_id)
    allowed = owner is not None and owner.centre_id == user.centre_id
    await _audited(services, user, _action(request, "case.access"), "case", case_id, allowed)
    assert owner is not None
    _gone_if_erased(owner)
    return CaseRef(case_id, owner.municipality_id, owner.centre_id, owner.counsellor_id, user)


async def supervised_case(
    request: Request, case_id: CasePath, user: Supervisor, services: ServicesDep
) -> CaseRef:
    """The case, when it belongs to the supervisor's municipality; 404 otherwise."""
    owner = await _case_owner(services, case_id)
    allowed = owner is not None and owner.municipality_id == user.municipality_id
    await _audited(services, user, _action(request, "case.supervise"), "case", case_id, allowed)
    assert owner is not None
    _gone_if_erased(owner)
    return CaseRef(case_id, owner.municipality_id, owner.centre_id, owner.counsellor_id, user)


def _gone_if_erased(owner: CaseOwner) -> None:
    """410 for an erased case the caller may otherwise reach (outside her scope: 404 first)."""
    if owner.erased:
        raise HTTPException(status.HTTP_410_GONE, detail=ERASED)


EraserUser = Annotated[User, Depends(require_role(Role.ADMIN, Role.DATA_PROTECTION))]
ExporterUser = Annotated[User, Depends(require_role(Role.COUNSELLOR, Role.DATA_PROTECTION))]


@dataclass(frozen=True)
class ErasableCase:
    """A case the caller may erase, with what the read model says of it."""

    id: str
    owner: CaseOwner
    actor: User


async def erasable_case(
    request: Request, case_id: CasePath, user: EraserUser, services: ServicesDep
) -> ErasableCase:
    """The case, for an administrator (every municipality) or the data protection officer of
    its municipality; 404 otherwise. Not 410 when erased: erasing again answers the first
    erasure (api/erasure.py)."""
    owner = await _case_owner(services, case_id)
    allowed = owner is not None and (
        user.role is Role.ADMIN or owner.municipality_id == user.municipality_id
    )
    await _audited(services, user, _action(request, "case.erase"), "case", case_id, allowed)
    assert owner is not None
    return ErasableCase(case_id, owner, user)


async def exportable_case(
    request: Request, case_id: CasePath, user: ExporterUser, services: ServicesDep
) -> CaseRef:
    """The case, for a counsellor of the centre holding it or the data protection officer of
    its municipality; 404 otherwise, 410 when erased."""
    owner = await _case_owner(services, case_id)
    allowed = owner is not None and (
        owner.centre_id == user.centre_id
        if user.role is Role.COUNSELLOR
        else owner.municipality_id == user.municipality_id
    )
    await _audited(services, user, _action(request, "case.export"), "case", case_id, allowed)
    assert owner is not None
    _gone_if_erased(owner)
    return CaseRef(case_id, owner.municipality_id, owner.centre_id, owner.counsellor_id, user)


async def _referral_partner(services: Services, referral_id: str) -> str | None:
    """The agency a referral was sent to, or None when there is no such referral."""
    if not REFERRAL_ID.fullmatch(referral_id):
        return None
    partner_id = await run_in_threadpool(scope_reads.referral_partner, services.engine, referral_id)
    if partner_id is not None:
        return partner_id
    try:
        state = await services.gateway.referral_state(referral_id)
    except HTTPException as error:
        if error.status_code == status.HTTP_404_NOT_FOUND:
            return None
        raise
    return state.partner_id


async def scoped_referral(
    request: Request, referral_id: ReferralPath, user: Partner, services: ServicesDep
) -> ReferralRef:
    """The referral, when it was sent to the partner's agency; 404 otherwise."""
    partner_id = await _referral_partner(services, referral_id)
    allowed = partner_id is not None and partner_id == user.partner_id
    action = _action(request, "referral.access")
    await _audited(services, user, action, "referral", referral_id, allowed)
    assert partner_id is not None
    return ReferralRef(referral_id, partner_id, user)


@dataclass(frozen=True)
class SupervisedReferralRef:
    """A referral of the supervisor's municipality, with the case it belongs to."""

    id: str
    case_id: str
    actor: User


async def supervised_referral(
    request: Request, referral_id: ReferralPath, user: Supervisor, services: ServicesDep
) -> SupervisedReferralRef:
    """The referral, when its case belongs to the supervisor's municipality; 404 otherwise."""
    owner = None
    if REFERRAL_ID.fullmatch(referral_id):
        owner = await run_in_threadpool(scope_reads.referral_owner, services.engine, referral_id)
    allowed = owner is not None and owner.municipality_id == user.municipality_id
    action = _action(request, "referral.supervise")
    await _audited(services, user, action, "referral", referral_id, allowed)
    assert owner is not None
    return SupervisedReferralRef(referral_id, owner.case_id, user)


async def scoped_inbound_referral(
    request: Request, inbound_referral_id: InboundPath, user: Counsellor, services: ServicesDep
) -> InboundRef:
    """The inbound referral, when a partner sent it to the counsellor's centre; 404 otherwise."""
    centre_id = None
    if INBOUND_ID.fullmatch(inbound_referral_id):
        centre_id = await run_in_threadpool(
            scope_reads.inbound_referral_centre, services.engine, inbound_referral_id
        )
    allowed = centre_id is not None and centre_id == user.centre_id
    action = _action(request, "inbound_referral.access")
    await _audited(services, user, action, "inbound_referral", inbound_referral_id, allowed)
    assert centre_id is not None
    return InboundRef(inbound_referral_id, centre_id, user)


ScopedCase = Annotated[CaseRef, Depends(scoped_case)]
ErasableCaseDep = Annotated[ErasableCase, Depends(erasable_case)]
ExportableCase = Annotated[CaseRef, Depends(exportable_case)]
SupervisedReferral = Annotated[SupervisedReferralRef, Depends(supervised_referral)]
SupervisedCase = Annotated[CaseRef, Depends(supervised_case)]
ScopedReferral = Annotated[ReferralRef, Depends(scoped_referral)]
ScopedInboundReferral = Annotated[InboundRef, Depends(scoped_inbound_referral)]


# The evaluation (`/reports/...`, the page „Auswertung"): a supervisor's municipality, or an
# evaluator's municipalities (all when none are configured); aggregates only.
ReportReader = Annotated[User, Depends(require_role(Role.SUPERVISOR, Role.EVALUATOR))]
REPORT_MAX_DAYS = 3660  # ten years: the months are one CASE in every query


def default_period(today: date) -> tuple[date, date]:
    """The last twelve months, this one included."""
    return add_months(date(today.year, today.month, 1), -11), today


def resolve_report(
    session: Session,
    user: User,
    start: date | None,
    end: date | None,
    municipality_id: str | None,
    centre_id: str | None,
) -> ReportRequest:
    """What the caller may count: 422 for a period that is no period, 404 for a municipality
    or centre outside the caller's scope (as for one that does not exist). Audited."""
    default_start, default_end = default_period(german_day(datetime.now(UTC)))
    end = end or default_end
    start = start or min(default_start, end)
    if start > end:
        raise invalid("to", "Das Ende des Zeitraums liegt vor seinem Beginn.")
    if (end - start).days > REPORT_MAX_DAYS:
        raise invalid("from", "Der Zeitraum ist länger als zehn Jahre.")
    if user.role is Role.SUPERVISOR:
        allowed: tuple[str, ...] | None = (user.municipality_id or "",)
    else:
        allowed = scope_reads.evaluator_municipalities(session, user.username)
    visible = True
    if municipality_id is not None:
        visible = scope_reads.municipality_exists(session, municipality_id) and (
            allowed is None or municipality_id in allowed
        )
    if visible and centre_id is not None:
        home = scope_reads.centre_municipality(session, centre_id)
        visible = (
            home is not None
            and (allowed is None or home in allowed)
            and municipality_id in (None, home)
        )
        municipality_id = municipality_id or home
    scope_kind, scope_id = (
        ("centre", centre_id)
        if centre_id is not None
        else ("municipality", municipality_id or ",".join(allowed or ("alle",)))
    )
    verb = "report.evaluation" if visible else "report.evaluation" + audit.DENIED_SUFFIX
    audit.add_entry(session, user.username, verb, scope_kind, scope_id[:ID_LENGTH])
    if not visible:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    return ReportRequest(
        municipalities=(municipality_id,) if municipality_id is not None else allowed,
        municipality_id=municipality_id,
        centre_id=centre_id,
        start=start,
        end=end,
    )


def report_request(
    user: ReportReader,
    session: SessionDep,
    start: Annotated[
        PlausibleDate | None,
        Query(alias="from", description="Erster Tag (JJJJ-MM-TT); Standard: vor elf Monaten."),
    ] = None,
    end: Annotated[
        PlausibleDate | None,
        Query(alias="to", description="Letzter Tag (JJJJ-MM-TT); Standard: heute."),
    ] = None,
    municipality: Annotated[
        SingleLine | None, Query(max_length=64, description="Nur diese Kommune.")
    ] = None,
    centre: Annotated[
        SingleLine | None, Query(max_length=64, description="Nur diese Beratungsstelle.")
    ] = None,
) -> ReportRequest:
    return resolve_report(session, user, start, end, municipality, centre)


EvaluationRequest = Annotated[ReportRequest, Depends(report_request)]
