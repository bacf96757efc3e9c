"""Need routing: rule files (data, federal default + municipal overrides) compiled into
durable-rules rulesets, and partner resolution.

Public API:
    load_catalog(municipality) -> Catalog          merged default + a packaged override (tests)
    MunicipalEvaluators(source)(municipality)      the services' evaluators: a municipality's
                                                   published rule set from the store
                                                   (rules/municipal.py, rules/overrides.py)
    load_catalog_file(path) -> Catalog             any rule file (`lotse rules check|explain`)
    check_files(paths) -> list[str]                every problem, "<file>: rule '<id>': field ..."
    Evaluator(catalog).route(profile, needs, *, today, centre_kind) -> RoutingResult
    evaluator_for(municipality) -> Evaluator       cached, one per municipality
    default_pool() -> EvaluatorPool                the supervised processes running durable-rules
    RulesUnavailable                               an evaluator process died or hung: retry
    resolve_partners(routes, partners, municipality, *, exclude=()) -> list[Route]
    route_needs(profile, needs, *, municipality, today, centre_kind, partners) -> RoutingResult
                                                   rules, then partners: as a case and a dry run
    ReferenceEvaluator(catalog)                    plain-Python baseline (bench, tests only)

Nothing here reads the clock, a database or the network. durable-rules (a C extension) runs
only in the evaluator processes (pool.py), never in the process that imports this package
(unless it asks for compiler.InProcessMatcher, as the benchmark and the engine's tests do).
"""

from rules.catalog import check_files, default_catalog, load_catalog, load_catalog_file
from rules.errors import EvaluatorCrashed, EvaluatorTimeout, RoutingEngineError, RulesUnavailable
from rules.evaluator import Evaluation, Evaluator, evaluator_for, route_needs
from rules.partners import resolve_partners
from rules.pool import EvaluatorPool, default_pool
from rules.reference import ReferenceEvaluator
from rules.schema import Catalog, CatalogError, RuleSpec

__all__ = [
    "Catalog",
    "CatalogError",
    "Evaluation",
    "Evaluator",
    "EvaluatorCrashed",
    "EvaluatorPool",
    "EvaluatorTimeout",
    "ReferenceEvaluator",
    "RoutingEngineError",
    "RuleSpec",
    "RulesUnavailable",
    "check_files",
    "default_catalog",
    "default_pool",
    "evaluator_for",
    "load_catalog",
    "load_catalog_file",
    "resolve_partners",
    "route_needs",
]
