"""The Temporal worker: one process polls the task queue for case and referral workflows and
for the activities that do their I/O.

`build_worker` wires a worker from a connected client, the settings and an activities object
(its `@activity.defn` methods are registered; the object holds the injected dependencies);
`run_worker` is the process: connect, run, and on SIGTERM/SIGINT stop polling, let running
activities finish within the grace period, then return. Several workers may poll the same
queue; any of them may be killed at any time (Temporal hands its tasks to another).
"""

import asyncio
import contextlib
import inspect
import logging
import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from app.settings import Settings
from app.temporal import connect_client
from rules.pool import start_rules_evaluators
from workflows.actor_header import ActorInterceptor
from workflows.agreement import AgreementWorkflow
from workflows.digest import DIGEST_HOUR, DIGEST_WORKFLOW_ID, DigestWorkflow
from workflows.notice import NoticeWorkflow
from workflows.referral import ReferralWorkflow
from workflows.retention import RetentionWorkflow

if TYPE_CHECKING:
    from activities.notifications import MailSender

log = logging.getLogger(__name__)

# Pure, deterministic modules: shared with the sandbox instead of being re-imported for every
# workflow run (faster, and `holidays` must not re-import inside it). `workflows` too: the
# sandbox would otherwise import and decorate our workflow modules anew for each run (a case
# has three runs and three referral children), which was a third of the worker's cost per case
# over a bare workflow (bench/lifecycle.py), and would pick up a source file edited under a
# running worker. The SDK supports this for modules without global mutable state and without
# non-deterministic calls; tests/workflows/test_determinism.py keeps both true of `workflows` and
# `domain`, and the time-skipping and replay tests run the workflows in the SDK's default,
# stricter sandbox, which still reloads them per run and restricts what they call.
PASSTHROUGH_MODULES = ("domain", "workflows", "pydantic", "holidays", "dateutil")


def workflow_classes() -> list[type]:
    """Every workflow Lotse runs."""
    return [AgreementWorkflow, ReferralWorkflow, NoticeWorkflow, DigestWorkflow, RetentionWorkflow]


def activity_methods(activities: object | None) -> list[Callable[..., Any]]:
    """The bound `@activity.defn` methods of `activities` (an instance holding the activities'
    dependencies), or the callables themselves when given a sequence of them."""
    if activities is None:
        return []
    if isinstance(activities, Sequence):
        return list(activities)
    # The SDK has no public "is this an activity" check; `_Definition.from_callable` is what
    # the Worker itself uses to read the `@activity.defn` marker.
    return [
        method
        for _, method in inspect.getmembers(activities, inspect.ismethod)
        if activity._Definition.from_callable(method) is not None
    ]


def build_worker(client: Client, settings: Settings, activities: object | None = None) -> Worker:
    """A worker for `settings.task_queue` running all workflows and the given activities."""
    concurrency = settings.worker_concurrency
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=workflow_classes(),
        activities=activity_methods(activities),
        max_concurrent_workflow_tasks=concurrency,
        max_concurrent_activities=concurrency,
        graceful_shutdown_timeout=settings.worker_shutdown_grace,
        sticky_queue_schedule_to_start_timeout=settings.worker_sticky_timeout,
        # Each update's actor comes in a header; the workflows check it (domain/actor.py).
        interceptors=[ActorInterceptor()],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        ),
    )


ActivitiesFactory = Callable[[Settings], object | None]


def default_activities(settings: Settings) -> list[Callable[..., Any]]:
    """The activities of `lotse worker`: the case activities on the store of the settings
    (the read model as event sink, the partner directory) and the notification activity (the
    store's notification tables, mail over `LOTSE_SMTP_URL` when set), the store migrated
    first.

    Migrating on start is safe with several workers: PostgreSQL migrations take a lock, and a
    store already at the newest revision is left alone.
    """
    # Imported here: importing the worker module (tests, `lotse dev-server`) should not load
    # SQLAlchemy, the rules engine and the SMTP client.
    from activities.case import CaseActivities
    from activities.digest import DigestActivities
    from activities.notifications import NotificationActivities
    from activities.retention import RetentionActivities
    from api.gateway import Gateway
    from rules.municipal import MunicipalEvaluators
    from store.db import make_engine, upgrade
    from store.digest import SqlDigestCounts
    from store.directory import SqlDirectory
    from store.name_key_rebuild import rebuild_name_keys
    from store.notifications import SqlNoticeLedger
    from store.projector import SqlCaseEventSink
    from store.rule_sets import SqlRuleSets
    from worker.keys_cli import store_keys
    from worker.retention import StoreRetention

    engine = make_engine(settings.database_url, settings.data_dir)
    upgrade(engine)
    rebuild_name_keys(
        engine
    )  # derived data: after a change of the keying (store/name_key_rebuild.py)
    # Each municipality routes by its published rule set (rules/municipal.py).
    rule_sets = MunicipalEvaluators(SqlRuleSets(engine))
    case = CaseActivities(SqlDirectory(engine), SqlCaseEventSink(engine), rule_sets)
    sender = mail_sender(settings)
    if sender is None:
        log.info("Notifications: in the app only, no mail (LOTSE_SMTP_URL unset)")
    notifications = NotificationActivities(SqlNoticeLedger(engine), sender, settings.link_base)
    digest = DigestActivities(SqlDigestCounts(engine))
    # The retention erases as the API does, destroying keys in the store's key table (the
    # worker's own client forgets a cached copy within the cache's minute, and the case's
    # workflows are terminated at once); its gateway connects on first use.
    keys = store_keys(settings, engine)
    retention = RetentionActivities(StoreRetention(settings, engine, keys, Gateway(settings, keys)))
    return [
        *activity_methods(case),
        *activity_methods(notifications),
        *activity_methods(digest),
        *activity_methods(retention),
    ]


def mail_sender(settings: Settings) -> "MailSender | None":
    """The SMTP sender of `LOTSE_SMTP_URL`, or None (notifications in the app only)."""
    if settings.smtp_url is None:
        return None
    from activities.mail import SmtpSender

    return SmtpSender.from_url(settings.smtp_url.get_secret_value(), settings.mail_from or "")


def mail_line(settings: Settings) -> str:
    """What `lotse up` says about mail at start: where it goes (host and port, never the
    credentials), or that notifications are only listed in the app."""
    sender = mail_sender(settings)
    if sender is None:
        return (
            "E-Mail:      aus (LOTSE_SMTP_URL nicht gesetzt): Benachrichtigungen nur in Lotse, "
            "keine E-Mails"
        )
    from activities.mail import SmtpSender

    assert isinstance(sender, SmtpSender)
    config = sender.config
    scheme = "smtps" if config.implicit_tls else "smtp"
    return f"E-Mail:      {scheme}://{config.host}:{config.port} (Absender {settings.mail_from})"


async def ensure_daily_digest(client: Client, settings: Settings) -> None:
    """Start the deployment's one digest workflow, unless it runs already (every worker tries:
    Temporal keeps it to one)."""
    try:
        await client.start_workflow(
            DigestWorkflow.run,
            DIGEST_HOUR.hour,
            id=DIGEST_WORKFLOW_ID,
            task_queue=settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        return
    log.info("Daily digest scheduled (%s)", DIGEST_WORKFLOW_ID)


async def run_worker(
    settings: Settings,
    activities_factory: ActivitiesFactory | None = None,
    *,
    stop: asyncio.Event | None = None,
) -> None:
    """Run one worker until SIGTERM/SIGINT (or `stop` is set), then shut down gracefully.

    `activities_factory` builds the activities object from the settings (store, rules, ...);
    without it the worker runs workflows only.
    """
    # Imported here, as in `default_activities`: the store's modules load SQLAlchemy.
    from worker.keys_cli import store_keys

    client = await connect_client(settings, keys=await asyncio.to_thread(store_keys, settings))
    activities = activities_factory(settings) if activities_factory is not None else None
    if activities is not None:
        # The rules' evaluator processes start now, not with the first assessment (~0.5 s).
        await asyncio.to_thread(start_rules_evaluators)
    worker = build_worker(client, settings, activities)
    if activities is not None:
        await ensure_daily_digest(client, settings)
        # Here, not at the top: it loads the API's erasure (see `default_activities`).
        from worker.retention import ensure_retention_schedule

        await ensure_retention_schedule(client, settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    log.info(
        "Worker polling %s on %s (namespace %s)",
        settings.task_queue,
        settings.temporal_address,
        settings.temporal_namespace,
    )
    try:
        running = asyncio.create_task(worker.run())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            # A fatal worker error (e.g. the server refused us): surface it, do not hang.
            stopping.cancel()
            running.result()
            return
        log.info("Worker stopping: no new tasks, running activities may finish")
        await worker.shutdown()
        await running
        log.info("Worker stopped")
    finally:
        for signum in signals:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
