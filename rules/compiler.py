"""Compile a Catalog into a durable-rules ruleset and match items with it.

All access to durable-rules in Lotse goes through this module, and this module runs only in
the evaluator processes (`serve` in pool.py; the benchmark also runs it in-process). The engine is
one global C library that is not safe for concurrent callers and not trusted to stay up (see
pool.py for the containment). Hence:

- the engine's C API (`durable_rules_engine`) is driven directly, the way durable's own Python
  layer does it (durable/engine.py: `Ruleset.__init__`, `do_actions`, `_flush_actions`), minus
  what we do not use: no Host (its two timer threads call into the engine every 0.2 s without
  any lock), no Python action closures, no state updates between actions. An action is only
  read (which rule, which event) and completed; this halves the engine's time per evaluation;
- one module lock around create / assert / actions / delete_state;
- one ruleset per catalog version, named by it, registered once and cached (the engine refuses
  to register a name twice and has no cheap way to drop one);
- every evaluation gets its own session id (uuid) and its state is deleted right after, so no
  state piles up in the engine.

How one rule becomes a durable-rules rule: the item is posted as an *event*
`{scope, slot?, <facts>}`; rule `r<n>` matches `scope == its need` (and `slot == its id` for
a case-level rule) and its condition, with `pri: n`. durable-rules consumes an event with the
matching rule of lowest `pri`, i.e. the first in table order. Each action the engine starts
names its rule and carries the event (with its index `i`); it is recorded and completed. This
module must not match anything in Python.

Two helper rules keep the engine's C code on its safe paths (durable-rules 2.0.28,
src/rules/state.c and events.c):

- `sink` takes every event but never fires. Without it an event that no rule matches makes
  `assert_events` answer "message not handled" for the whole batch, and the actions of the
  batch's other events stay pending in the session.
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
  action started is known exactly, since every action passes through `_run_actions`. When
  none did, one sentinel event `{scope: "$batch"}` is posted to the same session; `batch`
  fires on it, so both pointers are NULL by the time of `delete_state`. (Posting the sentinel
  with every batch would be as safe but costs one more action per evaluation; batches
  without any match are rare.) tests/rules/test_engine_crash.py proves it in a child process.

If the engine refuses anyway (an error code or exception from assert_events or an action), the
session is left as it is: deleting it, or abandoning its action, could free the same garbage
pointers when no action had started. `leaked_sessions()` counts such sessions and the evaluator
process retires after the error, so the leak is bounded by the process's life (the engine
takes at most 1024 sessions, MAX_STATE_INDEX_LENGTH in rete.h).
"""

import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from durable.engine import durable_rules_engine as _engine  # the C extension

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
_RULES_OK = 0  # assert_events' result code for "accepted" (rules.h)

_LOCK = threading.Lock()
_COMPILED: dict[str, "CompiledRuleset"] = {}
# Sessions left in the engine after it refused (see the module docstring).
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


def ruleset_definition(catalog: Catalog) -> dict[str, Any]:
    """The durable-rules definition of a catalog (JSON, as the engine's create_ruleset takes)."""
    definition: dict[str, Any] = {
        f"r{position}": {"all": [{"m": _rule_expression(rule)}], "pri": position}
        for position, rule in enumerate(catalog.rules)
    }
    # An event no rule matches makes assert_events refuse the whole batch ("not handled") and
    # leaves the others' actions pending. This rule never completes (no event has scope
    # "$never"), but it accepts every item, so an unroutable need is an event without an action.
    definition["sink"] = {"all": [{"never": {"scope": "$never"}}, {"item": {"$ex": {"i": 1}}}]}
    # One action on the sentinel for a session in which no rule fired: delete_state is only
    # safe on a session in which an action has started and completed (module docstring).
    definition["batch"] = {"all": [{"m": {"scope": BATCH_SCOPE}}]}
    return definition


def _run_actions(
    handle: int, state: int, positions: Mapping[str, int], best: list[int | None]
) -> int:
    """Start and complete every action the engine has for the session at `state` (as durable's
    `Ruleset.do_actions` does, without running anything), noting each rule's event in `best`.
    How many actions ran."""
    started = _engine.start_action_for_state(handle, state)
    messages: str | None = started[1] if started else None
    count = 0
    while messages:
        count += 1
        for name, frames in json.loads(messages).items():
            position = positions.get(name)
            if position is None:
                continue  # the sentinel's rule: nothing to note
            for frame in frames if isinstance(frames, list) else [frames]:
                index = frame["m"]["i"]
                # One rule per event (lowest pri); keep the minimum regardless.
                current = best[index]
                if current is None or position < current:
                    best[index] = position
        messages = _engine.complete_and_start_action(handle, state)
    return count


def _assert(handle: int, payload: str, many: bool) -> int:
    """Post events; the session's state offset. Raises on any answer but "accepted"."""
    code, state = (_engine.assert_events if many else _engine.assert_event)(handle, payload)
    if code != _RULES_OK:
        raise RoutingEngineError(f"durable-rules did not accept the events (code {code})")
    return int(state)


class CompiledRuleset:
    def __init__(self, name: str, handle: int, positions: Mapping[str, int]) -> None:
        self.name = name
        self.handle = handle
        self._positions = positions

    def match(self, events: Sequence[Mapping[str, object]]) -> list[int | None]:
        """For each event, the catalog position of the first rule (table order) that matched."""
        if not events:
            return []
        global _LEAKED
        sid = uuid.uuid4().hex
        messages = [{**event, "sid": sid, "id": str(i), "i": i} for i, event in enumerate(events)]
        payload = json.dumps(messages, ensure_ascii=False)
        best: list[int | None] = [None] * len(events)
        with _LOCK:
            try:
                state = _assert(self.handle, payload, many=True)
                if not _run_actions(self.handle, state, self._positions, best):
                    # No action started in this session, so its action context was never set
                    # (module docstring): the sentinel's rule starts and completes one. It has
                    # no "i", so the sink does not take it.
                    sentinel = {"scope": BATCH_SCOPE, "sid": sid, "id": "batch"}
                    state = _assert(self.handle, json.dumps(sentinel), many=False)
                    if not _run_actions(self.handle, state, self._positions, best):
                        raise RoutingEngineError("durable-rules did not fire the sentinel")
            except Exception as error:
                # The session stays as it is (module docstring); this process will retire.
                _LEAKED += 1
                if isinstance(error, RoutingEngineError):
                    raise
                # The engine's message may quote the batch (facts only, but still): not passed on.
                raise RoutingEngineError(
                    f"durable-rules rejected the batch ({type(error).__name__})"
                ) from error
            _engine.delete_state(self.handle, sid)
        return best


def leaked_sessions() -> int:
    """How many sessions this process left in the engine after it refused a batch."""
    return _LEAKED


def compile_catalog(catalog: Catalog) -> CompiledRuleset:
    """The ruleset of this catalog version, registered with the engine on first use."""
    with _LOCK:
        compiled = _COMPILED.get(catalog.version)
        if compiled is None:
            name = f"lotse_{catalog.version}"
            definition = json.dumps(ruleset_definition(catalog), ensure_ascii=False)
            handle = _engine.create_ruleset(name, definition)
            positions = {f"r{position}": position for position in range(len(catalog.rules))}
            compiled = _COMPILED[catalog.version] = CompiledRuleset(name, handle, positions)
    return compiled


class InProcessMatcher:
    """The engine in the calling process (an evaluator.Matcher): for the benchmark, the
    evaluator processes' own tests and `lotse simulate`'s core engine (simulate/routing.py)
    only. Services use the supervised pool (pool.py)."""

    def match(
        self, catalog: Catalog, batches: Sequence[Sequence[Mapping[str, object]]]
    ) -> list[list[int | None]]:
        ruleset = compile_catalog(catalog)
        return [ruleset.match(events) for events in batches]
