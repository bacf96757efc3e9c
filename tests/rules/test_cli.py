"""`lotse rules check|explain` as a user runs them: real subprocesses of the installed script."""

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import rules
from domain.needs import Route, RoutingResult
from worker import rules_cli

EXAMPLE = Path(__file__).parents[2] / "rules" / "examples" / "explain-request.json"


def lotse(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_without_files_validates_shipped_catalogs() -> None:
    result = lotse("rules", "check")
    assert result.returncode == 0, result.stderr
    assert "gültig" in result.stdout


def test_check_lists_every_error_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    need: housing\n  - id: y\n", encoding="utf-8")
    result = lotse("rules", "check", str(bad))
    assert result.returncode == 1
    assert "bad.yaml" in result.stderr
    assert "Fehler" in result.stderr


def test_explain_json_validates_against_route_model() -> None:
    result = lotse("rules", "explain", "--json", stdin=EXAMPLE.read_text(encoding="utf-8"))
    assert result.returncode == 0, result.stderr
    routed = RoutingResult.model_validate_json(result.stdout)
    payload = json.loads(result.stdout)
    assert len(routed.ruleset_version) == 64
    for raw in payload["routes"]:
        Route.model_validate(raw)
    rules = {route.rule for route in routed.routes}
    # The example: 25 years old at an MBE centre, A2, SGB II, a child of 3 without a place.
    assert {"lang-youth", "emp-sgb2", "care-place", "age-jmd"} <= rules
    assert all(route.reason for route in routed.routes)


def test_explain_table_is_german() -> None:
    result = lotse("rules", "explain", "--example")
    assert result.returncode == 0, result.stderr
    assert "Begründung" in result.stdout
    assert "lang-youth" in result.stdout


def test_unrouted_need_exits_3_and_is_listed() -> None:
    request = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    request["profile"]["qualifications"] = []
    request["needs"] = [{"kind": "credential", "note": "", "priority": 2}]
    result = lotse("rules", "explain", "--json", stdin=json.dumps(request))
    assert result.returncode == 3
    routed = RoutingResult.model_validate_json(result.stdout)
    assert [u.need.value for u in routed.unrouted] == ["credential"]
    assert routed.unrouted[0].reason


def test_bad_request_exits_2_naming_the_field() -> None:
    request = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    request["profile"]["german_level"] = "B7"
    result = lotse("rules", "explain", "--json", stdin=json.dumps(request))
    assert result.returncode == 2
    assert "profile.german_level" in result.stderr


def test_explain_survives_a_crashed_evaluator_with_exit_4() -> None:
    """The CLI as a library call (the crash is armed in this process's evaluator pool): a real
    SIGSEGV of the evaluator process is exit 4 with a German message, and the next run
    routes on a fresh process."""
    request = EXAMPLE.read_text(encoding="utf-8")
    runner = CliRunner()
    rules.default_pool().arm_fault("segv")
    crashed = runner.invoke(rules_cli.app, ["explain", "--json"], input=request)
    assert crashed.exit_code == 4, crashed.output
    assert "Die Regelauswertung ist ausgefallen" in crashed.stderr
    assert "SIGSEGV" in crashed.stderr and crashed.stdout == ""
    again = runner.invoke(rules_cli.app, ["explain", "--json"], input=request)
    assert again.exit_code == 0, again.output
    assert RoutingResult.model_validate_json(again.stdout).routes


def test_explain_by_a_rule_file_and_refusing_a_municipality_without_rules(tmp_path: Path) -> None:
    request = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    changes = tmp_path / "changes.yaml"
    changes.write_text(
        "kind: override\nmunicipality: musterstadt\nreplace:\n  - id: emp-sgb2\n"
        "    need: employment\n    actor: employment_agency\n    measure: placement\n"
        "    reason: Arbeitsvermittlung durch die Agentur für Arbeit\n",
        encoding="utf-8",
    )
    by_file = lotse(
        "rules", "explain", "--json", "--catalog", str(changes), stdin=json.dumps(request)
    )
    assert by_file.returncode == 0, by_file.stderr
    routed = RoutingResult.model_validate_json(by_file.stdout)
    employment = next(r for r in routed.routes if r.need.value == "employment")
    assert (employment.rule, employment.actor.value) == ("emp-sgb2", "employment_agency")
    request["municipality"] = "nirgendwo"
    unknown = lotse("rules", "explain", "--json", stdin=json.dumps(request))
    assert unknown.returncode == 2
    assert "municipality" in unknown.stderr and "--catalog" in unknown.stderr


def test_explain_by_a_draft_of_the_configured_database(tmp_path: Path) -> None:
    """`--draft ID`: the draft as `POST /rules/drafts` stored it, read from the database the
    settings name (here a fresh SQLite store with the demo data)."""
    from datetime import UTC, datetime

    from sqlmodel import Session

    from store import rule_sets
    from store.db import make_engine, upgrade
    from store.seed import seed_demo

    engine = make_engine(None, tmp_path)
    upgrade(engine)
    seed_demo(engine, environment="development")
    text = "disable: [emp-sgb2, emp-sgb3]\n"
    with Session(engine) as session:
        draft = rule_sets.save_draft(session, "musterstadt", text, "regelwerk", datetime.now(UTC))
    env_request = EXAMPLE.read_text(encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker.cli",
            "rules",
            "explain",
            "--json",
            "--draft",
            str(draft.id),
        ],
        input=env_request,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LOTSE_DATA_DIR": str(tmp_path)} | {"LOTSE_DATABASE_URL": ""},
    )
    assert result.returncode == 3, result.stderr  # employment: no rule left
    routed = RoutingResult.model_validate_json(result.stdout)
    assert [u.need.value for u in routed.unrouted] == ["employment"]
