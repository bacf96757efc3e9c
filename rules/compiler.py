"""Compile a Catalog into a durable-rules ruleset and match items with it.

All access to durable-rules in Lotse goes through this module, and this module runs only in
the evaluator processes (pool_worker.py; the benchmark also runs it in-process). The engine is
one global C library that is not safe for concurrent callers and not trusted to stay up (see
pool.py for the containment). Hence:

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

Two helper rules keep the engine's C code on its safe paths (durable-rules 2.0.28,
src/rules/state.c and events.c):

- `sink` takes every event but never fires. Without it an event that no rule matches makes
  `assert_events` answer "message not handled" for the whole batch (post_batch raises), and the
  actions of the batch's other events stay pending in the session.
- `batch` makes sure that every session starts and completes at least one action before it is
  deleted. The reason is a bug in the engine: `createStateNode` (state.c) takes the session's
  node from a malloc'd pool (the `INIT`/`NEW` macros do not zero it) and never initialises
  `node->context.messages` / `node->context.stateFact`. Only `startAction` /
  `startActionForState` (events.c) set them, when an action starts, and
  `completeAndStartAction` -> `freeActionContext` frees and NULLs them when the last action
  completes. `deleteStateNode` (state.c) frees both when they are non-NULL. So `delete_state`
  of a session in which no action ever started frees whatever garbage the pool held: SIGSEGV,
  or SIGABRT "free(): invalid pointer" (issue 10: a batch whose every item matched no rule,
  e.g. only the need `childcare` for a family whose children are all over six). Whether an
  action started is known exactly: every rule action records into `_FIRED`, the sink never
  fires. When none did, one sentinel event `{scope: "$batch"}` is posted to the same session;
  `batch` fires on it and records nothing, so both pointers are NULL by the time of
  `delete_state`. (Posting the sentinel with every batch would be as safe and costs one more
  action per evaluation, about a fifth of the engine's time; batches without any match are
  rare.) tests/test_rules_engine_crash.py proves it in a child process.

If post_batch raises anyway, the session is not deleted (its context may hold pending actions
and pointers the engine has not cleared); `leaked_sessions()` counts them and the evaluator
process retires after such an error, so the leak is bounded by the process's life.
"""

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from durable import engine

from rules.conditions import AllOf, AnyOf, Atom, Condition
from rules.errors import RoutingEngineError
from rules.schema import CASE_SCOPE, Catalog, RuleSpec

__all__ = [
    "CompiledRuleset",
    "InProcessMatcher",
    "RoutingEngineError",
    "compile_catalog",
    "leaked_sessions",
]

_DURABLE_OPS = {"ne": "$neq", "lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}
# The scope of the sentinel event posted after a batch in which no rule fired; no catalog rule
# can match it (scopes are need kinds or "any").
BATCH_SCOPE = "$batch"


class _QuietHost(engine.Host):  # type: ignore[misc]
    def _run(self) -> None:
        # No dispatcher/timer threads: see the module docstring.
        return None


_LOCK = threading.Lock()
_HOST: _QuietHost | None = None
_COMPILED: dict[str, "CompiledRuleset"] = {}
# Written by rule actions while `_LOCK` is held (actions run inside post_batch on our thread).
_FIRED: list[tuple[int, int]] = []
# Sessions left in the engine because post_batch raised (see the module docstring).
_LEAKED = 0


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


def _batch_done(c: Any) -> None:
    # Fires on the sentinel only so that the session's action context is set and cleared
    # before delete_state (module docstring); there is nothing to record.
    return None


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
    # One action on the sentinel for a session in which no rule fired: delete_state is only
    # safe on a session in which an action has started and completed (module docstring).
    definition["batch"] = {"all": [{"m": {"scope": BATCH_SCOPE}}], "run": _batch_done}
    return definition


class CompiledRuleset:
    def __init__(self, name: str) -> None:
        self.name = name

    def match(self, events: Sequence[Mapping[str, object]]) -> list[int | None]:
        """For each event, the catalog position of the first rule (table order) that matched."""
        if not events:
            return []
        global _LEAKED
        host = _host()
        sid = uuid.uuid4().hex
        messages = [{**event, "sid": sid, "id": str(i), "i": i} for i, event in enumerate(events)]
        with _LOCK:
            _FIRED.clear()
            try:
                host.post_batch(self.name, messages)
                if not _FIRED:
                    # No action started in this session, so its action context was never set
                    # (module docstring): the sentinel's rule starts and completes one. It has
                    # no "i", so the sink does not take it.
                    host.post(self.name, {"scope": BATCH_SCOPE, "sid": sid, "id": "batch"})
            except Exception as error:
                # Not deleting the state here on purpose: it may still hold pending actions and
                # an action context the engine has not cleared (module docstring).
                _LEAKED += 1
                # The engine's message may quote the batch (facts only, but still): not passed on.
                raise RoutingEngineError(
                    f"durable-rules rejected the batch ({type(error).__name__})"
                ) from error
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


def leaked_sessions() -> int:
    """How many sessions this process left in the engine after post_batch raised."""
    return _LEAKED


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


class InProcessMatcher:
    """The engine in the calling process (an evaluator.Matcher): for the benchmark and the
    evaluator processes' own tests only. Services use the supervised pool (pool.py)."""

    def match(
        self, catalog: Catalog, batches: Sequence[Sequence[Mapping[str, object]]]
    ) -> list[list[int | None]]:
        ruleset = compile_catalog(catalog)
        return [ruleset.match(events) for events in batches]
