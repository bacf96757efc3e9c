"""Settings from the environment, the worker's registrations, and `run_worker` serving a
referral on the dev server until it is told to stop."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from app.settings import Settings
from app.temporal import encrypted
from domain.referral import ReferralStatus
from tests.referral_harness import referral_input
from worker.keys_cli import store_keys
from worker.worker import (
    activity_methods,
    build_worker,
    default_activities,
    mail_line,
    run_worker,
    workflow_classes,
)
from workflows.agreement import AgreementWorkflow
from workflows.digest import DigestWorkflow
from workflows.notice import NoticeWorkflow
from workflows.referral import ReferralWorkflow
from workflows.retention import RETENTION_SCHEDULE_ID, RetentionWorkflow


def test_settings_defaults_run_on_one_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOTSE_ENV", "LOTSE_TEMPORAL_ADDRESS", "LOTSE_TASK_QUEUE", "LOTSE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.temporal_namespace == "default"
    assert settings.task_queue == "lotse"
    assert settings.data_dir == Path(".lotse")
    assert settings.database_url is None
    assert not settings.is_production


def test_settings_come_from_lotse_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOTSE_ENV", "production")
    monkeypatch.setenv("LOTSE_TEMPORAL_ADDRESS", "temporal.example:7233")
    monkeypatch.setenv("LOTSE_DATABASE_URL", "postgresql+psycopg://lotse@db/lotse")
    monkeypatch.setenv("LOTSE_WORKER_CONCURRENCY", "8")
    monkeypatch.setenv("LOTSE_WORKER_SHUTDOWN_GRACE", "PT45S")
    monkeypatch.setenv("LOTSE_TEMPORAL_API_KEY", "tmprl-k3y-value")
    monkeypatch.setenv("LOTSE_MASTER_KEY", "bWFzdGVyLWtleS1vZi10aGlyZHktdHdvLWJ5dGVzISE=")
    settings = Settings()
    assert settings.is_production
    assert settings.temporal_address == "temporal.example:7233"
    assert settings.database_url == "postgresql+psycopg://lotse@db/lotse"
    assert settings.worker_concurrency == 8
    assert settings.worker_shutdown_grace == timedelta(seconds=45)
    assert "k3y-value" not in repr(settings)  # a key never ends up in a log line
    assert "bWFzdGVy" not in repr(settings)


def test_settings_reject_an_unknown_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOTSE_ENV", "staging")
    with pytest.raises(ValueError, match="env"):
        Settings()


class FakeActivities:
    """Activities as a class with injected dependencies, like activities/."""

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    @activity.defn
    async def greet(self, name: str) -> str:
        return f"{self.greeting} {name}"

    async def helper(self) -> None:
        """Not an activity: must not be registered."""


def test_activity_methods_are_the_defined_ones_bound_to_the_instance() -> None:
    methods = activity_methods(FakeActivities("Hallo"))
    assert [m.__name__ for m in methods] == ["greet"]
    assert activity_methods(None) == []


def test_the_worker_registers_the_case_and_notification_activities(tmp_path: Path) -> None:
    names = {method.__name__ for method in default_activities(Settings(data_dir=tmp_path))}
    assert {"route_needs", "emit_case_events", "notify", "erase_expired_cases"} <= names


def test_settings_for_mail_and_what_lotse_up_says_about_it() -> None:
    without = Settings()
    assert without.smtp_url is None and without.link_base == "http://127.0.0.1:8000"
    assert "Benachrichtigungen nur in Lotse" in mail_line(without)
    url = "smtps://lotse%40example.org:pa55w0rd@mail.example.org"
    sending = Settings(smtp_url=url, mail_from="lotse@example.org", public_url="https://l.example/")
    assert sending.link_base == "https://l.example"
    shown = mail_line(sending)
    assert shown.startswith("E-Mail:") and "smtps://mail.example.org:465" in shown
    # The credentials are never shown, logged or quoted in a refusal.
    assert "pa55w0rd" not in shown and "pa55w0rd" not in repr(sending)
    with pytest.raises(ValueError, match="LOTSE_MAIL_FROM") as refused:
        Settings(smtp_url=url)
    assert "pa55w0rd" not in str(refused.value)
    with pytest.raises(ValueError, match="smtp://") as refused:
        Settings(smtp_url="https://user:pa55w0rd@mail.example.org", mail_from="a@b")
    assert "pa55w0rd" not in str(refused.value)


def test_every_workflow_is_registered() -> None:
    assert workflow_classes() == [
        AgreementWorkflow,
        ReferralWorkflow,
        NoticeWorkflow,
        DigestWorkflow,
        RetentionWorkflow,
    ]


async def test_run_worker_serves_until_stopped(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    settings = Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        task_queue=task_queue,
        worker_shutdown_grace=timedelta(seconds=1),
        data_dir=tmp_path,
    )
    # The worker's data keys are those of its data dir: the test's client shares them.
    client = encrypted(dev_env.client, store_keys(settings))
    build_worker(client, settings, FakeActivities("Hallo"))  # wires without error

    stop = asyncio.Event()
    running = asyncio.create_task(
        run_worker(settings, lambda s: FakeActivities("Hallo"), stop=stop)
    )
    referral = referral_input(f"case-{task_queue}", 1, datetime.now(UTC))
    handle = await client.start_workflow(
        ReferralWorkflow.run, referral, id=referral.referral_id, task_queue=task_queue
    )
    state = await handle.execute_update(ReferralWorkflow.acknowledge)
    assert state.status is ReferralStatus.ACKNOWLEDGED

    stop.set()
    await asyncio.wait_for(running, timeout=15)
    await handle.terminate()
    # The worker scheduled the nightly retention on its task queue (worker/retention.py).
    schedule = client.get_schedule_handle(RETENTION_SCHEDULE_ID)
    action = (await schedule.describe()).schedule.action
    await schedule.delete()
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == ("RetentionWorkflow", task_queue)
