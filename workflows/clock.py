"""The workflows' clock: `workflow.now()`, or that instant moved back by `Clocks.shift`.

A simulation plays the model project of 2011 (simulate/), but Temporal's time-skipping server
starts at the machine's own time and can only move forward. With a shift in the workflow input
the workflows live in the simulated years: every instant they record, every deadline they
compute and every timer they wait for is in that time, and the server's timers still fire after
the same durations. Without one (every real case), this is `workflow.now()` itself. Decided by
the run's input, so a replay decides the same way.
"""

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.clocks import Clocks


def now(clocks: Clocks) -> datetime:
    """The current instant of a workflow running on `clocks`."""
    if clocks.shift is None:
        return workflow.now()
    return workflow.now() - clocks.shift
