"""A municipality's override of the federal table as data: text from the database or from an
upload (YAML or JSON), read with limits fit for untrusted input, merged onto the default.

The same override format and the same checks as the packaged files (catalog.py): add, replace
and disable by rule id. Text from outside is read more carefully than a file of the package:
at most `MAX_TEXT_BYTES`, no control characters, no YAML aliases (an alias bomb expands a few
lines into gigabytes), no nesting deeper than `MAX_DEPTH`. Each refusal is a `CatalogError`
whose problems name the field. This module reads no database and evaluates nothing.
"""

import re
from functools import lru_cache
from typing import Any

import yaml

from rules.catalog import _merge, _one_problem, _read_yaml, _UniqueKeyLoader, default_catalog
from rules.schema import Catalog, CatalogError

# Well inside the API's limit on a request (64 KiB), JSON's escapes included.
MAX_TEXT_BYTES = 48 * 1024
# An override is a mapping of lists of rules whose conditions nest all/any a few levels.
MAX_DEPTH = 16
# C0 controls but tab and line breaks, DEL, the C1 controls and the bidi overrides and
# isolates: no rule needs one, and they hide text from whoever reads the rule next.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class _UntrustedLoader(_UniqueKeyLoader):
    """`_UniqueKeyLoader` without aliases and with a depth limit."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_override_text(text: str, municipality: str, source: str) -> dict[str, Any]:
    """The override mapping of `text` (YAML, or JSON, which YAML reads too) for `municipality`:
    `kind` and `municipality` may be left out; given, they must fit. Raises CatalogError."""
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise _one_problem(source, None, "text", f"longer than {MAX_TEXT_BYTES} bytes")
    if _CONTROL.search(text):
        raise _one_problem(source, None, "text", "contains control characters")
    data = _read_yaml(text, source, _UntrustedLoader)
    kind = data.setdefault("kind", "override")
    if kind != "override":
        raise _one_problem(source, None, "kind", "expected 'override'")
    given = data.setdefault("municipality", municipality)
    if given != municipality:
        raise _one_problem(source, None, "municipality", f"expected '{municipality}'")
    return data


def override_catalog(text: str, municipality: str, source: str = "Entwurf") -> Catalog:
    """The merged catalog of an override's text: the federal default with its changes.
    Raises CatalogError naming each problem's rule and field."""
    return _merge(default_catalog(), read_override_text(text, municipality, source), source)


@lru_cache(maxsize=128)
def stored_catalog(municipality: str, content_hash: str, text: str) -> Catalog:
    """`override_catalog` of a stored version, remembered by its content hash: routing asks
    for the published version on every call, and a version's text never changes. Raises
    CatalogError when a stored version no longer fits the federal table (after an update)."""
    return override_catalog(text, municipality, f"{municipality} (Version {content_hash[:12]})")


__all__ = [
    "MAX_DEPTH",
    "MAX_TEXT_BYTES",
    "CatalogError",
    "override_catalog",
    "read_override_text",
    "stored_catalog",
]
