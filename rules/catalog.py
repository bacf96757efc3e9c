"""Loading rule files: the packaged federal default, a municipality's override merged onto it,
and any file named on the command line (`lotse rules check`).

Packaged catalogs are package data read through importlib.resources, never relative to the
working directory. Every problem is reported as "<file>: rule '<id>': field '<field>': <what>",
all problems of a file at once. This module must not evaluate rules.
"""

import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from rules.schema import (
    AddedRule,
    Catalog,
    CatalogError,
    CatalogFile,
    OverrideFile,
    RuleProblem,
    RuleSpec,
)

R = TypeVar("R", bound=BaseModel)

DEFAULT_NAME = "default"
_MUNICIPALITY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; in a rule that hides a mistake."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in keys:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            keys.add(key)
        return super().construct_mapping(node, deep=deep)


class _Problems:
    """The problems of one file, as lines ("<file>: rule '<id>': field '<f>': <what>") and as
    data (`RuleProblem`), in the same order."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []
        self.data: list[RuleProblem] = []

    def add(self, rule: str | None, field: str | None, message: str, error: Any = None) -> None:
        where = f"{self.source}: "
        if rule is not None:
            where += f"rule '{rule}': "
        if field is not None:
            where += f"field '{field}': "
        self.lines.append(where + message)
        self.data.append(RuleProblem(rule, field or "", message, dict(error) if error else None))

    def __bool__(self) -> bool:
        return bool(self.lines)

    def error(self) -> CatalogError:
        return CatalogError(self.lines, self.data)


def _one_problem(source: str, rule: str | None, field: str | None, message: str) -> CatalogError:
    problems = _Problems(source)
    problems.add(rule, field, message)
    return problems.error()


def _read_yaml(
    text: str, source: str, loader: type[yaml.SafeLoader] | None = None
) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=loader or _UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise _one_problem(source, None, None, f"YAML error: {error}") from None
    except RecursionError:
        raise _one_problem(source, None, None, "YAML error: nested too deeply") from None
    if not isinstance(data, dict):
        raise _one_problem(source, None, None, "expected a mapping with 'kind' at the top")
    return data


def _field(error: Any) -> str:
    ctx = error.get("ctx") or {}
    if error["type"] == "lotse_rule" and "path" in ctx:
        return str(ctx["path"])
    return ".".join(str(part) for part in error["loc"]) or "(rule)"


def _top_level_errors(source: str, error: ValidationError) -> CatalogError:
    problems = _Problems(source)
    for e in error.errors():
        problems.add(None, _field(e), e["msg"], e)
    return problems.error()


def _parse_rules(raws: list[dict[str, Any]], model: type[R], errors: _Problems) -> list[R]:
    parsed: list[R] = []
    for number, raw in enumerate(raws, start=1):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        label = raw_id if isinstance(raw_id, str) else f"#{number} (no id)"
        try:
            parsed.append(model.model_validate(raw))
        except ValidationError as error:
            for e in error.errors():
                errors.add(label, _field(e), e["msg"], e)
    return parsed


def _catalog_from_data(data: dict[str, Any], source: str) -> Catalog:
    try:
        spec = CatalogFile.model_validate(data)
    except ValidationError as error:
        raise _top_level_errors(source, error) from None
    errors = _Problems(source)
    rules = _parse_rules(spec.rules, RuleSpec, errors)
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            errors.add(rule.id, "id", "duplicate rule id")
        seen.add(rule.id)
    if errors:
        raise errors.error()
    return Catalog(name=spec.name, rules=tuple(rules))


def _merge(default: Catalog, data: dict[str, Any], source: str) -> Catalog:
    try:
        spec = OverrideFile.model_validate(data)
    except ValidationError as error:
        raise _top_level_errors(source, error) from None
    errors = _Problems(source)
    replacements = _parse_rules(spec.replace, RuleSpec, errors)
    additions = _parse_rules(spec.add, AddedRule, errors)
    problem = errors.add

    rules = list(default.rules)
    default_ids = {rule.id for rule in default.rules}
    replaced: set[str] = set()
    for new in replacements:
        position = next((i for i, r in enumerate(rules) if r.id == new.id), None)
        if position is None:
            problem(new.id, "replace", "unknown rule id (not in the default catalog)")
        elif new.id in replaced:
            problem(new.id, "replace", "replaced twice")
        elif new.need != rules[position].need:
            problem(new.id, "need", f"a replacement keeps the need '{rules[position].need}'")
        else:
            rules[position] = new
            replaced.add(new.id)

    for added in additions:
        if any(r.id == added.id for r in rules):
            problem(added.id, "id", "duplicate rule id (already in the catalog)")
            continue
        anchor_id = added.before or added.after
        if anchor_id is None:
            # Default place: after the last rule of its need kind (table order within the kind).
            same_need = [i for i, r in enumerate(rules) if r.need == added.need]
            rules.insert(same_need[-1] + 1 if same_need else len(rules), added.as_rule())
            continue
        field = "before" if added.before else "after"
        anchor = next((i for i, r in enumerate(rules) if r.id == anchor_id), None)
        if anchor is None:
            problem(added.id, field, f"unknown rule id '{anchor_id}'")
        elif rules[anchor].need != added.need:
            problem(added.id, field, f"'{anchor_id}' routes another need ('{rules[anchor].need}')")
        else:
            rules.insert(anchor if field == "before" else anchor + 1, added.as_rule())

    disabled: set[str] = set()
    for rule_id in spec.disable:
        if rule_id not in default_ids:
            problem(rule_id, "disable", "unknown rule id (not in the default catalog)")
        elif rule_id in replaced:
            problem(rule_id, "disable", "both replaced and disabled")
        disabled.add(rule_id)
    if errors:
        raise errors.error()
    return Catalog(name=spec.municipality, rules=tuple(r for r in rules if r.id not in disabled))


def _packaged_text(name: str) -> str | None:
    resource = resources.files("rules").joinpath("catalog", f"{name}.yaml")
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    text = _packaged_text(DEFAULT_NAME)
    if text is None:
        raise _one_problem(f"{DEFAULT_NAME}.yaml", None, None, "missing from the installed package")
    return _catalog_from_data(_read_yaml(text, f"{DEFAULT_NAME}.yaml"), f"{DEFAULT_NAME}.yaml")


def packaged_names() -> list[str]:
    folder = resources.files("rules").joinpath("catalog")
    return sorted(e.name[: -len(".yaml")] for e in folder.iterdir() if e.name.endswith(".yaml"))


def _load_packaged(municipality: str) -> Catalog:
    text = _packaged_text(municipality)
    if text is None:
        return default_catalog()
    source = f"{municipality}.yaml"
    data = _read_yaml(text, source)
    if data.get("kind") != "override" or data.get("municipality") != municipality:
        raise _one_problem(
            source, None, "municipality", f"expected an override for '{municipality}'"
        )
    return _merge(default_catalog(), data, source)


@lru_cache(maxsize=256)
def load_catalog(municipality: str | None = None) -> Catalog:
    """The merged catalog of a municipality: its packaged override on the default, or the
    default alone when it has no file of its own. The packaged files only, for the rules'
    tests, the benchmark and in-memory demos: the services route by each municipality's
    published rule set in the database (rules/municipal.py), which refuses an unknown one."""
    if municipality is None or municipality == DEFAULT_NAME:
        return default_catalog()
    if not _MUNICIPALITY.match(municipality):
        raise ValueError(f"not a municipality id: {municipality!r}")
    return _load_packaged(municipality)


def load_catalog_file(path: str | PathLike[str]) -> Catalog:
    """A catalog from any file: a full catalog as it is, an override merged on the default.
    Without `kind`, a file with `municipality` is an override, any other a catalog."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise _one_problem(source, None, None, f"cannot read: {error.strerror}") from None
    data = _read_yaml(text, source)
    kind = data.get("kind", "override" if "municipality" in data else "catalog")
    if kind == "catalog":
        return _catalog_from_data({"kind": kind, "name": Path(path).stem, **data}, source)
    if kind == "override":
        return _merge(default_catalog(), {"kind": kind, **data}, source)
    raise _one_problem(source, None, "kind", "expected 'catalog' or 'override'")


def check_files(paths: Sequence[str | PathLike[str]] | None = None) -> list[str]:
    """All problems of the given files (empty when every file is valid); without paths, of the
    catalogs shipped in the package."""
    errors: list[str] = []
    if paths is None:
        for name in packaged_names():
            try:
                default_catalog() if name == DEFAULT_NAME else _load_packaged(name)
            except CatalogError as error:
                errors.extend(error.errors)
        return errors
    for path in paths:
        try:
            load_catalog_file(path)
        except CatalogError as error:
            errors.extend(error.errors)
    return errors
