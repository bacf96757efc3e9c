"""Containment for workflow code: nothing but an `ApplicationError` leaves a handler.

A bare exception raised in an update handler after its validator passed, or in a signal
handler, or in the run method's loop, does not fail the update or the workflow: it fails the
*workflow task*, which Temporal retries with the same history and the same result, over and
over, until the code is fixed. The case is wedged: no update, signal or timer gets through.
(An `OverflowError` from a date the validation let through did exactly that.)

So every call into the stage machine goes through `guarded`: an unexpected exception becomes a
non-retryable `ApplicationError` of type `Unprocessable` (the API answers 422: the input cannot
be processed, the case is unchanged). The stage functions work on a copy of the state, so a
failure midway leaves the workflow's state as it was. The log line names the action, the
workflow and the exception's type, never its message: that may quote the payload, i.e.
personal data.

And an error nothing awaits is not lost either: `ignore_result` looks at the end of a child
whose result the workflow never reads (a referral, a notice delivery).

Deterministic: it only catches and converts; no I/O, no clock.
"""

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.referral_stages import ReferralRejection
    from domain.rejections import Invalid, Rejection

T = TypeVar("T")

UNPROCESSABLE = "Unprocessable"
UNPROCESSABLE_MESSAGE = (
    "Lotse konnte diese Angaben nicht verarbeiten; der Fall ist unverändert. Bitte die "
    "Eingaben prüfen und erneut senden. Tritt der Fehler wieder auf: Betrieb informieren."
)


def unexpected(action: str, error: BaseException) -> ApplicationError:
    """`error` (not an ApplicationError) logged with ids only, as the refusal the caller gets."""
    workflow.logger.error(
        "%s failed unexpectedly (%s); state unchanged", action, type(error).__name__
    )
    return ApplicationError(UNPROCESSABLE_MESSAGE, type=UNPROCESSABLE, non_retryable=True)


def guarded(action: str, call: Callable[[], T]) -> T:
    """`call()`, with any exception but an `ApplicationError` turned into one (see module)."""
    try:
        return call()
    except ApplicationError:
        raise
    except workflow.NondeterminismError:
        # A code bug the SDK must see as one: failing the task is what it is for.
        raise
    except Exception as error:
        raise unexpected(action, error) from None


def rejected(rejection: Rejection | ReferralRejection) -> ApplicationError:
    """A refusal of the stage machines (a case's or a referral's) as the API reads it: the type
    says 404, 409 or 422, an `Invalid`'s first detail names the field."""
    details = [rejection.field] if isinstance(rejection, Invalid) else []
    return ApplicationError(rejection.message, *details, type=rejection.type, non_retryable=True)


def ignore_result(child: "asyncio.Future[Any]") -> None:
    """The case hears of its children by their reports, never by their results. A child that
    ends with an error (cancelled: withdrawn, the case closed) leaves it on a handle nobody
    awaits; looking at it when it comes keeps asyncio from logging it as lost."""
    child.add_done_callback(_seen)


def _seen(child: "asyncio.Future[Any]") -> None:
    if not child.cancelled():
        child.exception()
