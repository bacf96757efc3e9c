"""A short-lived memory of evaluation reports, so that the page „Auswertung" and the four
chart images it embeds (five requests for one look at the figures) compute the report once.

Only aggregates are kept (`api.evaluation.EvaluationReport`: counts of places and kinds, no
case, no person), for `TTL_SECONDS`, at most `SIZE` of them, keyed by what was asked (the
resolved request with its municipalities, and the minimum group). The page computes afresh
and leaves its report here; the charts and the page's CSV take it while it is fresh. A figure
may so lag a minute behind the read model, which an evaluation can bear. The JSON and CSV
routes of the API always compute.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

TTL_SECONDS = 60.0
SIZE = 64


class ReportCache(Generic[V]):
    """Values by key for `ttl` seconds, the oldest dropped beyond `size`. Thread-safe: page
    routes run in FastAPI's thread pool."""

    def __init__(
        self,
        ttl: float = TTL_SECONDS,
        size: int = SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl, self._size, self._clock = ttl, size, clock
        self._lock = threading.Lock()
        self._values: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    def put(self, key: Hashable, value: V) -> V:
        with self._lock:
            self._values[key] = (self._clock(), value)
            self._values.move_to_end(key)
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The fresh value of `key`, or `compute()`'s, kept. Computed outside the lock: two
        requests at once may both compute, which costs time, never a wrong figure."""
        with self._lock:
            found = self._values.get(key)
            if found is not None and self._clock() - found[0] < self._ttl:
                return found[1]
        return self.put(key, compute())
