"""The routing evaluators of municipalities whose rules are data: each municipality's published
override (read through a `RuleSetSource`, the store's in the services) merged onto the federal
table, one evaluator per merged catalog.

`MunicipalEvaluators(source)(municipality)` is what `rules.route_needs` and the route_needs
activity take as `evaluators`. It asks the source on every call (one indexed row), so a newly
published version routes the next case at once, in every process, without a restart; the
merged catalog and its evaluator are remembered by the version's content hash. A municipality
the directory does not know raises `UnknownMunicipality`; one without a published version
routes by the federal table; None is the federal table itself (a dry run that names none).
"""

import re
import threading
from typing import Protocol

from domain.rule_sets import PublishedRules, UnknownMunicipality
from rules.catalog import default_catalog
from rules.evaluator import Evaluator, Matcher
from rules.overrides import stored_catalog
from rules.schema import Catalog

MUNICIPALITY_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# Evaluators remembered (one per catalog version); each is small, the compiled rulesets live
# in the evaluator processes (which retire after rules.pool.MAX_CATALOGS of them).
_MAX_EVALUATORS = 64


class RuleSetSource(Protocol):
    def published_rules(self, municipality: str) -> PublishedRules | None:
        """The municipality's published version, None when it has none; raises
        UnknownMunicipality when the directory does not know the municipality."""
        ...


class MunicipalEvaluators:
    """A municipality's evaluator by its published rules; safe to share between threads."""

    def __init__(self, source: RuleSetSource, matcher: Matcher | None = None) -> None:
        self._source = source
        self._matcher = matcher
        self._evaluators: dict[str, Evaluator] = {}
        self._lock = threading.Lock()

    def catalog(self, municipality: str | None) -> Catalog:
        """The merged catalog the municipality routes by now. Raises UnknownMunicipality and
        rules.CatalogError (a stored version that no longer fits the federal table)."""
        if municipality is None:
            return default_catalog()
        if not MUNICIPALITY_ID.fullmatch(municipality):
            # No directory entry can have this id (a NUL would not even reach PostgreSQL).
            raise UnknownMunicipality(municipality)
        published = self._source.published_rules(municipality)
        if published is None:
            return default_catalog()
        return stored_catalog(municipality, published.content_hash, published.text)

    def evaluator(self, catalog: Catalog) -> Evaluator:
        """The evaluator of any catalog (a draft's too), remembered by its version."""
        evaluator = self._evaluators.get(catalog.version)
        if evaluator is None:
            with self._lock:
                evaluator = self._evaluators.get(catalog.version)
                if evaluator is None:
                    if len(self._evaluators) >= _MAX_EVALUATORS:
                        self._evaluators.clear()
                    evaluator = Evaluator(catalog, self._matcher)
                    self._evaluators[catalog.version] = evaluator
        return evaluator

    def __call__(self, municipality: str | None) -> Evaluator:
        return self.evaluator(self.catalog(municipality))


__all__ = ["MunicipalEvaluators", "RuleSetSource", "UnknownMunicipality"]
