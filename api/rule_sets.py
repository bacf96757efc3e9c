"""A municipality's rule sets as the API and the rules page both handle them: whose
municipality a caller may see, a draft in the caller's scope, a text checked before it is
stored, a draft stored and published (each audited), and the decision table of a catalog.

Scope: an administrator names the municipality (every one is hers); a rule editor and a
supervisor have their own, and another one, or a draft of another one, is not found (404), as
a missing one. A text is checked by the rules' own schema (rules/overrides.py) before anything
is stored; its problems answer 422 with one entry per rule and field, in German
(api/rule_set_messages.py).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, status
from sqlmodel import Session

from api.rule_set_messages import german_problems
from domain.enums import ActorKind, NeedKind
from domain.labels import ACTOR_LABELS, NEED_LABELS
from rules.catalog import default_catalog
from rules.describe import condition_text
from rules.municipal import MUNICIPALITY_ID
from rules.overrides import override_catalog, read_override_text
from rules.schema import CASE_SCOPE, Catalog, CatalogError, RuleSpec
from store import audit
from store import rule_sets as store
from store.models import Role, RuleSetVersion, User

NOT_FOUND = "Nicht gefunden."


def not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)


def scope_municipality(session: Session, user: User, requested: str | None) -> str:
    """The municipality whose rules the caller means: her own (a rule editor, a supervisor),
    or the one an administrator names (422 without one). Another or unknown one: 404."""
    if user.role is Role.ADMIN:
        if requested is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail={
                    "detail": "Ungültige Eingabe – Bitte die Kommune angeben (municipality).",
                    "errors": [{"field": "municipality", "message": "Bitte die Kommune angeben."}],
                },
            )
        if not MUNICIPALITY_ID.fullmatch(requested) or not store.municipality_exists(
            session, requested
        ):
            raise not_found()
        return requested
    own = user.municipality_id
    if own is None or (requested is not None and requested != own):
        raise not_found()
    return own


def scoped_version(session: Session, user: User, version_id: int) -> RuleSetVersion:
    """A version of a municipality the caller may see; 404 otherwise."""
    row = store.version_by_id(session, version_id)
    if row is None or (user.role is not Role.ADMIN and row.municipality_id != user.municipality_id):
        raise not_found()
    return row


def rules_refused(error: CatalogError) -> HTTPException:
    problems = german_problems(error)
    summary = " ".join(p["message"] for p in problems[:3])
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail={
            "detail": f"Das Regelwerk ist ungültig – {summary}",
            "errors": problems,
        },
    )


def checked_catalog(text: str, municipality: str) -> Catalog:
    """The merged catalog of an override text; 422 naming each rule and field otherwise."""
    try:
        return override_catalog(text, municipality)
    except CatalogError as error:
        raise rules_refused(error) from error


def version_catalog(row: RuleSetVersion) -> Catalog:
    """The merged catalog of a stored version (422 when the federal table has moved since)."""
    return checked_catalog(row.override_text, row.municipality_id)


def store_draft(
    session: Session, municipality_id: str, text: str, username: str, draft_id: int | None
) -> RuleSetVersion:
    """The checked `text` stored as a new draft, or into the draft `draft_id`; audited."""
    row = store.save_draft(
        session, municipality_id, text, username, datetime.now(UTC), draft_id=draft_id
    )
    verb = "rules.draft_create" if draft_id is None else "rules.draft_update"
    audit.add_entry(session, username, verb, "rule_set", str(row.id))
    return row


def publish(session: Session, row: RuleSetVersion, username: str) -> None:
    """Publish the draft `row` (the caller has checked that it is one): checked against the
    federal table first, which may have moved since the draft was saved (422); 409 when
    another version was published meanwhile; audited."""
    version_catalog(row)
    try:
        store.publish(session, row, username, datetime.now(UTC))
    except store.PublishedMeanwhile as error:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="Gleichzeitig wurde eine andere Version veröffentlicht; bitte neu laden.",
        ) from error
    audit.add_entry(session, username, "rules.publish", "rule_set", str(row.id))


@dataclass(frozen=True)
class TableRow:
    """One row of the decision table: a rule in table order and where it comes from."""

    position: int
    rule: RuleSpec
    origin: str  # federal | replaced | local | disabled
    condition: str
    actor: str
    need: str


ORIGIN_LABELS = {
    "federal": "Bundesregel",
    "replaced": "ersetzt",
    "local": "kommunal",
    "disabled": "abgeschaltet",
}


def decision_table(catalog: Catalog, override: dict[str, Any] | None) -> list[TableRow]:
    """The municipality's rules in table order, each marked by origin, with the federal rules
    it disabled at the place they had."""
    federal = {rule.id: rule for rule in default_catalog().rules}
    disabled = set((override or {}).get("disable") or [])
    merged = {rule.id for rule in catalog.rules}
    rows: list[TableRow] = []

    def add(rule: RuleSpec, origin: str) -> None:
        need = "jeder Fall" if rule.need == CASE_SCOPE else NEED_LABELS[NeedKind(rule.need)]
        counted = sum(1 for row in rows if row.origin != "disabled")
        rows.append(
            TableRow(
                # A disabled rule routes nothing: it holds no place in the order.
                position=0 if origin == "disabled" else counted + 1,
                rule=rule,
                origin=origin,
                condition=condition_text(rule.when),
                actor=ACTOR_LABELS.get(ActorKind(rule.actor), str(rule.actor)),
                need=str(need),
            )
        )

    shown_disabled: set[str] = set()
    for rule in catalog.rules:
        # A disabled federal rule is shown where it stood: before the rule that followed it.
        for federal_rule in default_catalog().rules:
            waiting = federal_rule.id in disabled and federal_rule.id not in shown_disabled
            if waiting and _stood_before(federal_rule.id, rule.id):
                add(federal_rule, "disabled")
                shown_disabled.add(federal_rule.id)
        original = federal.get(rule.id)
        if original is None:
            add(rule, "local")
        elif original != rule:
            add(rule, "replaced")
        else:
            add(rule, "federal")
    for rule_id in sorted(disabled - shown_disabled - merged):
        if rule_id in federal:
            add(federal[rule_id], "disabled")
    return rows


def _stood_before(disabled_id: str, rule_id: str) -> bool:
    order = [rule.id for rule in default_catalog().rules]
    if rule_id not in order:
        return False
    return order.index(disabled_id) < order.index(rule_id)


def override_of(text: str, municipality: str) -> dict[str, Any] | None:
    try:
        return read_override_text(text, municipality, "Regelwerk")
    except CatalogError:
        return None
