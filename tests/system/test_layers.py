"""Who may import whom (docs/architecture.md), checked on the source of every module: an import
against the layering fails here, not in a review months later.

Imports inside functions count too (`activities/case.py` imports `rules` inside its
activities: allowed for activities, which is why the rule is about packages, not lines).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> the project packages it may import (besides itself and third-party code)
ALLOWED: dict[str, frozenset[str]] = {
    "domain": frozenset(),
    "app": frozenset(),
    "rules": frozenset({"domain"}),
    "store": frozenset({"domain"}),
    "activities": frozenset({"domain", "rules"}),
    "workflows": frozenset({"domain", "activities"}),
    "api": frozenset({"domain", "rules", "store", "app", "workflows"}),
    "worker": frozenset({"domain", "rules", "store", "app", "workflows", "activities", "api"}),
}
PROJECT = frozenset(ALLOWED) | {"deploy", "bench", "tests"}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & PROJECT


def modules() -> list[tuple[str, Path]]:
    return [
        (package, path)
        for package in ALLOWED
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]


@pytest.mark.parametrize(
    ("package", "path"),
    modules(),
    ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else v,
)
def test_a_module_imports_only_the_layers_below_it(package: str, path: Path) -> None:
    beyond = imported_packages(path) - ALLOWED[package] - {package}
    assert beyond == set(), f"{path.relative_to(ROOT)} imports {sorted(beyond)}"


def test_api_and_worker_do_not_import_each_other_both_ways() -> None:
    api_imports = set().union(*(imported_packages(p) for p in (ROOT / "api").rglob("*.py")))
    assert "worker" not in api_imports


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from worker.up import up\n    import api.main\n")
    assert imported_packages(module) == {"worker", "api"}
