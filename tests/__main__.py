"""The whole test suite in one command: `python -m tests` runs ruff, mypy and pytest in turn
and stops at the first failure. Extra arguments go to pytest (`python -m tests -k rules`).

pytest runs its test files in parallel (pytest-xdist), one process per core and one more, up
to four, whole files to one process (`--dist loadfile`), so a module's running system is
started once. Most of a test's time is spent waiting on Temporal servers, browsers and
subprocesses, which the other processes use (hence one more than the cores). `-n 0` (or any
`-n`) among the arguments overrides it. The 25 slowest tests are listed at the end.
"""

import os
import subprocess
import sys

PACKAGES = [
    "domain",
    "workflows",
    "activities",
    "rules",
    "store",
    "app",
    "api",
    "simulate",
    "worker",
    "bench",
    "deploy",
]


def _run(step: str, command: list[str]) -> int:
    print(f"== {step}: {' '.join(command)}", flush=True)
    return subprocess.call(command)


def _parallel(pytest_args: list[str]) -> list[str]:
    if any(arg == "-n" or arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        return []
    return ["-n", str(min(4, (os.cpu_count() or 1) + 1)), "--dist", "loadfile"]


def main(pytest_args: list[str]) -> int:
    python = sys.executable
    steps = [
        ("ruff", [python, "-m", "ruff", "check", *PACKAGES, "tests"]),
        ("mypy", [python, "-m", "mypy"]),
        (
            "pytest",
            [python, "-m", "pytest", *_parallel(pytest_args), "--durations=25", *pytest_args],
        ),
    ]
    for step, command in steps:
        code = _run(step, command)
        if code != 0:
            # pytest's 5 means "no tests ran": for us that is a failure, never a pass.
            print(f"== {step} failed (exit {code})", flush=True)
            return code or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
