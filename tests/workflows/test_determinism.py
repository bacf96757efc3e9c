"""Workflow code stays deterministic and free of shared state, checked on the source.

The worker passes `workflows` and `domain` through the sandbox (worker/worker.py): they are
imported once per process and the sandbox's runtime restrictions do not reach inside them. So
what the sandbox would catch at run time is checked here on every module of both packages:
no clock, randomness, environment, file, network or database of their own (time comes from
`workflow.now()` and is passed into `domain/` as an argument; I/O happens in activities), and no
module-level state that a run could change for the next one.
"""

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.source_parsing import parse

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("workflows", "domain")

# Modules whose use would make a replay differ from the first run, or do I/O.
FORBIDDEN_IMPORTS = frozenset(
    {
        "random",
        "secrets",
        "time",
        "uuid",
        "os",
        "threading",
        "subprocess",
        "socket",
        "logging",
        "sqlite3",
        "sqlalchemy",
        "sqlmodel",
        "httpx",
        "requests",
        "store",
        "api",
        "worker",
        "rules",
    }
)
# Calls that read the wall clock or the outside world wherever they come from.
FORBIDDEN_CALLS = frozenset({"now", "utcnow", "today", "open", "print", "input", "getenv"})
MUTATORS = frozenset(
    {"append", "extend", "insert", "add", "update", "pop", "popitem", "clear", "setdefault"}
)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _module_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def findings_in(source: str, path: str) -> Iterator[Finding]:
    tree = parse(source)
    module_names = _module_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for module in modules:
                if module.split(".")[0] in FORBIDDEN_IMPORTS:
                    yield Finding(path, node.lineno, f"imports {module}")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            on_workflow = isinstance(func, ast.Attribute) and _is_name(func.value, "workflow")
            if name in FORBIDDEN_CALLS and not on_workflow:  # workflow.now() is the clock
                yield Finding(path, node.lineno, f"calls {name}()")
        elif isinstance(node, ast.Global | ast.Nonlocal):
            yield Finding(path, node.lineno, f"rebinds {', '.join(node.names)} from a function")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _mutations_of_module_state(node, module_names, path)


def _mutations_of_module_state(
    function: ast.FunctionDef | ast.AsyncFunctionDef, module_names: set[str], path: str
) -> Iterator[Finding]:
    for node in ast.walk(function):
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Subscript | ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in module_names
                ):
                    yield Finding(path, node.lineno, f"changes module-level {target.value.id}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATORS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in module_names
        ):
            yield Finding(path, node.lineno, f"changes module-level {node.func.value.id}")


def test_the_packages_have_sources() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in sources()}
    assert {"workflows/agreement.py", "workflows/referral.py", "domain/stages.py"} <= names


@pytest.mark.parametrize("path", sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_module_is_deterministic_and_stateless(path: Path) -> None:
    found = list(findings_in(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix()))
    assert not found, "\n".join(map(str, found))


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("from datetime import datetime\ndef f():\n    return datetime.now()\n", "calls now()"),
        ("import random\n", "imports random"),
        ("import time\ndef f():\n    return time.time()\n", "imports time"),
        ("from uuid import uuid4\n", "imports uuid"),
        ("import os.path\n", "imports os.path"),
        ("def f():\n    return open('x')\n", "calls open()"),
        ("SEEN = []\ndef f(x):\n    SEEN.append(x)\n", "changes module-level SEEN"),
        ("CACHE = {}\ndef f(k):\n    CACHE[k] = 1\n", "changes module-level CACHE"),
        ("N = 0\ndef f():\n    global N\n    N += 1\n", "rebinds N from a function"),
    ],
)
def test_the_check_finds_what_it_looks_for(source: str, what: str) -> None:
    assert what in [finding.what for finding in findings_in(source, "example.py")]


def test_the_check_lets_pure_code_pass() -> None:
    source = (
        "from datetime import datetime, timedelta\n"
        "from temporalio import workflow\n"
        "LIMITS = {'a': 1}\n"
        "def later(now: datetime) -> datetime:\n"
        "    local = dict(LIMITS)\n"
        "    local['b'] = 2\n"
        "    return now + timedelta(days=local['a'])\n"
        "def today() -> datetime:\n"
        "    return workflow.now()\n"
    )
    assert list(findings_in(source, "example.py")) == []


# What the workflow modules may not load, however indirectly: the rules engine's package (its
# evaluator pool, catalogs and C extension belong in activities), the store, the API and the
# process entry points. A direct import is caught above; this catches one made by a module the
# workflows import (activities/agreement_text.py once loaded the rules package for two label
# tables).
NOT_IN_WORKFLOWS = ("rules", "durable", "store", "api", "worker", "sqlalchemy", "fastapi")


def _loaded_by(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return done.stdout.split()


def _forbidden(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in NOT_IN_WORKFLOWS]


def test_the_workflow_modules_load_no_rules_store_or_api_even_transitively() -> None:
    loaded = _loaded_by("import workflows.agreement, workflows.referral")
    assert "workflows.agreement" in loaded and "activities.agreement_text" in loaded
    assert _forbidden(loaded) == []


def test_the_transitive_check_sees_an_indirect_import() -> None:
    # activities.case imports `rules` inside its activities only; importing the package that
    # does it at module level shows up.
    assert "rules" in _forbidden(_loaded_by("import rules.partners"))
