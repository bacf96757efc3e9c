"""The condition language of rule files.

A rule's `when` is written as a YAML shorthand and parsed here into a small tree:
`Atom(fact, op, value)`, `AllOf(all=[...])` and `AnyOf(any=[...])`. Shorthand:

    when:
      german_rank: {lt: B1}        # comparison: eq, ne, lt, le, gt, ge, in
      course_completed: false      # a bare value means eq, a list means in
      any:                         # or; `all:` is and; several keys are and-ed
        - permit_days_left: {le: 90}
        - residence_status: [toleration, gestattung, unclear]

Every fact is checked against the registry in facts.py (name, type, allowed values). A
comparison on a fact the item does not have (a permit without expiry) is false. This module
also evaluates a tree in plain Python, for the reference evaluator only: the production
matching is durable-rules' (compiler.py), never this.
"""

from collections.abc import Callable, Iterator
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict

from domain.enums import GermanLevel
from rules.facts import FACTS, Facts, FactValue

Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "in"]
Scalar = bool | int | str
_ORDER_OPS = ("lt", "le", "gt", "ge")
_ALL_OPS = ("eq", "ne", *_ORDER_OPS, "in")


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Atom(_Node):
    fact: str
    op: Op
    value: Scalar | tuple[Scalar, ...]


class AllOf(_Node):
    all: tuple["Condition", ...]


class AnyOf(_Node):
    any: tuple["Condition", ...]


Condition = Union[Atom, AllOf, AnyOf]  # noqa: UP007 (a forward-referenced recursive union)
AllOf.model_rebuild()
AnyOf.model_rebuild()

ALWAYS: Condition = AllOf(all=())


class ConditionError(ValueError):
    """A bad condition; `path` points into the rule (e.g. `when.any[1].age.lt`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def parse_condition(raw: object, path: str = "when") -> Condition:
    """Parse the shorthand (or an already normalised tree, e.g. from a JSON dump)."""
    if raw is None:
        return ALWAYS
    if isinstance(raw, Atom | AllOf | AnyOf):
        return raw
    if not isinstance(raw, dict):
        raise ConditionError(path, "expected a mapping of facts to values or 'all'/'any' lists")
    if set(raw) == {"fact", "op", "value"}:
        return _atom(raw["fact"], raw["op"], raw["value"], path)
    parts: list[Condition] = []
    for key, value in raw.items():
        sub = f"{path}.{key}"
        if key in ("all", "any"):
            if not isinstance(value, list | tuple):
                raise ConditionError(sub, f"'{key}' takes a list of conditions")
            if key == "any" and not value:
                raise ConditionError(sub, "an empty 'any' can never match")
            children = tuple(parse_condition(v, f"{sub}[{n}]") for n, v in enumerate(value))
            parts.append(AllOf(all=children) if key == "all" else AnyOf(any=children))
        elif key not in FACTS:
            raise ConditionError(sub, f"unknown fact {key!r}; known facts: {', '.join(FACTS)}")
        elif isinstance(value, dict):
            if not value:
                raise ConditionError(sub, f"no operator given (one of {', '.join(_ALL_OPS)})")
            parts.extend(_atom(key, op, operand, f"{sub}.{op}") for op, operand in value.items())
        elif isinstance(value, list | tuple):
            parts.append(_atom(key, "in", value, sub))
        else:
            parts.append(_atom(key, "eq", value, sub))
    if len(parts) == 1:
        return parts[0]
    return AllOf(all=tuple(parts))


def _atom(fact: object, op: object, value: object, path: str) -> Atom:
    if not isinstance(fact, str) or fact not in FACTS:
        raise ConditionError(path, f"unknown fact {fact!r}; known facts: {', '.join(FACTS)}")
    spec = FACTS[fact]
    if op not in _ALL_OPS:
        raise ConditionError(path, f"unknown operator {op!r} (one of {', '.join(_ALL_OPS)})")
    if spec.type != "int" and op in _ORDER_OPS:
        raise ConditionError(path, f"'{op}' compares numbers, but {fact} is {spec.type}")
    if op == "in":
        if not isinstance(value, list | tuple) or not value:
            raise ConditionError(path, "'in' takes a non-empty list of values")
        items = tuple(dict.fromkeys(_operand(fact, v, path) for v in value))
        return Atom(fact=fact, op="in", value=items)
    assert op in ("eq", "ne", *_ORDER_OPS)
    return Atom(fact=fact, op=op, value=_operand(fact, value, path))


def _operand(fact: str, value: object, path: str) -> Scalar:
    spec = FACTS[fact]
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise ConditionError(path, f"{fact} is true or false, not {value!r}")
        return value
    if spec.type == "int":
        if fact == "german_rank" and isinstance(value, str):
            try:
                return GermanLevel(value).rank
            except ValueError:
                levels = ", ".join(level.value for level in GermanLevel)
                raise ConditionError(path, f"unknown German level {value!r} ({levels})") from None
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConditionError(path, f"{fact} is a whole number, not {value!r}")
        return value
    if not isinstance(value, str) or value not in spec.values:
        raise ConditionError(path, f"{fact} is one of {', '.join(spec.values)}, not {value!r}")
    return value


def iter_atoms(condition: Condition) -> Iterator[Atom]:
    if isinstance(condition, Atom):
        yield condition
    else:
        for child in condition.all if isinstance(condition, AllOf) else condition.any:
            yield from iter_atoms(child)


Predicate = Callable[[Facts], bool]


def to_predicate(condition: Condition) -> Predicate:
    """A plain-Python closure for the reference evaluator (the benchmark baseline)."""
    if isinstance(condition, AllOf):
        children = [to_predicate(c) for c in condition.all]
        return lambda facts: all(p(facts) for p in children)
    if isinstance(condition, AnyOf):
        options = [to_predicate(c) for c in condition.any]
        return lambda facts: any(p(facts) for p in options)
    fact, op, value = condition.fact, condition.op, condition.value
    compare = _COMPARE[op]

    def atom(facts: Facts) -> bool:
        actual = facts.get(fact)
        return actual is not None and compare(actual, value)

    return atom


def _in(actual: FactValue, value: object) -> bool:
    return isinstance(value, tuple) and actual in value


_COMPARE: dict[str, Callable[[FactValue, object], bool]] = {
    "eq": lambda a, v: a == v,
    "ne": lambda a, v: a != v,
    "lt": lambda a, v: isinstance(v, int) and isinstance(a, int) and a < v,
    "le": lambda a, v: isinstance(v, int) and isinstance(a, int) and a <= v,
    "gt": lambda a, v: isinstance(v, int) and isinstance(a, int) and a > v,
    "ge": lambda a, v: isinstance(v, int) and isinstance(a, int) and a >= v,
    "in": _in,
}
