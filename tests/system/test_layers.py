"""Who may import whom (docs/architecture.md), checked on the source of every module: an import
against the layering fails here, not in a review months later.

Imports inside functions count too (`activities/case.py` imports `rules` inside its
activities: allowed for activities, which is why the rule is about packages, not lines).

The tests keep the same order: their packages mirror the code's, and no module of tests/
imports a test module (what tests share lives in support modules and conftest.py files).
"""

import ast
from pathlib import Path

import pytest

from tests.source_parsing import parse

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
    "simulate": frozenset({"domain", "rules", "store", "app", "workflows", "activities", "api"}),
    "worker": frozenset(
        {"domain", "rules", "store", "app", "workflows", "activities", "api", "simulate"}
    ),
}
PROJECT = frozenset(ALLOWED) | {"deploy", "bench", "tests"}


def imported_packages(path: Path) -> set[str]:
    tree = parse(path.read_text(encoding="utf-8"), filename=str(path))
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


# The test packages: one per package of the code, and system/ for Lotse as a whole.
TEST_PACKAGES = frozenset(
    {"domain", "workflows", "rules", "store", "app", "api", "ui", "simulate", "system"}
)


def imported_test_modules(path: Path) -> set[str]:
    """The test modules (`tests.….test_*`) that the module at `path` imports."""
    tree = parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {
        name
        for name in found
        if name.startswith("tests.") and any(p.startswith("test_") for p in name.split("."))
    }


def test_the_tests_mirror_the_tree() -> None:
    tests = ROOT / "tests"
    assert sorted(p.name for p in tests.glob("test_*.py")) == []
    folders = {path.parent for path in tests.rglob("test_*.py")}
    assert {folder.name for folder in folders} == TEST_PACKAGES
    # A folder without __init__.py would hold modules pytest names by file alone.
    assert [f.name for f in sorted(folders) if not (f / "__init__.py").is_file()] == []


def test_no_module_of_the_tests_imports_a_test_module() -> None:
    # Shared samples, harnesses and fixtures live in support modules and conftest.py files.
    sources = sorted(p for p in (ROOT / "tests").rglob("*.py") if "histories" not in p.parts)
    imports = {str(p.relative_to(ROOT)): sorted(imported_test_modules(p)) for p in sources}
    assert {path: names for path, names in imports.items() if names} == {}


def test_the_test_import_check_sees_both_forms(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from tests.store.test_db import x\n"
        "from tests.rules import test_pool\n"
        "import tests.samples\n"
        "def f():\n    import tests.api.test_authz\n"
    )
    assert imported_test_modules(module) == {
        "tests.store.test_db",
        "tests.store.test_db.x",
        "tests.rules.test_pool",
        "tests.api.test_authz",
    }
