"""Prometheus metrics of the API: requests and their latencies per route, cases per stage, and
projection failures waiting for an administrator.

Each app has a registry of its own (tests and the benchmark build many apps in one process; the
global registry would refuse the second). Requests are labelled with the route's path template
(`/cases/{case_id}`), never the concrete path: one series per endpoint, not per case. Cases per
stage are counted from the read model when Prometheus scrapes (`store.reads.operations`), so
the figure is as fresh as the projection and costs nothing between scrapes.
"""

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store.reads.operations import cases_per_stage, open_projection_failures

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"


class ApiMetrics:
    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lotse_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lotse_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route template.",
            ["method", "route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.registry.register(_CasesPerStage(engine))
        self.registry.register(_ProjectionFailures(engine))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _CasesPerStage(Collector):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "lotse_cases", "Cases in the read model by stage.", labels=["stage"]
        )
        for stage, count in cases_per_stage(self._engine):
            family.add_metric([stage], count)
        yield family

    def describe(self) -> Iterator[Metric]:
        # Describing must not query the database (it runs at registration).
        return iter(())


class _ProjectionFailures(Collector):
    """Batches of case events the read model could not take and nobody has looked at yet
    (store/archive.py records each as an administrators' task): should stay 0."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        count = open_projection_failures(self._engine)
        yield GaugeMetricFamily(
            "lotse_projection_failures",
            "Open administrators' tasks for case events the read model could not take.",
            value=count,
        )

    def describe(self) -> Iterator[Metric]:
        return iter(())


class MetricsMiddleware:
    """Pure ASGI (no per-request task or body buffering, unlike BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            # FastAPI puts the matched route into the scope while routing.
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope.get("method", "")
            self.metrics.requests.labels(method, template, str(status_code)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
