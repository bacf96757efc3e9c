"""The stage machine's way back: correcting the intake after it was completed, and taking back
a document presented for signing before anyone signed it. Same shape as stages.py: a pure
function per action and a `check_*` twin for the workflow's update validator.

Correcting the intake (`correct_intake`) is allowed from the assessment until the case is
closed, except while a document waits for signatures:
- assessment: the profile is replaced; nothing was routed yet.
- drafting: the rules route the case's needs again with the corrected profile (the workflow
  calls the same routing activity as the assessment). A proposal the rules make again keeps
  its id (matched by need, actor kind and measure) and takes the new partner and reason; one
  they no longer make is removed, and the draft's measures that carried it are dropped; new
  proposals are added. The event `routes_recomputed` names what changed.
- awaiting_signature: refused. The presented document was rendered from the profile as it
  was and is what the parties sign: first withdraw it (`withdraw_signature_request`), then
  correct, then present a new version.
- active: the signed agreement stays as signed. The new proposals are added beside the old
  ones (which running measures and referrals still carry; an old proposal nothing carries is
  removed once the rules no longer make it). If the rules propose something new, or no longer
  propose what a measure carries out, the counsellor gets an `amendment_due` task, and the
  change goes through the existing amendment path (draft_agreement + request_signature in
  stage active); the task ends when the amendment is signed (stages.py `_activate`).
Every corrected field is recorded with its old and new value (`intake_corrected`, one event
per field); a correction that changes nothing is refused.

Withdrawing a signature request (`withdraw_signature_request`) is allowed while nobody has
signed the presented version: the case goes back to drafting (to active for an amendment),
the version stays in the record marked withdrawn, and its hash can no longer be signed; a new
`request_signature` renders the next version.
"""

import json
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from domain.case import CaseRoute, CaseState, Measure, Responsible, Stage, TaskKind
from domain.case_log import add_task, new_id, record
from domain.clocks import Clocks
from domain.events import IntakeCorrected, RoutesRecomputed, SignatureRequestWithdrawn
from domain.months import german_day, start_of_german_day
from domain.needs import Route, RoutingResult
from domain.profile import IntakeData, validate_intake
from domain.rejections import (
    Invalid,
    Rejection,
    WrongStage,
    from_validation_error,
    require_allowed,
)
from domain.stage_table import Action

WITHDRAW_FIRST = "Bitte zuerst die Vorlage zur Unterschrift zurückziehen."
UNCHANGED = "Die Angaben sind unverändert: es gibt nichts zu korrigieren."
AMENDMENT_TITLE = "Vereinbarung ändern: Die korrigierten Angaben ändern die Vermittlungsvorschläge."

# The intake's fields compared one by one; the residence by its two parts, lists as wholes.
_RESIDENCE_PARTS = ("status", "expires_on")


def intake_changes(old: IntakeData, new: IntakeData) -> list[tuple[str, str, str]]:
    """(field path, old value, new value) of each field that differs, values as compact JSON
    text, in the order of IntakeData's fields."""
    before = old.model_dump(mode="json")
    after = new.model_dump(mode="json")
    changes: list[tuple[str, str, str]] = []
    for name in IntakeData.model_fields:
        if name == "residence":
            for part in _RESIDENCE_PARTS:
                _compare(changes, f"residence.{part}", before[name][part], after[name][part])
        else:
            _compare(changes, name, before[name], after[name])
    return changes


def _compare(changes: list[tuple[str, str, str]], path: str, old: Any, new: Any) -> None:
    if old != new:
        changes.append((path, _text(old), _text(new)))


def _text(value: Any) -> str:
    # Sorted keys and no spaces: the same value is always the same text (events are compared
    # on replay and stored for good).
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def check_correct_intake(state: CaseState, data: IntakeData, now: datetime) -> Rejection | None:
    if state.stage is Stage.AWAITING_SIGNATURE:
        return WrongStage(stage=state.stage, message=WITHDRAW_FIRST)
    if wrong := require_allowed(state, Action.CORRECT_INTAKE):
        return wrong
    try:
        validate_intake(data.model_dump(), today=german_day(now))
    except ValidationError as err:
        return from_validation_error(err)
    if state.profile is None or not intake_changes(state.profile, data):
        return Invalid("intake", UNCHANGED)
    return None


def reroutes_on_correction(state: CaseState) -> bool:
    """Whether a correction routes the needs again (the workflow then calls the routing
    activity): once there are needs and proposals to change, i.e. after the assessment."""
    return state.stage in (Stage.DRAFTING, Stage.ACTIVE) and bool(state.needs)


def correct_intake(
    state: CaseState,
    data: IntakeData,
    routing: RoutingResult | None,
    now: datetime,
    clocks: Clocks,
) -> CaseState | Rejection:
    """The corrected profile; `routing` is what the rules said for all of `state.needs` with
    it (None when `reroutes_on_correction` is false)."""
    if rejection := check_correct_intake(state, data, now):
        return rejection
    assert state.profile is not None  # checked: the intake is complete
    new = state.fork()
    for field, old, value in intake_changes(state.profile, data):
        record(new, IntakeCorrected(field=field, old=old, new=value), now)
    new.profile = data
    if data.residence.expires_on != state.profile.residence.expires_on:
        # A new expiry date moves the warning (again, if the old one already fired).
        expires_on = data.residence.expires_on
        new.permit_warning_at = (
            None
            if expires_on is None
            else start_of_german_day(expires_on) - clocks.permit_warning_before
        )
    if routing is not None:
        _recompute_routes(new, routing, now)
    return new


def _key(route: Route) -> tuple[int, str, str]:
    return (route.need_index, route.actor.value, route.measure)


def _recompute_routes(state: CaseState, routing: RoutingResult, at: datetime) -> None:
    signed = state.stage is Stage.ACTIVE
    current = {_key(route): route for route in state.routes}
    proposed = {_key(route) for route in routing.routes}
    removed = [route.id for route in state.routes if _key(route) not in proposed]
    gone_measures = [route.measure for route in state.routes if _key(route) not in proposed]
    added: list[str] = []
    routes: list[CaseRoute] = []
    for route in routing.routes:
        # A proposal is matched once: should the rules propose the same twice, the second
        # one is new (no two proposals share an id).
        known = current.pop(_key(route), None)
        if known is None:
            fresh = CaseRoute(**route.model_dump(), id=new_id(state, "r"))
            routes.append(fresh)
            added.append(fresh.id)
        elif signed:
            routes.append(known)  # signed, maybe dispatched: stays as it was
        else:
            routes.append(CaseRoute(**route.model_dump(), id=known.id))
    dropped: list[str] = []
    in_measures = {m.route_id for m in state.measures}
    if signed:
        # What the agreement, its referrals or their follow-ups carry stays as signed; a
        # proposal nothing carries goes once the rules no longer make it; the new ones wait
        # for an amendment to take them.
        carried = (
            in_measures
            | {r.route_id for r in state.referrals}
            | {f.route_id for f in state.follow_ups}
        )
        state.routes = [
            *(r for r in state.routes if _key(r) in proposed or r.id in carried),
            *(r for r in routes if r.id in added),
        ]
    else:
        _follow_partners(state, routes)
        state.routes = routes
        gone = set(removed)
        dropped = [m.id for m in state.measures if m.route_id in gone]
        state.measures = [m for m in state.measures if m.route_id not in gone]
    state.unrouted = list(routing.unrouted)
    state.ruleset_version = routing.ruleset_version
    # Due when the rules propose something new, or no longer propose what a measure of the
    # agreement carries out (not for a proposal the agreement left out anyway).
    amendment_due = signed and bool(added or in_measures.intersection(removed))
    record(
        state,
        RoutesRecomputed(
            ruleset_version=routing.ruleset_version,
            added=",".join(added),
            removed=",".join(removed),
            removed_measures=",".join(gone_measures),
            dropped_measures=",".join(dropped),
            amendment_due=amendment_due,
        ),
        at,
    )
    if amendment_due and not any(
        task.kind is TaskKind.AMENDMENT_DUE for task in state.open_tasks()
    ):
        add_task(state, TaskKind.AMENDMENT_DUE, AMENDMENT_TITLE, at)


def _follow_partners(state: CaseState, routes: list[CaseRoute]) -> None:
    """A draft's measure that took its proposal's partner takes the proposal's new partner;
    one that chose another partner (with a reason) keeps it."""
    before = {route.id: route.partner_id for route in state.routes}
    after = {route.id: route.partner_id for route in routes}
    state.measures = [
        _with_partner(m, after[m.route_id])
        if m.route_id in after
        and m.responsible is Responsible.PARTNER
        and m.override_reason is None
        and m.partner_id == before.get(m.route_id)
        else m
        for m in state.measures
    ]


def _with_partner(measure: Measure, partner_id: str | None) -> Measure:
    return measure.model_copy(update={"partner_id": partner_id})


def check_withdraw_signature_request(state: CaseState, now: datetime) -> Rejection | None:
    if wrong := require_allowed(state, Action.WITHDRAW_SIGNATURE_REQUEST):
        return wrong
    current = state.documents[-1]
    if any(s.version == current.version for s in state.signatures):
        return Invalid(
            "document",
            f"Die Fassung {current.version} ist bereits unterschrieben und kann nicht mehr "
            "zurückgezogen werden.",
        )
    return None


def withdraw_signature_request(state: CaseState, now: datetime) -> CaseState | Rejection:
    if rejection := check_withdraw_signature_request(state, now):
        return rejection
    new = state.fork()
    current = new.documents[-1]
    current.withdrawn_at = now
    # An amendment goes back to the agreement in force (its draft still waits to be signed);
    # a first agreement back to its draft.
    new.stage = Stage.ACTIVE if new.activated_at is not None else Stage.DRAFTING
    record(new, SignatureRequestWithdrawn(version=current.version, hash=current.hash), now)
    return new
