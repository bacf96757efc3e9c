"""Reading deploy/k8s/*.yaml the way Kubernetes does, far enough for tests to check the manifests
against the code: the environment a container gets from `env` and `envFrom` (ConfigMaps and
Secrets of the same files), the process it runs, named ports, Service selectors. Nothing here
talks to a cluster.
"""

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from deploy.dockerfile import DEPLOY_DIR, ImageConfig
from deploy.manifests import argv, scalar

K8S_DIR = DEPLOY_DIR / "k8s"


@dataclass(frozen=True)
class K8sObject:
    path: Path
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str | None:
        namespace = self.body.get("metadata", {}).get("namespace")
        return None if namespace is None else str(namespace)


def load_k8s(directory: Path = K8S_DIR) -> list[K8sObject]:
    """Every object of every YAML file in `directory` (the kustomization itself excluded)."""
    objects: list[K8sObject] = []
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        for body in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(body, dict) and body.get("kind") != "Kustomization":
                objects.append(K8sObject(path, body))
    return objects


def pod_spec(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The pod template's spec of a workload (Deployment, StatefulSet, DaemonSet, Job,
    CronJob); None for other kinds."""
    spec = body.get("spec") or {}
    if body.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template")
    if not isinstance(template, dict):
        return None
    pod = template.get("spec")
    return pod if isinstance(pod, dict) else None


def containers(body: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    pod = pod_spec(body) or {}
    yield from pod.get("initContainers") or []
    yield from pod.get("containers") or []


def _config_data(objects: list[K8sObject], kind: str, name: str) -> dict[str, str] | None:
    for obj in objects:
        if obj.kind == kind and obj.name == name:
            data = {key: str(value) for key, value in (obj.body.get("stringData") or {}).items()}
            for key, value in (obj.body.get("data") or {}).items():
                decoded = base64.b64decode(str(value)).decode() if kind == "Secret" else value
                data.setdefault(key, str(decoded))
            return data
    return None


def _lookup(objects: list[K8sObject], kind: str, ref: Mapping[str, Any]) -> dict[str, str]:
    data = _config_data(objects, kind, str(ref.get("name")))
    if data is None:
        if ref.get("optional"):
            return {}
        raise LookupError(f"{kind} {ref.get('name')!r} is referenced but not defined")
    return data


def container_environment(
    container: Mapping[str, Any], objects: list[K8sObject]
) -> dict[str, str | None]:
    """A container's environment as the kubelet builds it: `envFrom` first, then `env`, with
    ConfigMap and Secret values looked up in `objects` (a missing one raises LookupError).
    None for a value Kubernetes computes at run time (fieldRef, resourceFieldRef)."""
    environment: dict[str, str | None] = {}
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix", ""))
        if "configMapRef" in source:
            data = _lookup(objects, "ConfigMap", source["configMapRef"])
        else:
            data = _lookup(objects, "Secret", source["secretRef"])
        environment.update({prefix + key: value for key, value in data.items()})
    for variable in container.get("env") or []:
        name = str(variable["name"])
        if "value" in variable:
            environment[name] = scalar(variable["value"])
            continue
        value_from = variable.get("valueFrom") or {}
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if key in value_from:
                ref = value_from[key]
                data = _lookup(objects, kind, ref)
                if ref["key"] not in data and not ref.get("optional"):
                    raise LookupError(f"{kind} {ref['name']!r} has no key {ref['key']!r}")
                environment[name] = data.get(ref["key"])
                break
        else:
            environment[name] = None
    return environment


def k8s_argv(container: Mapping[str, Any], image: ImageConfig) -> list[str]:
    """The process a container runs: `command` replaces ENTRYPOINT (and drops CMD unless
    `args` is given), `args` replaces CMD."""
    command, args = container.get("command"), container.get("args")
    if command is not None:
        return argv(command) + (argv(args) if args is not None else [])
    return image.entrypoint + (argv(args) if args is not None else image.cmd)


def container_port(container: Mapping[str, Any], port: int | str) -> int:
    """A probe's or Service's port, a number or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise LookupError(f"container {container.get('name')!r} has no port named {port!r}")


def selects(service: K8sObject, workload: K8sObject) -> bool:
    """Whether a Service's selector matches a workload's pod template labels."""
    selector = service.body.get("spec", {}).get("selector") or {}
    template = workload.body.get("spec", {}).get("template", {})
    labels = template.get("metadata", {}).get("labels") or {}
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())
