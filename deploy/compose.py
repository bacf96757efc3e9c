"""Reading deploy/compose.yaml the way Docker Compose does, far enough for tests to check it
against the code: interpolation of `${VAR}`, `${VAR:-default}`, `${VAR:?error}`; YAML anchors
and merge keys; `environment` as map or list; `entrypoint`/`command` over the image's; short
and long port syntax. Nothing here runs anything.
"""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from deploy.dockerfile import DEPLOY_DIR, ImageConfig
from deploy.manifests import argv, scalar

COMPOSE_FILE = DEPLOY_DIR / "compose.yaml"

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>\w+))"
)


def required_variables(text: str) -> set[str]:
    """Variables the file refuses to run without (`${VAR:?...}` or `${VAR?...}`)."""
    return {
        match["name"]
        for match in _INTERPOLATION.finditer(text)
        if match["name"] and match["op"] in (":?", "?")
    }


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose's interpolation of one string; `${VAR:?err}` with VAR unset raises KeyError."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        current = variables.get(name)
        empty = current is None or (current == "" and op is not None and op.startswith(":"))
        if op in (":-", "-") and empty:
            return arg
        if op in (":?", "?") and empty:
            raise KeyError(f"{name}: {arg}")
        return current or ""

    return _INTERPOLATION.sub(replace, value)


def _interpolate_tree(node: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [_interpolate_tree(item, variables) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(item, variables) for key, item in node.items()}
    return node


def load_compose(
    path: Path = COMPOSE_FILE, variables: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The compose file as Compose sees it (YAML anchors and merge keys resolved); with
    `variables`, interpolated as `docker compose` would with that environment."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path}: not a mapping")
    return _interpolate_tree(document, variables) if variables is not None else document


def service_environment(service: Mapping[str, Any]) -> dict[str, str | None]:
    """A service's `environment`, map or list form; None for a name without a value (Compose
    then passes the host's value through)."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (item.split("=", 1) if "=" in item else [item, None] for item in environment)
        return {name: value for name, value in pairs}
    return {
        str(name): None if value is None else scalar(value) for name, value in environment.items()
    }


def compose_argv(service: Mapping[str, Any], image: ImageConfig) -> list[str]:
    """The process a service runs: `entrypoint` replaces the image's ENTRYPOINT and drops its
    CMD; `command` replaces CMD."""
    command = service.get("command")
    if service.get("entrypoint") is not None:
        return argv(service["entrypoint"]) + (argv(command) if command is not None else [])
    return image.entrypoint + (argv(command) if command is not None else image.cmd)


def published_container_ports(service: Mapping[str, Any]) -> list[int]:
    """The container side of every `ports` entry ("8000", "8000:8000", "127.0.0.1:80:8000")."""
    ports: list[int] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.append(int(entry["target"]))
        else:
            ports.append(int(str(entry).rsplit(":", 1)[-1].split("/")[0]))
    return ports
