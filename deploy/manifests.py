"""What deploy/'s files have in common for the checks of tests/system/test_deploy*.py: the names of
Lotse's settings, LOTSE_* names mentioned in a file, settings built from a given environment,
image references, the search attributes an init script registers. Parsing only.

deploy/compose.py and deploy/kubernetes.py read the two kinds of manifests, deploy/dockerfile.py
the image, deploy/commands.py checks `lotse` command lines.
"""

import os
import re
import shlex
from collections.abc import Mapping
from typing import Any, TypeVar
from unittest import mock

from pydantic_settings import BaseSettings

SettingsT = TypeVar("SettingsT", bound=BaseSettings)

# What a worker or API process needs in production (app/settings.py's docstring, and the
# API's signing key, the master key of the payloads' data keys); the manifests must set every
# one of them.
PRODUCTION_SETTINGS = frozenset(
    {
        "LOTSE_ENV",
        "LOTSE_TEMPORAL_ADDRESS",
        "LOTSE_DATABASE_URL",
        "LOTSE_JWT_SECRET",
        "LOTSE_MASTER_KEY",
    }
)

_SEARCH_ATTRIBUTE_CREATE = re.compile(
    r"\bsearch-attribute\s+create\b.*?--name\s+(\w+)\s+--type\s+(\w+)"
)


def setting_env_names(settings: type[BaseSettings]) -> frozenset[str]:
    """The environment variables `settings` reads: its env prefix + each field name."""
    prefix = str(settings.model_config.get("env_prefix") or "")
    return frozenset(f"{prefix}{name}".upper() for name in settings.model_fields)


def env_names_in(text: str, prefix: str) -> set[str]:
    """Every name that looks like one of ours (`prefix` + upper-case letters) in `text`."""
    return set(re.findall(rf"(?<![A-Za-z0-9_]){re.escape(prefix)}[A-Z0-9_]+", text))


def registered_search_attributes(script: str) -> list[str]:
    """`Name=Type` (the dev server's syntax) for every `temporal operator search-attribute
    create --name N --type T` line of a shell script, comments skipped, in order."""
    found: list[str] = []
    for line in script.splitlines():
        if line.lstrip().startswith("#"):
            continue
        found += [f"{name}={kind}" for name, kind in _SEARCH_ATTRIBUTE_CREATE.findall(line)]
    return found


def split_image(reference: str) -> tuple[str, str | None]:
    """(repository, tag) of an image reference; tag None when there is none."""
    name = reference.split("@", 1)[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, None


def settings_from_environment(
    settings: type[SettingsT], environment: Mapping[str, str | None]
) -> SettingsT:
    """`settings` built from exactly the given variables of its prefix (the process's own
    variables of that prefix are hidden meanwhile), through the same parsing as at run time.
    For tests: it swaps os.environ for the duration of the call."""
    prefix = str(settings.model_config.get("env_prefix") or "").upper()
    with mock.patch.dict(os.environ):
        for name in [name for name in os.environ if name.upper().startswith(prefix)]:
            del os.environ[name]
        os.environ.update({name: value for name, value in environment.items() if value is not None})
        return settings()


def scalar(value: Any) -> str:
    """A YAML scalar as the string a process sees in its environment."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def argv(value: Any) -> list[str]:
    """A command given as a list (exec form) or a string (split like a shell would)."""
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def image_name(reference: str) -> str:
    """The last path segment of an image's repository: "lotse" for registry.example.org/lotse:1."""
    return split_image(reference)[0].rsplit("/", 1)[-1]
