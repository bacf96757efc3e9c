"""Compile a Catalog into a durable-rules ruleset and match items with it.

All access to durable-rules in Lotse goes through this module, because the engine is one
global C library that is not safe for concurrent callers. Hence:

- one private Host without background threads: durable's default Host (`durable.lang.get_host`)
  starts two timer threads that call into the engine every 0.2 s without any lock and may run
  the actions of our session on their own thread. We post synchronously, so actions run in
  `post_batch` on the caller's thread, and we use no engine timers;
- one module lock around register / post_batch / delete_state (and the fired-rule buffer the
  actions write into);
- one ruleset per catalog version, named by it, registered once and cached (the engine refuses
  to register a name twice and has no cheap way to drop one);
- every evaluation gets its own session id (uuid) and its state is deleted right after, so no
  state piles up in the engine.

How one rule becomes a durable-rules rule: the item is posted as an *event*
`{scope, slot?, <facts>}`; rule n matches `scope == its need` (and `slot == its id` for a
case-level rule) and its condition, with `pri: n`. durable-rules consumes an event with the
matching rule of lowest `pri`, i.e. the first in table order. The action only records
(event index, rule position) into a buffer read under the lock, which is cheaper than writing
the result into the session state and reading it back with get_state. This module must not
match anything in Python.
"""

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from durable import engine

from rules.conditions import AllOf, AnyOf, Atom, Condition
from rules.schema import CASE_SCOPE, Catalog, RuleSpec

_DURABLE_OPS = {"ne": "$neq", "lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}


class RoutingEngineError(RuntimeError):
    """durable-rules refused a batch; the evaluation failed (never a silent drop)."""


class _QuietHost(engine.Host):  # type: ignore[misc]
    def _run(self) -> None:
        # No dispatcher/timer threads: see the module docstring.
        return None


_LOCK = threading.Lock()
_HOST: _QuietHost | None = None
_COMPILED: dict[str, "CompiledRuleset"] = {}
# Written by rule actions while `_LOCK` is held (actions run inside post_batch on our thread).
_FIRED: list[tuple[int, int]] = []


def _condition(condition: Condition) -> dict[str, Any] | None:
    """A condition as a durable-rules expression; None for 'always' (an empty all)."""
    if isinstance(condition, Atom):
        if condition.op == "in":
            assert isinstance(condition.value, tuple)
            options: list[dict[str, Any]] = [{condition.fact: v} for v in condition.value]
            return options[0] if len(options) == 1 else {"$or": options}
        if condition.op == "eq":
            return {condition.fact: condition.value}
        return {_DURABLE_OPS[condition.op]: {condition.fact: condition.value}}
    if isinstance(condition, AnyOf):
        branches = [_condition(c) for c in condition.any]
        # An always-true branch makes the whole 'any' always true.
        if any(b is None for b in branches):
            return None
        present = [b for b in branches if b is not None]
        return present[0] if len(present) == 1 else {"$or": present}
    assert isinstance(condition, AllOf)
    parts = [p for p in (_condition(c) for c in condition.all) if p is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _rule_expression(rule: RuleSpec) -> dict[str, Any]:
    tests: list[dict[str, Any]] = [{"scope": str(rule.need)}]
    if rule.need == CASE_SCOPE:
        tests.append({"slot": rule.id})
    when = _condition(rule.when)
    if when is not None:
        tests.append(when)
    return {"$and": tests}


def _action(position: int) -> Callable[[Any], None]:
    def record(c: Any) -> None:
        _FIRED.append((c.m["i"], position))

    return record


def ruleset_definition(catalog: Catalog) -> dict[str, Any]:
    """The durable-rules definition of a catalog (actions included; the engine consumes it)."""
    definition: dict[str, Any] = {
        f"r{position}": {
            "all": [{"m": _rule_expression(rule)}],
            "pri": position,
            "run": _action(position),
        }
        for position, rule in enumerate(catalog.rules)
    }
    # An event no rule matches makes post_batch raise for the whole batch and leaves the
    # others' actions pending (and deleting a state with pending actions crashes the engine).
    # This rule never completes (no event has scope "$never"), but it accepts every event, so
    # an unroutable need is simply an event without an action.
    definition["sink"] = {
        "all": [{"never": {"scope": "$never"}}, {"item": {"$ex": {"i": 1}}}],
        "run": _action(-1),
    }
    return definition


class CompiledRuleset:
    def __init__(self, name: str) -> None:
        self.name = name

    def match(self, events: Sequence[Mapping[str, object]]) -> list[int | None]:
        """For each event, the catalog position of the first rule (table order) that matched."""
        if not events:
            return []
        host = _host()
        sid = uuid.uuid4().hex
        messages = [{**event, "sid": sid, "id": str(i), "i": i} for i, event in enumerate(events)]
        with _LOCK:
            _FIRED.clear()
            try:
                host.post_batch(self.name, messages)
            except Exception as error:
                # Not deleting the state here on purpose: it may still hold pending actions.
                raise RoutingEngineError(f"durable-rules rejected the batch: {error}") from error
            fired = list(_FIRED)
            host.delete_state(self.name, sid)
        best: list[int | None] = [None] * len(events)
        for index, position in fired:
            # durable-rules fires one rule per event (lowest pri); keep the minimum regardless.
            current = best[index]
            if position >= 0 and (current is None or position < current):
                best[index] = position
        return best


def _host() -> _QuietHost:
    global _HOST
    if _HOST is None:
        with _LOCK:
            if _HOST is None:
                _HOST = _QuietHost()
    return _HOST


def compile_catalog(catalog: Catalog) -> CompiledRuleset:
    """The ruleset of this catalog version, registered with the engine on first use."""
    host = _host()
    with _LOCK:
        compiled = _COMPILED.get(catalog.version)
        if compiled is None:
            name = f"lotse_{catalog.version}"
            host.register_rulesets({name: ruleset_definition(catalog)})
            compiled = _COMPILED[catalog.version] = CompiledRuleset(name)
    return compiled
