"""Why an evaluation produced no result, as types callers can answer differently.

Kept apart from compiler.py and pool.py so that a caller (API, worker, CLI) can catch them
without importing durable-rules: the engine itself only ever loads in the evaluator processes
(`serve` in pool.py) and, explicitly, in the benchmark.

- `RoutingEngineError`: durable-rules refused a batch (a bug or a limit of the engine, never a
  silent drop). The evaluating process retires after it, see pool.py.
- `RulesUnavailable`: the evaluating process gave no answer (it died, hung, or all processes
  were busy until the deadline). Nothing about the input is known to be wrong: retry.
"""


class RoutingEngineError(RuntimeError):
    """durable-rules refused a batch; the evaluation failed (never a silent drop)."""


class RulesUnavailable(RuntimeError):
    """No evaluation result for reasons of the evaluating process; retrying may succeed.
    The message names process ids and signals only, never the profile being evaluated."""


class EvaluatorCrashed(RulesUnavailable):
    """The evaluating process died during the evaluation (e.g. SIGSEGV in the C engine)."""


class EvaluatorTimeout(RulesUnavailable):
    """The evaluating process did not answer in time and was killed, or none became free."""
