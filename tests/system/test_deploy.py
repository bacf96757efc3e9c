"""deploy/ against the code, across every file: LOTSE_* names are settings, `lotse` command lines
are registered commands, Lotse runs from one image with the project's version, third-party
images are pinned, the init step registers exactly the dev server's search attributes.

Compose and Kubernetes specifics: test_deploy_compose.py, test_deploy_k8s.py; the image itself:
test_deploy_image.py. No Docker engine or cluster is needed: the files are parsed.
"""

import shutil
import subprocess
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from app.settings import Settings
from deploy import compose, kubernetes
from deploy.commands import BadArguments, UnknownCommand, check_args
from deploy.dockerfile import DEPLOY_DIR, DOCKERFILE, REPO_ROOT, load_image_config
from deploy.manifests import (
    PRODUCTION_SETTINGS,
    env_names_in,
    image_name,
    registered_search_attributes,
    setting_env_names,
    split_image,
)
from worker.binaries import find_binary
from worker.cli import app
from worker.devserver import SEARCH_ATTRIBUTES

PREFIX = str(Settings.model_config["env_prefix"])
INIT_SCRIPT = DEPLOY_DIR / "temporal" / "register-search-attributes.sh"
# Every file of deploy/ that names settings, including the docs.
DEPLOY_FILES = sorted(
    path for path in DEPLOY_DIR.rglob("*") if path.is_file() and "__pycache__" not in path.parts
)
# `lotse` commands the manifests run that other work is still adding to worker/cli.py. Until
# they are registered their check is skipped (with this reason in pytest's summary); from then
# on they are checked like every other command.
PENDING_COMMANDS = {("api",), ("db", "upgrade")}


def _version() -> str:
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def _lotse_processes() -> list[tuple[str, list[str]]]:
    """(where, argv) of every container that runs the Lotse image, in compose and in k8s."""
    image = load_image_config()
    processes = [
        (f"compose:{name}", compose.compose_argv(service, image))
        for name, service in compose.load_compose()["services"].items()
        if image_name(service.get("image", "")) == "lotse"
    ]
    for obj in kubernetes.load_k8s():
        for container in kubernetes.containers(obj.body):
            if image_name(container["image"]) == "lotse":
                where = f"k8s:{obj.path.name}:{obj.name}/{container['name']}"
                processes.append((where, kubernetes.k8s_argv(container, image)))
    return processes


def _all_images() -> list[tuple[str, str]]:
    images = [
        (f"compose:{name}", str(service["image"]))
        for name, service in compose.load_compose()["services"].items()
    ]
    images += [
        (f"k8s:{obj.name}/{container['name']}", str(container["image"]))
        for obj in kubernetes.load_k8s()
        for container in kubernetes.containers(obj.body)
    ]
    return images


def test_deploy_files_are_found() -> None:
    names = {path.relative_to(DEPLOY_DIR).as_posix() for path in DEPLOY_FILES}
    assert {"compose.yaml", "Dockerfile", "README.md", "k8s/configmap.yaml"} <= names


def test_setting_names_are_the_fields_with_the_env_prefix() -> None:
    names = setting_env_names(Settings)
    assert len(names) == len(Settings.model_fields)
    assert names >= PRODUCTION_SETTINGS


@pytest.mark.parametrize("path", DEPLOY_FILES, ids=lambda p: p.relative_to(DEPLOY_DIR).as_posix())
def test_every_lotse_variable_named_in_deploy_is_a_setting(path: Path) -> None:
    unknown = env_names_in(path.read_text(encoding="utf-8"), PREFIX) - setting_env_names(Settings)
    assert not unknown, f"{path.name} names variables Settings does not read: {sorted(unknown)}"


def test_a_renamed_setting_fails_the_name_check() -> None:
    class Renamed(BaseSettings):  # as if jwt_secret had become jwt_key
        model_config = SettingsConfigDict(env_prefix=PREFIX)
        jwt_key: str = ""

    text = compose.COMPOSE_FILE.read_text(encoding="utf-8")
    assert "LOTSE_JWT_SECRET" in env_names_in(text, PREFIX) - setting_env_names(Renamed)


@pytest.mark.parametrize(
    ("where", "argv"), [pytest.param(w, a, id=w) for w, a in _lotse_processes()]
)
def test_lotse_command_lines_are_registered_commands(where: str, argv: list[str]) -> None:
    assert argv[:1] == ["lotse"], f"{where} runs {argv}, not the lotse command"
    root: Any = typer.main.get_command(app)
    try:
        check_args(root, argv[1:])
    except UnknownCommand as missing:
        if any(pending[: len(missing.path)] == missing.path for pending in PENDING_COMMANDS):
            pytest.skip(f"{where}: `lotse {' '.join(argv[1:])}` not registered yet (pending)")
        raise
    except BadArguments as error:
        pytest.fail(f"{where}: {error}")


def test_the_manifests_run_worker_api_and_migrations() -> None:
    commands = {
        tuple(argv[1:3]) if argv[1] == "db" else (argv[1],) for _, argv in _lotse_processes()
    }
    assert {("worker",), ("api",), ("db", "upgrade")} <= commands


def test_every_lotse_container_runs_the_image_built_from_deploy_dockerfile() -> None:
    services = compose.load_compose()["services"]
    lotse = {name: s for name, s in services.items() if image_name(s.get("image", "")) == "lotse"}
    assert {"worker", "api", "migrate"} <= set(lotse)
    for name, service in lotse.items():
        assert service["image"] == f"lotse:{_version()}", name
        build = service["build"]
        assert (compose.COMPOSE_FILE.parent / build["context"]).resolve() == REPO_ROOT, name
        assert (REPO_ROOT / build["dockerfile"]).resolve() == DOCKERFILE, name
    k8s_images = {image for where, image in _all_images() if where.startswith("k8s:")}
    lotse_images = {image for image in k8s_images if image_name(image) == "lotse"}
    assert len(lotse_images) == 1, f"one Lotse image in k8s, found {lotse_images}"
    assert split_image(lotse_images.pop())[1] == _version()


@pytest.mark.parametrize(("where", "image"), [pytest.param(w, i, id=w) for w, i in _all_images()])
def test_images_are_pinned_to_a_version(where: str, image: str) -> None:
    _, tag = split_image(image)
    assert tag is not None and tag != "latest", f"{where}: {image} is not pinned"
    assert tag[0].isdigit(), f"{where}: {image} should name a version"


def test_init_scripts_register_exactly_the_dev_server_search_attributes() -> None:
    registered = registered_search_attributes(INIT_SCRIPT.read_text(encoding="utf-8"))
    assert sorted(registered) == sorted(SEARCH_ATTRIBUTES)
    assert len(registered) == len(set(registered))


def test_k8s_init_job_runs_the_same_script_as_compose() -> None:
    objects = kubernetes.load_k8s()
    (config_map,) = [
        o for o in objects if o.kind == "ConfigMap" and o.name == "lotse-temporal-init"
    ]
    assert config_map.body["data"]["register-search-attributes.sh"] == INIT_SCRIPT.read_text()
    (job,) = [o for o in objects if o.kind == "Job" and o.name == "lotse-temporal-init"]
    pod = kubernetes.pod_spec(job.body) or {}
    (container,) = pod["containers"]
    volume = {v["name"]: v for v in pod["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if "configMap" in volume[m["name"]]]
    assert volume[mount["name"]]["configMap"]["name"] == config_map.name
    assert container["command"][-1] == f"{mount['mountPath']}/register-search-attributes.sh"


async def test_init_script_registers_the_search_attributes_on_a_server(
    dev_env: WorkflowEnvironment,
) -> None:
    temporal, sh = find_binary("temporal"), shutil.which("sh")
    assert temporal is not None and sh is not None
    namespace = f"deploy-init-{uuid.uuid4().hex[:8]}"
    target = dev_env.client.service_client.config.target_host
    env = {"PATH": f"{Path(temporal).parent}:/usr/bin:/bin"}
    env |= {"TEMPORAL_ADDRESS": target, "TEMPORAL_NAMESPACE": namespace}
    for _ in range(2):  # the second run finds everything in place and must succeed too
        run = subprocess.run(
            [sh, str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, run.stdout + run.stderr
    answer = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    found = {
        f"{name}={IndexedValueType.Name(kind).removeprefix('INDEXED_VALUE_TYPE_').title()}"
        for name, kind in answer.custom_attributes.items()
    }
    assert found == set(SEARCH_ATTRIBUTES)
