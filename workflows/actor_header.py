"""The actor travels with every update in a header, as a bearer token travels with an HTTP
request (Temporal's context-propagation pattern, temporalio/samples-python
`context_propagation`).

- `ActorHeaderClient` (client side, the API): adds the `lotse-actor` header to each update the
  API sends while `sending_as(actor)` is in effect.
- `ActorInterceptor` (worker side): reads the header before an update's validator and handler
  run and makes it `current_actor()` for them; without the header (an older API, an
  operator's tool, an update recorded before this existed) there is none.

A header rather than an update argument: the SDK decodes an update's payloads against all its
parameters, so a new optional parameter would break every update recorded without it. The
header is part of the update in the history, so a replay sees the same actor. Workflow code
reads the actor only through `current_actor()`; this module is imported by the workflows
through `imports_passed_through`, so worker and sandbox share its context variable.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import temporalio.client
import temporalio.converter
import temporalio.worker

from domain.actor import Actor

HEADER = "lotse-actor"

_current: ContextVar[Actor | None] = ContextVar("lotse_actor", default=None)
_sending: ContextVar[Actor | None] = ContextVar("lotse_sending_actor", default=None)
_converter = temporalio.converter.default().payload_converter


def current_actor() -> Actor | None:
    """Who sent the update being validated or handled (None: no header)."""
    return _current.get()


@contextmanager
def sending_as(actor: Actor) -> Iterator[None]:
    """Updates started by this task while in effect carry `actor` (client side)."""
    token = _sending.set(actor)
    try:
        yield
    finally:
        _sending.reset(token)


class _Outbound(temporalio.client.OutboundInterceptor):
    async def start_workflow_update(
        self, input: temporalio.client.StartWorkflowUpdateInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        actor = _sending.get()
        if actor is not None:
            encoded = _converter.to_payload(actor.model_dump(mode="json"))
            input.headers = {**input.headers, HEADER: encoded}
        return await super().start_workflow_update(input)


class ActorHeaderClient(temporalio.client.Interceptor):
    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _Outbound(next)


def _actor_of(input: temporalio.worker.HandleUpdateInput) -> Actor | None:
    payload = input.headers.get(HEADER)
    if payload is None:
        return None
    return Actor.model_validate(_converter.from_payload(payload))


class _Inbound(temporalio.worker.WorkflowInboundInterceptor):
    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        token = _current.set(_actor_of(input))
        try:
            super().handle_update_validator(input)
        finally:
            _current.reset(token)

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        token = _current.set(_actor_of(input))
        try:
            return await super().handle_update_handler(input)
        finally:
            _current.reset(token)


class ActorInterceptor(temporalio.worker.Interceptor):
    """Give workers and replayers this, so the workflows see each update's actor."""

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        return _Inbound
