"""The durable-rules evaluator as an engine: it agrees with the plain-Python reference on many
generated profiles (through the evaluator processes, as the services use it), is safe for
concurrent callers, compiles each catalog once and leaves no session state behind. The checks
of the engine's own state run in a child process (tests/engine_child.py), so a fault in the C
engine fails them instead of ending pytest."""

import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.rules import TODAY, Case, generate_cases
from domain.enums import CentreKind
from domain.needs import RoutingResult
from rules import (
    Evaluator,
    ReferenceEvaluator,
    evaluator_for,
    load_catalog,
    load_catalog_file,
)
from tests.engine_child import in_child

CASES = generate_cases(3000, seed=11)


def route_all(evaluator: Evaluator | ReferenceEvaluator, cases: list[Case]) -> list[RoutingResult]:
    return [
        evaluator.route(c.profile, c.needs, today=TODAY, centre_kind=c.centre_kind) for c in cases
    ]


@pytest.mark.parametrize("municipality", [None, "musterstadt"])
def test_durable_rules_and_reference_agree_on_generated_profiles(municipality: str | None) -> None:
    catalog = load_catalog(municipality)
    durable = route_all(Evaluator(catalog), CASES)
    reference = route_all(ReferenceEvaluator(catalog), CASES)
    assert durable == reference
    fired = {route.rule for result in durable for route in result.routes}
    expected = {rule.id for rule in catalog.rules}
    assert fired == expected  # the generated mix reaches every rule
    assert any(result.unrouted for result in durable)


def test_nested_conditions_compile_like_the_reference(tmp_path: Path) -> None:
    path = tmp_path / "verschachtelt.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            kind: catalog
            name: verschachtelt
            rules:
              - id: a
                need: language
                when:
                  any:
                    - {all: [{age: {ge: 30, lt: 50}}, {sgb2: true}]}
                    - residence_status: [eu, settlement]
                actor: language_course_provider
                measure: m
                reason: a
              - id: b
                need: language
                when: {employment: {ne: employed}, german_rank: {gt: none, le: A2}}
                actor: language_course_provider
                measure: m
                reason: b
              - id: c
                need: residence
                when: {permit_days_left: {gt: 100}}
                actor: foreigners_authority
                measure: m
                reason: c
              - id: d
                need: residence
                when: {any: [{permit_days_left: {ne: 5}}, {centre_kind: JMD}]}
                actor: foreigners_authority
                measure: m
                reason: d
              - id: e
                need: credential
                when: {qual_kind: [academic], qual_regulated: {ne: true}}
                actor: recognition_office
                measure: m
                reason: e
              - id: f
                need: any
                when: {has_child_under6_without_care: true}
                actor: childcare_office
                measure: m
                reason: f
              - id: g
                need: any
                when: {age: {le: 20}}
                actor: youth_migration_service
                measure: m
                reason: g
            """
        ),
        encoding="utf-8",
    )
    catalog = load_catalog_file(path)
    assert route_all(Evaluator(catalog), CASES) == route_all(ReferenceEvaluator(catalog), CASES)


def test_concurrent_callers_get_the_same_results_as_serial() -> None:
    evaluator = evaluator_for("musterstadt")
    cases = CASES[:2000]
    serial = route_all(evaluator, cases)
    chunks = [cases[i::8] for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda chunk: route_all(evaluator, chunk), chunks))
    for i, chunk_results in enumerate(parallel):
        assert chunk_results == serial[i::8]


def _compiled_once() -> tuple[bool, str]:
    from rules import compiler

    catalog = load_catalog()
    first = compiler.compile_catalog(catalog)
    return first is compiler.compile_catalog(catalog), first.name


def test_each_catalog_version_is_compiled_once() -> None:
    same, name = in_child(_compiled_once)
    assert same and name == f"lotse_{load_catalog().version}"
    assert Evaluator(load_catalog()).version == evaluator_for(None).version
    assert evaluator_for("musterstadt") is evaluator_for("musterstadt")


def _sessions_after_evaluations() -> tuple[list[str], list[str], int]:
    """Evaluate routable and unroutable cases in this (child) process with the engine in
    process; the sessions used, the engine's answer when asked for each afterwards, and how
    many sessions were left behind after errors."""
    from durable.engine import durable_rules_engine

    from rules import compiler

    sessions: list[str] = []
    real_uuid4 = uuid.uuid4

    def recording_uuid4() -> uuid.UUID:
        value = real_uuid4()
        sessions.append(value.hex)
        return value

    uuid.uuid4 = recording_uuid4  # what rules.compiler calls; this process ends after the test
    evaluator = Evaluator(load_catalog(), compiler.InProcessMatcher())
    for case in CASES[:20]:
        evaluator.route(case.profile, case.needs, today=TODAY, centre_kind=CentreKind.MBE)
    ruleset = compiler.compile_catalog(load_catalog())
    answers = []
    for sid in sessions:
        try:
            durable_rules_engine.get_state(ruleset.handle, sid)
            answers.append("found")
        except Exception as error:
            answers.append(str(error))
    return sessions, answers, compiler.leaked_sessions()


def test_session_state_is_deleted_after_each_evaluation() -> None:
    sessions, answers, leaked = in_child(_sessions_after_evaluations)
    assert len(sessions) == 20
    assert all("309" in answer for answer in answers), answers  # the engine's "sid not found"
    assert leaked == 0


def test_no_needs_no_routes() -> None:
    case = CASES[0]
    result = evaluator_for(None).route(case.profile, [], today=TODAY, centre_kind=CentreKind.MBE)
    assert result.routes == [] and result.unrouted == []
