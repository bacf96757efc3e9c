"""deploy/k8s/ against the code: the kustomization applies every manifest but the Secret
template, every Lotse container's environment resolves (ConfigMap and Secret keys exist) to
values Settings accepts, the API's port is the one its probes, its Service and Settings agree
on, workers outlive their shutdown grace, and pods run as the image's non-root user. The
network policies: Lotse's pods admit only the API on its port; Temporal's frontend admits
only the worker, the API and the init Job, the database only the API, the workers and the
migrations (deploy/k8s-access/, applied in those namespaces).
"""

from typing import Any

import pytest
import yaml
from sqlalchemy import make_url

from api.security import MIN_SECRET_LENGTH
from app.settings import Settings
from deploy import kubernetes
from deploy.dockerfile import DEPLOY_DIR, load_image_config
from deploy.kubernetes import K8S_DIR, K8sObject
from deploy.manifests import PRODUCTION_SETTINGS, image_name, settings_from_environment

OBJECTS = kubernetes.load_k8s()
IMAGE = load_image_config()
SECRET_TEMPLATE = "secret.example.yaml"
WORKLOADS = [o for o in OBJECTS if kubernetes.pod_spec(o.body) is not None]
LOTSE_CONTAINERS = [
    (workload, container)
    for workload in WORKLOADS
    for container in kubernetes.containers(workload.body)
    if image_name(container["image"]) == "lotse"
]


def _one(kind: str, name: str) -> K8sObject:
    (found,) = [o for o in OBJECTS if o.kind == kind and o.name == name]
    return found


def _lotse_container(workload: str) -> dict[str, Any]:
    (container,) = [c for w, c in LOTSE_CONTAINERS if w.name == workload]
    return container


def _settings(workload: str) -> Settings:
    container = _lotse_container(workload)
    environment = {**IMAGE.env, **kubernetes.container_environment(container, OBJECTS)}
    return settings_from_environment(Settings, environment)


def test_kustomization_applies_every_manifest_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"])
    files = {path.name for path in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == files - {SECRET_TEMPLATE}


def test_everything_lives_in_the_lotse_namespace() -> None:
    _one("Namespace", "lotse")
    for obj in OBJECTS:
        if obj.kind != "Namespace":
            assert obj.namespace == "lotse", f"{obj.path.name}: {obj.kind} {obj.name}"


def test_lotse_runs_worker_api_and_migrations() -> None:
    assert {(w.kind, w.name) for w, _ in LOTSE_CONTAINERS} == {
        ("Deployment", "lotse-worker"),
        ("Deployment", "lotse-api"),
        ("Job", "lotse-migrate"),
    }


@pytest.mark.parametrize("workload", ["lotse-worker", "lotse-api"])
def test_worker_and_api_get_what_production_needs(workload: str) -> None:
    environment = kubernetes.container_environment(_lotse_container(workload), OBJECTS)
    missing = {name for name in PRODUCTION_SETTINGS if not environment.get(name)}
    assert not missing, f"{workload} lacks {sorted(missing)}"
    assert _settings(workload).is_production


def test_migrations_get_the_production_database() -> None:
    assert _settings("lotse-migrate").is_production
    assert _settings("lotse-migrate").database_url == _settings("lotse-worker").database_url


def test_secrets_come_from_the_secret_and_the_rest_from_the_config_map() -> None:
    secret = _one("Secret", "lotse-secrets").body["stringData"]
    config = _one("ConfigMap", "lotse-config").body["data"]
    assert {"LOTSE_JWT_SECRET", "LOTSE_DATABASE_URL"} <= set(secret)
    assert not {"LOTSE_JWT_SECRET", "LOTSE_DATABASE_URL", "LOTSE_TEMPORAL_API_KEY"} & set(config)


def test_secret_template_placeholders_fail_safe() -> None:
    secret = _one("Secret", "lotse-secrets").body["stringData"]
    # Applied unedited, the API refuses to start instead of signing tokens with a public key.
    assert len(secret["LOTSE_JWT_SECRET"]) < MIN_SECRET_LENGTH
    assert ".invalid" in secret["LOTSE_DATABASE_URL"]


def test_api_port_agrees_with_probes_and_service() -> None:
    settings = _settings("lotse-api")
    assert settings.api_host == "0.0.0.0"
    container = _lotse_container("lotse-api")
    assert [p["containerPort"] for p in container["ports"]] == [settings.api_port]
    for probe, path in (("readinessProbe", "/healthz"), ("livenessProbe", "/livez")):
        http_get = container[probe]["httpGet"]
        assert http_get["path"] == path, probe
        assert kubernetes.container_port(container, http_get["port"]) == settings.api_port, probe
    service = _one("Service", "lotse-api")
    selected = [
        w.name for w in WORKLOADS if w.kind == "Deployment" and kubernetes.selects(service, w)
    ]
    assert selected == ["lotse-api"]
    for port in service.body["spec"]["ports"]:
        assert kubernetes.container_port(container, port["targetPort"]) == settings.api_port


def test_worker_outlives_its_shutdown_grace() -> None:
    grace = _settings("lotse-worker").worker_shutdown_grace.total_seconds()
    pod = kubernetes.pod_spec(_one("Deployment", "lotse-worker").body) or {}
    assert pod["terminationGracePeriodSeconds"] > grace


def test_worker_scales_out() -> None:
    assert _one("Deployment", "lotse-worker").body["spec"]["replicas"] >= 2
    assert _one("Deployment", "lotse-api").body["spec"]["replicas"] >= 2


def test_init_job_talks_to_the_cluster_the_workers_use() -> None:
    job = _one("Job", "lotse-temporal-init")
    (container,) = kubernetes.containers(job.body)
    environment = kubernetes.container_environment(container, OBJECTS)
    settings = _settings("lotse-worker")
    assert environment["TEMPORAL_ADDRESS"] == settings.temporal_address
    assert environment["TEMPORAL_NAMESPACE"] == settings.temporal_namespace


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: f"{w.kind}/{w.name}")
def test_pods_run_unprivileged_with_resources(workload: K8sObject) -> None:
    pod = kubernetes.pod_spec(workload.body) or {}
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in kubernetes.containers(workload.body):
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        if image_name(container["image"]) == "lotse":
            assert IMAGE.user is not None
            assert str(pod["securityContext"]["runAsUser"]) == IMAGE.user.split(":")[0]


def test_the_api_trusts_forwarded_addresses_only_from_the_cluster_network() -> None:
    proxies = _settings("lotse-api").trusted_proxies
    assert proxies, "behind the Ingress every client would count as the Ingress"
    # Never the whole internet: a client could then name any address as its own.
    assert all(network.is_private and network.prefixlen >= 8 for network in proxies), proxies


ACCESS = kubernetes.load_k8s(DEPLOY_DIR / "k8s-access")


def _pod_labels(workload: K8sObject) -> dict[str, str]:
    return dict(workload.body["spec"]["template"]["metadata"]["labels"])


def _component(workload: K8sObject) -> str:
    return _pod_labels(workload)["app.kubernetes.io/component"]


def _admitted_from_lotse(policy: K8sObject) -> tuple[set[str], set[int]]:
    """The components of Lotse's namespace a policy admits, and on which ports."""
    components: set[str] = set()
    ports: set[int] = set()
    for rule in policy.body["spec"]["ingress"]:
        for peer in rule.get("from", []):
            namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
            if namespace.get("kubernetes.io/metadata.name") != "lotse":
                continue
            (expression,) = peer["podSelector"]["matchExpressions"]
            assert expression["key"] == "app.kubernetes.io/component"
            assert expression["operator"] == "In"
            components |= set(expression["values"])
            ports |= {int(port["port"]) for port in rule["ports"]}
    return components, ports


def test_lotse_pods_admit_nothing_but_the_api_on_its_port() -> None:
    policies = [o for o in OBJECTS if o.kind == "NetworkPolicy"]
    (deny,) = [p for p in policies if p.body["spec"]["podSelector"] == {}]
    assert deny.body["spec"]["policyTypes"] == ["Ingress"]
    assert not deny.body["spec"].get("ingress")
    api = _one("Deployment", "lotse-api")
    for policy in policies:
        if policy.body["spec"].get("ingress"):
            selector = policy.body["spec"]["podSelector"]["matchLabels"]
            admitted = [w for w in WORKLOADS if selector.items() <= _pod_labels(w).items()]
            assert admitted == [api], policy.name
            ports = [p["port"] for rule in policy.body["spec"]["ingress"] for p in rule["ports"]]
            container = _lotse_container("lotse-api")
            assert [kubernetes.container_port(container, p) for p in ports] == [
                _settings("lotse-api").api_port
            ]


def test_temporals_frontend_admits_only_the_worker_the_api_and_the_init_job() -> None:
    (policy,) = [o for o in ACCESS if o.name == "temporal-frontend-from-lotse"]
    host, port = _settings("lotse-worker").temporal_address.rsplit(":", 1)
    # temporal-frontend.temporal.svc: the chart's Service of release `temporal`, namespace
    # `temporal`; the policy selects that release's frontend pods there.
    service, namespace = host.split(".")[:2]
    assert policy.namespace == namespace
    labels = policy.body["spec"]["podSelector"]["matchLabels"]
    assert f"{labels['app.kubernetes.io/instance']}-{labels['app.kubernetes.io/component']}" == (
        service
    )
    components, ports = _admitted_from_lotse(policy)
    assert components == {"worker", "api", "temporal-init"}
    assert components <= {_component(w) for w in WORKLOADS}
    assert ports == {int(port)}


def test_the_database_admits_only_the_api_the_workers_and_the_migrations() -> None:
    (policy,) = [o for o in ACCESS if o.name == "database-from-lotse"]
    components, ports = _admitted_from_lotse(policy)
    # Exactly the workloads that are given the database URL (the workers write the read model).
    given_the_url = {
        _component(w)
        for w, c in LOTSE_CONTAINERS
        if "LOTSE_DATABASE_URL" in kubernetes.container_environment(c, OBJECTS + ACCESS)
    }
    assert components == given_the_url == {"worker", "api", "migrate"}
    template = yaml.safe_load((K8S_DIR / SECRET_TEMPLATE).read_text(encoding="utf-8"))
    url = make_url(template["stringData"]["LOTSE_DATABASE_URL"])
    assert ports == {url.port}
