"""The page's memory of evaluation reports (api/report_cache.py): one computation for a look
at the figures, fresh again after its minute, bounded in size."""

from api.report_cache import ReportCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_fresh_report_is_taken_and_an_old_one_computed_again() -> None:
    clock = Clock()
    cache: ReportCache[int] = ReportCache(ttl=60, size=4, clock=clock)
    computed: list[str] = []

    def compute(key: str) -> int:
        computed.append(key)
        return len(computed)

    assert cache.put("a", 7) == 7
    assert cache.get_or_compute("a", lambda: compute("a")) == 7  # the page's, still fresh
    clock.now += 59
    assert cache.get_or_compute("a", lambda: compute("a")) == 7
    clock.now += 2
    assert cache.get_or_compute("a", lambda: compute("a")) == 1  # a minute old: again
    assert cache.get_or_compute("b", lambda: compute("b")) == 2  # another request: its own
    assert computed == ["a", "b"]


def test_the_oldest_reports_go_beyond_the_size() -> None:
    cache: ReportCache[str] = ReportCache(ttl=60, size=2, clock=Clock())
    for key in ("a", "b", "c"):
        cache.put(key, key.upper())
    assert cache.get_or_compute("a", lambda: "again") == "again"
    assert cache.get_or_compute("c", lambda: "again") == "C"
