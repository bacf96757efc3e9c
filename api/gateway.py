"""The only place of the API that talks to Temporal: start a case, send updates, run queries,
and turn every way that can fail into an HTTP answer a person understands.

Commands are typed: both front doors name an update or query by its method
(`gateway.update_case(case_id, AgreementWorkflow.complete_intake, intake, ...)`,
`gateway.case_state(case_id)`), never by a string, so "go to definition" leads to the
workflow's handler and a renamed handler fails the type check, not a request. A new update
goes into its workflow (workflows/) and is called here through its method.

- A rejected update (validator or handler `ApplicationError`): `WrongStage`/`WrongStatus` is
  409 with the workflow's message (it names the stage); `Invalid*` is 422 with the field.
- The workflow does not exist: 404 (the scope check already answered for foreign ids, so this
  is a missing one). An update to a finished workflow: 409 (the case is closed).
- The server refuses because 10 updates are already in flight on the workflow
  (RESOURCE_EXHAUSTED): 429 with `Retry-After`.
- Temporal unreachable, no worker answering in time: 503 with what to do.

The client's built-in retries would otherwise hide RESOURCE_EXHAUSTED and an unreachable
server for ten seconds each; the API's own client retries briefly (`API_RETRY`) and lets the
HTTP client decide, with `Retry-After` as the hint.

Update ids: the `Idempotency-Key` header (or a fresh uuid) prefixed with the action (the update
method's name), so a key reused for another action never gets the first action's answer.
Temporal dedupes an id within one run; the workflows remember recent ids across continue-as-new
(DESIGN.md).
"""

import asyncio
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, NoReturn, ParamSpec, TypeVar, overload

from fastapi import HTTPException, status
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RetryConfig, RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from api.errors import invalid
from app.payload_codec import CachedKeyStore
from app.settings import Settings
from app.temporal import connect_client, encrypted
from domain.actor import Actor
from domain.case import ActionResult, AgreementInput, CaseState
from domain.notifications import Notice
from domain.referral import ReferralState
from workflows.actor_header import ActorHeaderClient, sending_as
from workflows.agreement import AgreementWorkflow
from workflows.notice import NOTICE_ID_REUSE, NoticeWorkflow, notices_workflow_id
from workflows.referral import ReferralWorkflow

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
Arg = TypeVar("Arg")

# How long the API's client retries a failing call before the HTTP answer says so.
API_RETRY = RetryConfig(max_elapsed_time_millis=1_000, max_retries=4)
# A query or update that no worker picks up within this time is answered with 503.
CALL_TIMEOUT = timedelta(seconds=15)
HEALTH_TIMEOUT = timedelta(seconds=2)
RETRY_AFTER_SECONDS = 1

# ApplicationError types of the workflows (domain/rejections.py, workflows/referral.py).
CONFLICT_TYPES = frozenset({"WrongStage", "WrongStatus"})
# `Unprocessable`: a handler failed unexpectedly on this input (workflows/guard.py); the case
# is unchanged, and the answer is the same as for bad data.
INVALID_TYPES = frozenset(
    {"Invalid", "InvalidReferralInput", "ValidationError", "ValueError", "Unprocessable"}
)
# The object is not the actor's (any more): domain/actor.py; answered like a missing one.
NOT_YOURS = "NotFound"
# An activity the update waited for did not answer in time: the case is unchanged, try again.
UNAVAILABLE_TYPES = frozenset({"Unavailable"})

UNAVAILABLE = (
    "Der Prozessdienst (Temporal) ist nicht erreichbar; bitte in einigen Sekunden erneut "
    "versuchen. Dauert es an: Betrieb informieren."
)
NO_WORKER = (
    "Der Prozessdienst hat nicht rechtzeitig geantwortet (läuft ein Worker?); bitte erneut "
    "versuchen. Mit demselben Idempotency-Key wird eine Änderung nur einmal ausgeführt."
)
BUSY = (
    "Für diesen Vorgang laufen gerade zu viele Änderungen gleichzeitig; bitte nach kurzer "
    "Wartezeit erneut senden."
)
NOT_FOUND = "Nicht gefunden."


class Gateway:
    """Starts, updates and queries the case and referral workflows of one namespace."""

    def __init__(
        self, settings: Settings, keys: CachedKeyStore, client: Client | None = None
    ) -> None:
        self._settings = settings
        self.keys = keys
        # A client handed in (tests, the simulation) encrypts with these keys as well.
        self._client = with_actor_header(encrypted(client, keys)) if client is not None else None
        self._connecting = asyncio.Lock()

    async def client(self) -> Client:
        """The connected client; connects on first use, so the API starts (and answers 503)
        while Temporal is still down. It sends each update's actor in a header."""
        if self._client is not None:
            return self._client
        async with self._connecting:
            if self._client is None:
                try:
                    self._client = await connect(self._settings, self.keys)
                except RuntimeError as error:
                    # The SDK raises RuntimeError for a server it cannot reach at connect.
                    log.warning(
                        "Temporal unreachable at %s: %s", self._settings.temporal_address, error
                    )
                    _unavailable()
            return self._client

    async def start_case(self, case_id: str, input: AgreementInput) -> bool:
        """Start the case workflow `case_id`; False when it already exists (a retried
        `POST /cases` with the same Idempotency-Key)."""
        client = await self.client()
        with _mapped("case"):
            try:
                await client.start_workflow(
                    AgreementWorkflow.run,
                    input,
                    id=case_id,
                    task_queue=self._settings.task_queue,
                    # A case id is never used twice, not even after the case is closed.
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    rpc_timeout=CALL_TIMEOUT,
                )
            except WorkflowAlreadyStartedError:
                return False
        return True

    async def notify(self, notice: Notice) -> bool:
        """Start the notice's delivery (a `NoticeWorkflow`) and return at once; False when it
        could not be started. The caller's own write has happened and stays: a notice that
        cannot go out now is logged (its key: ids only), never a failed request."""
        try:
            client = await self.client()
            await client.start_workflow(
                NoticeWorkflow.run,
                [notice],
                id=notices_workflow_id([notice]),
                task_queue=self._settings.task_queue,
                id_reuse_policy=NOTICE_ID_REUSE,
                rpc_timeout=CALL_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            return True  # sent before: a retried request
        except (HTTPException, RPCError, RuntimeError, TimeoutError) as error:
            log.warning("Notice %s not started (%s)", notice.event_key, type(error).__name__)
            return False
        return True

    @overload
    async def update_case(
        self,
        case_id: str,
        update: UpdateMethodMultiParam[[AgreementWorkflow], ActionResult],
        *,
        key: str | None,
        actor: Actor,
    ) -> ActionResult: ...

    @overload
    async def update_case(
        self,
        case_id: str,
        update: UpdateMethodMultiParam[[AgreementWorkflow, Arg], ActionResult],
        arg: Arg,
        *,
        key: str | None,
        actor: Actor,
    ) -> ActionResult: ...

    async def update_case(
        self,
        case_id: str,
        update: UpdateMethodMultiParam[..., ActionResult],
        arg: object = None,
        *,
        key: str | None,
        actor: Actor,
    ) -> ActionResult:
        """Run one of the case's updates (an `AgreementWorkflow` method) as `actor`; the
        update id comes from the method and the caller's Idempotency-Key."""
        return await self._update(case_id, update, arg, key=key, actor=actor, object_type="case")

    @overload
    async def update_referral(
        self,
        referral_id: str,
        update: UpdateMethodMultiParam[[ReferralWorkflow], ReferralState],
        *,
        key: str | None,
        actor: Actor,
    ) -> ReferralState: ...

    @overload
    async def update_referral(
        self,
        referral_id: str,
        update: UpdateMethodMultiParam[[ReferralWorkflow, Arg], ReferralState],
        arg: Arg,
        *,
        key: str | None,
        actor: Actor,
    ) -> ReferralState: ...

    async def update_referral(
        self,
        referral_id: str,
        update: UpdateMethodMultiParam[..., ReferralState],
        arg: object = None,
        *,
        key: str | None,
        actor: Actor,
    ) -> ReferralState:
        """Run one of the referral's updates (a `ReferralWorkflow` method) as `actor`."""
        return await self._update(
            referral_id, update, arg, key=key, actor=actor, object_type="referral"
        )

    async def _update(
        self,
        workflow_id: str,
        update: UpdateMethodMultiParam[..., T],
        arg: object,
        *,
        key: str | None,
        actor: Actor,
        object_type: str,
    ) -> T:
        """Run one update to completion and return its result. `actor` travels in a header
        (workflows/actor_header.py): the workflow checks it against the object's current
        owner, which the read model the scope check used may not know yet."""
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id)
        args: list[Any] = [] if arg is None else [arg]
        # The scope check has found the object: NOT_FOUND now means it has finished ...
        with _mapped(object_type, finished_if_missing=True), sending_as(actor):
            try:
                result: T = await handle.execute_update(
                    update,
                    args=args,
                    id=update_id(command_name(update), key),
                    rpc_timeout=CALL_TIMEOUT,
                )
            except RPCError as error:
                # ... unless it has not started yet: a referral reaches the partner's inbox
                # (the read model) from the case's own projection loop, which may be a
                # moment ahead of the case starting the referral's workflow.
                if error.status == RPCStatusCode.NOT_FOUND and not await _exists(
                    client, workflow_id
                ):
                    raise HTTPException(
                        status.HTTP_503_SERVICE_UNAVAILABLE,
                        detail=NOT_STARTED[object_type == "case"],
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                    ) from error
                raise
            return result

    async def case_state(self, case_id: str) -> CaseState:
        """The case as its workflow knows it now (`AgreementWorkflow.state`)."""
        client = await self.client()
        handle = client.get_workflow_handle_for(AgreementWorkflow.run, case_id)
        with _mapped("case"):
            return await handle.query(AgreementWorkflow.state, rpc_timeout=CALL_TIMEOUT)

    async def referral_state(self, referral_id: str) -> ReferralState:
        """The referral as its workflow knows it now (`ReferralWorkflow.state`)."""
        client = await self.client()
        handle = client.get_workflow_handle_for(ReferralWorkflow.run, referral_id)
        with _mapped("referral"):
            return await handle.query(ReferralWorkflow.state, rpc_timeout=CALL_TIMEOUT)

    async def terminate(self, workflow_id: str, reason: str) -> bool:
        """Terminate the workflow if it still runs (erasure); False when it had ended or never
        existed. `reason` enters the history: ids and words of ours only, never personal data."""
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id)
        try:
            await handle.terminate(reason=reason, rpc_timeout=CALL_TIMEOUT)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            with _mapped("case"):
                raise
        return True

    async def reachable(self) -> bool:
        """Whether Temporal's frontend answers (for /healthz); never raises."""
        try:
            client = await self.client()
            return await client.service_client.check_health(timeout=HEALTH_TIMEOUT)
        except (HTTPException, RPCError, RuntimeError) as error:
            log.warning("Temporal health check failed: %s", error)
            return False


async def connect(settings: Settings, keys: CachedKeyStore) -> Client:
    """The API's client: Lotse's namespace and encrypting data converter, short retries (see
    module)."""
    return with_actor_header(await connect_client(settings, keys=keys, retry_config=API_RETRY))


def with_actor_header(client: Client) -> Client:
    """`client` sending each update's actor in a header (workflows/actor_header.py)."""
    config = client.config()
    if any(isinstance(i, ActorHeaderClient) for i in config["interceptors"]):
        return client
    config["interceptors"] = [*config["interceptors"], ActorHeaderClient()]
    return Client(**config)


def command_name(method: object) -> str:
    """The name of a workflow method (`complete_intake`): the prefix of its update ids."""
    name = getattr(method, "__name__", None)
    if not isinstance(name, str):
        raise TypeError(f"{method!r} is not a workflow method")
    return name


def update_id(action: str, idempotency_key: str | None) -> str:
    """The Temporal update id of one API write (see module docstring)."""
    return f"{action}:{idempotency_key or uuid.uuid4()}"


# What an update to an object that exists in the read model but not yet in Temporal answers.
NOT_STARTED = {
    True: "Der Fall wird gerade angelegt; bitte in einigen Sekunden erneut versuchen.",
    False: "Die Vermittlung wird gerade übermittelt; bitte in einigen Sekunden erneut versuchen.",
}


async def _exists(client: Client, workflow_id: str) -> bool:
    """Whether Temporal knows the workflow at all, running or finished (the raw call: the
    description is not decoded, so nothing but the answer's status matters)."""
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    try:
        await client.workflow_service.describe_workflow_execution(request, timeout=CALL_TIMEOUT)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


@contextmanager
def _mapped(object_type: str, *, finished_if_missing: bool = False) -> Iterator[None]:
    try:
        yield
    except WorkflowUpdateFailedError as error:
        _rejected(error.cause)
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        _raise(status.HTTP_503_SERVICE_UNAVAILABLE, NO_WORKER)
    except WorkflowQueryFailedError as error:
        log.warning("Query failed: %s", error.message)
        _raise(status.HTTP_409_CONFLICT, "Der Vorgang kann gerade nicht gelesen werden.")
    except RPCError as error:
        _rpc_error(error, object_type, finished_if_missing)


def _rejected(cause: BaseException) -> NoReturn:
    if isinstance(cause, ApplicationError):
        kind = cause.type or ""
        if kind in CONFLICT_TYPES:
            _raise(status.HTTP_409_CONFLICT, cause.message)
        if kind == NOT_YOURS:
            # The workflow knows better than the read model: no longer the caller's.
            _raise(status.HTTP_404_NOT_FOUND, NOT_FOUND)
        if kind in UNAVAILABLE_TYPES:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                detail=cause.message,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS * 30)},
            )
        if kind in INVALID_TYPES or kind.startswith("Invalid"):
            # The same shape as a request validation error (errors.validation_response).
            raise invalid(_field_of(cause) or "(Eingabe)", cause.message)
        _raise(status.HTTP_409_CONFLICT, cause.message)
    # Not a business rejection (a bug in a handler): the message may not be meant for users.
    log.error("Update failed with %r", cause)
    _raise(status.HTTP_409_CONFLICT, "Die Änderung wurde vom Vorgang abgelehnt.")


def _field_of(error: ApplicationError) -> str | None:
    """The field a rejection names: its first detail when that is a string, else the part of
    the message before the first colon when it looks like a dotted path."""
    if error.details and isinstance(error.details[0], str):
        return error.details[0]
    head, separator, _ = error.message.partition(":")
    if separator and head and " " not in head.strip():
        return head.strip()
    return None


def _rpc_error(error: RPCError, object_type: str, finished_if_missing: bool) -> NoReturn:
    code = error.status
    if code == RPCStatusCode.NOT_FOUND:
        # The dev server says "workflow execution already completed", the test server
        # "update ... not found".
        if finished_if_missing or "already completed" in error.message:
            closed = (
                "Der Fall ist abgeschlossen; Änderungen sind nicht mehr möglich."
                if object_type == "case"
                else "Die Vermittlung ist abgeschlossen; Änderungen sind nicht mehr möglich."
            )
            _raise(status.HTTP_409_CONFLICT, closed)
        _raise(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    if code == RPCStatusCode.RESOURCE_EXHAUSTED:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=BUSY,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if code in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        _raise(status.HTTP_503_SERVICE_UNAVAILABLE, NO_WORKER)
    if code == RPCStatusCode.INVALID_ARGUMENT:
        log.warning("Temporal refused a request: %s", error.message)
        _raise(status.HTTP_400_BAD_REQUEST, "Die Anfrage wurde vom Prozessdienst abgelehnt.")
    log.warning("Temporal call failed (%s): %s", code.name, error.message)
    _unavailable()


def _unavailable() -> NoReturn:
    raise HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        detail=UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS * 5)},
    )


def _raise(status_code: int, detail: str) -> NoReturn:
    raise HTTPException(status_code, detail=detail)
