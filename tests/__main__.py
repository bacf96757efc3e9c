"""The whole test suite in one command: `python -m tests` runs ruff, mypy and pytest in turn
and stops at the first failure. Extra arguments go to pytest (`python -m tests -k rules`)."""

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


def main(pytest_args: list[str]) -> int:
    python = sys.executable
    steps = [
        ("ruff", [python, "-m", "ruff", "check", *PACKAGES, "tests"]),
        ("mypy", [python, "-m", "mypy"]),
        ("pytest", [python, "-m", "pytest", *pytest_args]),
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
