"""deploy/compose.yaml against the code, read as `docker compose` would with deploy/.env filled:
the Lotse services get the settings production needs (and Settings accepts their values), the
database URL and Temporal address name services of the file, the API's port is the one
published and checked, workers outlive their shutdown grace, and everything starts in order.
"""

import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from app.settings import Settings
from deploy import compose
from deploy.dockerfile import DEPLOY_DIR, load_image_config
from deploy.manifests import PRODUCTION_SETTINGS, image_name, settings_from_environment, split_image

TEXT = compose.COMPOSE_FILE.read_text(encoding="utf-8")
# What an operator puts into deploy/.env (.env.example says how): URL-safe, 48 characters.
VARIABLES = {name: secrets.token_hex(24) for name in compose.required_variables(TEXT)}
SERVICES: dict[str, dict[str, Any]] = compose.load_compose(variables=VARIABLES)["services"]
IMAGE = load_image_config()
LOTSE_SERVICES = sorted(n for n, s in SERVICES.items() if image_name(s.get("image", "")) == "lotse")


def _environment(service: str) -> dict[str, str | None]:
    """What the container sees: the image's ENV, overridden by the service's environment."""
    return {**IMAGE.env, **compose.service_environment(SERVICES[service])}


def _settings(service: str) -> Settings:
    return settings_from_environment(Settings, _environment(service))


def _services_running(repository: str) -> list[str]:
    return [n for n, s in SERVICES.items() if split_image(s["image"])[0] == repository]


def _duration(text: str) -> timedelta:
    """Compose's duration syntax, e.g. 45s, 1m30s."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    assert parts is not None and text, f"not a duration: {text}"
    hours, minutes, seconds = (int(part or 0) for part in parts.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def test_compose_refuses_to_start_without_its_secrets() -> None:
    assert {"POSTGRES_PASSWORD", "LOTSE_JWT_SECRET"} <= set(VARIABLES)
    with pytest.raises(KeyError, match="LOTSE_JWT_SECRET"):
        compose.load_compose(variables={**VARIABLES, "LOTSE_JWT_SECRET": ""})


def test_env_example_names_every_secret_and_holds_none() -> None:
    lines = (DEPLOY_DIR / ".env.example").read_text(encoding="utf-8").splitlines()
    pairs = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert set(VARIABLES) <= set(pairs)
    assert all(value == "" for value in pairs.values()), "no secret may be committed"


def test_lotse_services_are_worker_api_and_migrate() -> None:
    assert LOTSE_SERVICES == ["api", "migrate", "worker"]


@pytest.mark.parametrize("service", ["worker", "api"])
def test_worker_and_api_get_what_production_needs(service: str) -> None:
    environment = _environment(service)
    missing = {name for name in PRODUCTION_SETTINGS if not environment.get(name)}
    assert not missing, f"{service} lacks {sorted(missing)}"
    settings = _settings(service)  # Settings accepts every value
    assert settings.is_production
    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == VARIABLES["LOTSE_JWT_SECRET"]


def test_migrations_get_the_production_database() -> None:
    settings = _settings("migrate")
    assert settings.is_production
    assert settings.database_url == _settings("worker").database_url


def test_lotse_services_agree_on_every_shared_setting() -> None:
    environments = [_environment(service) for service in LOTSE_SERVICES]
    names = {name for env in environments for name in env if name.startswith("LOTSE_")}
    for name in names:
        values = {env[name] for env in environments if name in env}
        assert len(values) == 1, f"{name} differs between Lotse services: {values}"


def test_database_url_is_the_compose_postgresql() -> None:
    url = make_url(str(_settings("worker").database_url))
    (database,) = _services_running("postgres")
    postgres = compose.service_environment(SERVICES[database])
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == (database, 5432)
    assert url.database == postgres["POSTGRES_DB"]
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"] == VARIABLES["POSTGRES_PASSWORD"]
    temporal = compose.service_environment(SERVICES["temporal"])
    assert temporal["POSTGRES_SEEDS"] == database
    assert temporal["POSTGRES_USER"] == url.username
    assert temporal["POSTGRES_PWD"] == url.password


def test_temporal_address_is_the_compose_temporal_server() -> None:
    settings = _settings("worker")
    host, port = settings.temporal_address.rsplit(":", 1)
    assert _services_running("temporalio/server") == [host]
    assert port == "7233"
    init = compose.service_environment(SERVICES["temporal-init"])
    assert init["TEMPORAL_ADDRESS"] == settings.temporal_address
    assert init["TEMPORAL_NAMESPACE"] == settings.temporal_namespace


def test_api_listens_on_the_published_and_checked_port() -> None:
    settings = _settings("api")
    assert settings.api_host == "0.0.0.0"
    assert settings.api_port in compose.published_container_ports(SERVICES["api"])
    assert settings.api_port in IMAGE.expose
    check = SERVICES["api"]["healthcheck"]
    # The image's check: it reads LOTSE_API_PORT through Settings, like the API.
    assert check["test"] == ["CMD", *IMAGE.healthcheck]
    assert not check.get("disable")


def test_workers_scale_out_and_outlive_their_shutdown_grace() -> None:
    worker = SERVICES["worker"]
    assert worker["deploy"]["replicas"] >= 2
    assert "--concurrency" in worker["command"]
    grace = _settings("worker").worker_shutdown_grace
    assert _duration(worker["stop_grace_period"]) > grace
    assert worker["healthcheck"] == {"disable": True}, "the image's check is the API's"


@pytest.mark.parametrize("service", ["worker", "api"])
def test_worker_and_api_start_after_init_and_migrations(service: str) -> None:
    depends = SERVICES[service]["depends_on"]
    assert depends["temporal-init"]["condition"] == "service_completed_successfully"
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_every_dependency_exists_and_can_become_what_is_awaited() -> None:
    assert SERVICES["migrate"]["depends_on"]["postgresql"]["condition"] == "service_healthy"
    assert SERVICES["temporal"]["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )
    for name, service in SERVICES.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in SERVICES, f"{name} depends on unknown {target}"
            if rule["condition"] == "service_healthy":
                check = SERVICES[target].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), f"{target} has no check"


def test_temporal_server_and_admin_tools_are_one_version() -> None:
    tags = {split_image(s["image"])[1] for s in SERVICES.values() if "temporalio/" in s["image"]}
    assert len(tags) == 1, f"server and admin tools (schema) must match: {tags}"


def test_mounted_files_exist_and_the_scripts_run_from_their_mounts() -> None:
    for name, service in SERVICES.items():
        mounts = {}
        for volume in service.get("volumes") or []:
            source, target = str(volume).split(":")[:2]
            if source.startswith("."):
                assert (DEPLOY_DIR / source).is_file(), f"{name}: {source} missing"
                mounts[target] = source
        for argument in service.get("entrypoint") or []:
            if argument.startswith("/scripts/"):
                assert argument in mounts, f"{name} runs {argument}, which is not mounted"
    init_script = SERVICES["temporal-init"]["entrypoint"][-1]
    assert init_script.endswith("/register-search-attributes.sh")
    dynamic_config = compose.service_environment(SERVICES["temporal"])["DYNAMIC_CONFIG_FILE_PATH"]
    assert any(str(v).split(":")[1] == dynamic_config for v in SERVICES["temporal"]["volumes"])


def test_only_the_api_is_published_and_no_temporal_ui_runs() -> None:
    # Temporal's frontend has no authentication here: whoever reaches it reads every case and
    # sends updates past the API. So neither it nor PostgreSQL is published, not even on the
    # loopback, and the UI (no login) is not run at all.
    published = sorted(name for name, service in SERVICES.items() if service.get("ports"))
    assert published == ["api"]
    assert not [name for name, s in SERVICES.items() if s["image"].startswith("temporalio/ui")]
