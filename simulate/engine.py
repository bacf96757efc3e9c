"""What the simulation's driver asks of an engine, whichever plays the workflows.

Two engines implement it: `simulate/temporal_engine.py` drives the real `AgreementWorkflow` and
`ReferralWorkflow` on Temporal's time-skipping server through the API's gateway
(api/gateway.py), and `simulate/core_engine.py` plays the same stage functions of `domain/` in
a discrete-event loop without Temporal. The driver names each command by the workflow's method
(`AgreementWorkflow.sign`), as both front doors do, and gets the same answers from both: the
action's result, or `Refused` with the status and German reason the API would give.

`settled_state` is the case once everything its last step set off has happened: the referrals
it dispatched started, a declined one handed on, and the read model up to date (routing reads
the partners' open referrals from it, so the next case must see this one's).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from domain.actor import Actor
from domain.case import ActionResult, AgreementInput, CaseState
from domain.referral import ReferralState

# A method of AgreementWorkflow or ReferralWorkflow, used as the command's name.
Command = Callable[..., Any]


class Refused(Exception):
    """The workflow refused the command (404, 409 or 422, as the API would answer)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class Engine(Protocol):
    async def now(self) -> datetime:
        """The engine's current instant (UTC)."""
        ...

    async def advance_to(self, instant: datetime) -> None:
        """Let time pass until `instant`, firing every clock due before it."""
        ...

    async def open_case(self, input: AgreementInput) -> None: ...

    async def update_case(
        self, case_id: str, command: Command, arg: object, actor: Actor
    ) -> ActionResult: ...

    async def update_referral(
        self, referral_id: str, command: Command, arg: object, actor: Actor
    ) -> ReferralState: ...

    async def settled_state(self, case_id: str) -> CaseState: ...

    async def finish(self) -> None:
        """The run is over: the read model gets everything that happened."""
        ...
