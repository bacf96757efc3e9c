"""The pydantic schema of rule files and the merged Catalog.

Two file kinds: `kind: catalog` (the federal default, a full rule list in table order) and
`kind: override` (a municipality's add / replace / disable of default rules by id). A Catalog
is the merged, validated rule list; its `version` is the SHA-256 of its canonical JSON, so the
same rules always give the same version wherever they came from. This module only describes
and checks data; loading files is catalog.py's, evaluating is the evaluators'.
"""

import hashlib
import json
import string
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from domain.enums import ActorKind, NeedKind
from rules.conditions import ALWAYS, Condition, ConditionError, iter_atoms, parse_condition
from rules.facts import DISPLAY_FIELDS, FACTS

RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
# `any`: a case-level rule, evaluated once per case on the profile, added besides the routes.
Scope = NeedKind | Literal["any"]
CASE_SCOPE = "any"


@dataclass(frozen=True)
class RuleProblem:
    """One problem of a rule file, as data: the rule (its id, "#3" for one without an id,
    None for the file's top level), the field inside it, the English sentence of
    `CatalogError.errors`, and the pydantic error when pydantic found it (its type and
    context let a caller say it in another language: api/rule_set_messages.py)."""

    rule: str | None
    field: str
    message: str
    error: dict[str, Any] | None = None


class CatalogError(Exception):
    """One or more problems in rule files, each naming the file, the rule id and the field
    (`errors`, one line each); `problems` holds the same as data where it is known."""

    def __init__(self, errors: list[str], problems: list[RuleProblem] | None = None) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors
        self.problems = problems if problems is not None else []


def _rule_error(path: str, message: str) -> PydanticCustomError:
    # The context carries the path inside the rule, so error messages can name the exact field.
    return PydanticCustomError("lotse_rule", "{message}", {"path": path, "message": message})


class FollowUpSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after_days: Annotated[int, Field(gt=0, le=3650)]
    action: Annotated[str, Field(min_length=1, max_length=300)]


class RuleSpec(BaseModel):
    """One row of the routing table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RuleId
    need: Scope
    when: Condition = ALWAYS
    actor: ActorKind
    measure: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    priority: Annotated[int, Field(ge=1, le=3)] | None = None
    follow_ups: tuple[FollowUpSpec, ...] = ()
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    description: Annotated[str, Field(max_length=500)] = ""

    @field_validator("need", mode="before")
    @classmethod
    def _known_need(cls, raw: Any) -> Any:
        # Checked up front: the union's own error lists each member separately.
        allowed = [kind.value for kind in NeedKind] + [CASE_SCOPE]
        if raw not in allowed:
            raise _rule_error("need", f"expected one of {', '.join(allowed)}, not {raw!r}")
        return raw

    @field_validator("when", mode="before")
    @classmethod
    def _parse_when(cls, raw: Any) -> Condition:
        try:
            return parse_condition(raw)
        except ConditionError as error:
            raise _rule_error(error.path, error.message) from None

    @model_validator(mode="after")
    def _facts_and_placeholders_fit_the_need(self) -> "RuleSpec":
        credential = self.need == NeedKind.CREDENTIAL
        for atom in iter_atoms(self.when):
            if FACTS[atom.fact].credential_only and not credential:
                raise _rule_error(
                    f"when.{atom.fact}", "qualification facts exist only for need 'credential'"
                )
        try:
            fields = list(string.Formatter().parse(self.reason))
        except ValueError as error:
            raise _rule_error("reason", f"bad template: {error}") from None
        for _, name, spec, conversion in fields:
            if name is None:
                continue
            if name not in DISPLAY_FIELDS or spec or conversion:
                raise _rule_error(
                    "reason",
                    f"unknown placeholder {{{name}}}; known: {', '.join(DISPLAY_FIELDS)}",
                )
            if DISPLAY_FIELDS[name] and not credential:
                raise _rule_error(
                    "reason", f"placeholder {{{name}}} exists only for need 'credential'"
                )
        return self


class AddedRule(RuleSpec):
    """A municipality's own rule; placed before/after a rule of the same need, or at the end
    of its need kind."""

    before: RuleId | None = None
    after: RuleId | None = None

    @model_validator(mode="after")
    def _one_anchor(self) -> "AddedRule":
        if self.before is not None and self.after is not None:
            raise _rule_error("before", "give 'before' or 'after', not both")
        return self

    def as_rule(self) -> RuleSpec:
        return RuleSpec(**{name: getattr(self, name) for name in RuleSpec.model_fields})


class CatalogFile(BaseModel):
    """Top level of a full catalog file; rules are validated one by one (catalog.py) so that
    each error can name its rule id."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["catalog"]
    name: Annotated[str, Field(min_length=1, max_length=64)]
    rules: list[dict[str, Any]]


class OverrideFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["override"]
    municipality: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    replace: list[dict[str, Any]] = Field(default_factory=list)
    add: list[dict[str, Any]] = Field(default_factory=list)
    disable: list[RuleId] = Field(default_factory=list)


@dataclass(frozen=True)
class Catalog:
    """A merged, validated rule list in table order, identified by its content hash."""

    name: str
    rules: tuple[RuleSpec, ...]
    version: str = field(init=False)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        duplicates: list[str] = []
        for rule in self.rules:
            if rule.id in seen:
                duplicates.append(rule.id)
            seen.add(rule.id)
        if duplicates:
            raise CatalogError(
                [f"{self.name}: rule '{rid}': field 'id': duplicate rule id" for rid in duplicates]
            )
        payload = json.dumps(
            [r.model_dump(mode="json") for r in self.rules],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        object.__setattr__(self, "version", hashlib.sha256(payload.encode()).hexdigest())

    def to_json(self) -> dict[str, Any]:
        """What `GET /rules` shows: name, version and the rules in table order."""
        return {
            "name": self.name,
            "version": self.version,
            "rules": [r.model_dump(mode="json") for r in self.rules],
        }

    def measures_by_actor(self) -> dict[ActorKind, list[str]]:
        """Which measures each actor kind is asked for, e.g. for seeding demo partners."""
        result: dict[ActorKind, list[str]] = {}
        for rule in self.rules:
            measures = result.setdefault(rule.actor, [])
            if rule.measure not in measures:
                measures.append(rule.measure)
        return result
