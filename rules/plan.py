"""What both evaluators share around the matching: turn one evaluation (profile, needs, today,
centre kind) into items to match, and turn the matched rule of each item into Routes.

An item is one need, or one qualification of a credential need, or one case-level rule slot
(`need: any`, e.g. age-jmd, once per case). This module must not match conditions: which
rule fits an item is decided by durable-rules (compiler.py) or, for the baseline only, by
reference.py. Everything here is deterministic given its inputs.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.enums import CentreKind, NeedKind
from domain.labels import NEED_LABELS
from domain.needs import FollowUp, Need, Route, RoutingResult, Unrouted
from domain.profile import IntakeData
from rules.facts import Facts, derive_profile, derive_qualification
from rules.schema import CASE_SCOPE, Catalog, RuleSpec

DEFAULT_PRIORITY = 2


@dataclass(frozen=True)
class Item:
    need_index: int
    need: NeedKind
    scope: str  # the need kind's value, or "any" for a case-level slot
    slot: str | None  # the case-level rule this item exists for
    facts: Facts
    display: dict[str, str]
    qualification: str | None = None
    priority: int = DEFAULT_PRIORITY

    def event(self) -> dict[str, object]:
        """The flat message posted to durable-rules (reserved keys see facts.RESERVED_KEYS)."""
        message: dict[str, object] = dict(self.facts)
        message["scope"] = self.scope
        if self.slot is not None:
            message["slot"] = self.slot
        return message


@dataclass(frozen=True)
class Plan:
    items: list[Item]
    unrouted: list[Unrouted]  # decided before matching (a credential need without qualifications)


def make_plan(
    catalog: Catalog,
    profile: IntakeData,
    needs: Sequence[Need],
    *,
    today: date,
    centre_kind: CentreKind,
) -> Plan:
    base = derive_profile(profile, today, centre_kind)
    quals = [(q.title, derive_qualification(q)) for q in profile.qualifications]
    items: list[Item] = []
    unrouted: list[Unrouted] = []
    for index, need in enumerate(needs):
        if need.kind is NeedKind.CREDENTIAL and not quals:
            unrouted.append(
                Unrouted(
                    need=need.kind,
                    need_index=index,
                    reason="Anerkennungsbedarf erfasst, aber keine ausländische Qualifikation im "
                    "Profil eingetragen: bitte Qualifikation nachtragen und neu routen.",
                )
            )
        variants: list[tuple[str | None, Facts, dict[str, str]]]
        if need.kind is NeedKind.CREDENTIAL:
            # One item per qualification: each is routed on its own documents and kind.
            variants = [
                (title, {**base.facts, **q.facts}, {**base.display, **q.display})
                for title, q in quals
            ]
        else:
            variants = [(None, base.facts, base.display)]
        items.extend(
            Item(
                need_index=index,
                need=need.kind,
                scope=need.kind.value,
                slot=None,
                facts=facts,
                display=display,
                qualification=title,
                priority=need.priority,
            )
            for title, facts, display in variants
        )
    if needs:
        # Case-level rules: one item per rule, so each is decided on its own ("added on top").
        # Their route is attached to the first need, since a Route always names a need.
        first = needs[0]
        items.extend(
            Item(
                need_index=0,
                need=first.kind,
                scope=CASE_SCOPE,
                slot=rule.id,
                facts=base.facts,
                display=base.display,
            )
            for rule in catalog.rules
            if rule.need == CASE_SCOPE
        )
    return Plan(items=items, unrouted=unrouted)


def _route(rule: RuleSpec, item: Item) -> Route:
    return Route(
        need=item.need,
        need_index=item.need_index,
        actor=rule.actor,
        measure=rule.measure,
        rule=rule.id,
        # Templates were checked against the display fields when the catalog was loaded.
        reason=rule.reason.format_map(item.display),
        priority=rule.priority if rule.priority is not None else item.priority,
        follow_ups=[FollowUp(after_days=f.after_days, action=f.action) for f in rule.follow_ups],
        qualification=item.qualification,
    )


def _unrouted(item: Item, version: str) -> Unrouted:
    label = NEED_LABELS[item.need]
    subject = f"Bedarf „{label}“"
    if item.qualification is not None:
        subject += f" (Qualifikation „{item.qualification}“)"
    return Unrouted(
        need=item.need,
        need_index=item.need_index,
        qualification=item.qualification,
        reason=f"Für den {subject} passt keine Regel des Regelwerks (Version {version[:12]}): "
        "bitte manuell zuordnen.",
    )


def build_result(catalog: Catalog, plan: Plan, matches: Sequence[int | None]) -> RoutingResult:
    """`matches[i]` is the catalog position of the rule that routes `plan.items[i]`, or None."""
    routes: list[Route] = []
    unrouted = list(plan.unrouted)
    for item, position in zip(plan.items, matches, strict=True):
        if position is not None:
            routes.append(_route(catalog.rules[position], item))
        elif item.slot is None:  # a case-level rule that does not apply is no error
            unrouted.append(_unrouted(item, catalog.version))
    unrouted.sort(key=lambda u: u.need_index)
    return RoutingResult(ruleset_version=catalog.version, routes=routes, unrouted=unrouted)
