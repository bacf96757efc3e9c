"""API read benchmark: p50/p95 of the counsellor's case list and the supervisor's overdue
reviews through HTTP against uvicorn, with 100,000 case summaries in the read model, beside two
baselines measured in the same run on the same rows:

- floor: a bare FastAPI route in the same app and uvicorn process (same middleware) that runs
  the same SQL and returns the same rows, without login, scope check, audit or response model;
- sql: the same SQL alone, in this process, a fresh session per run.

    python -m bench.api [--cases 100000] [--requests 300] [--centres 87] [--postgres URL]

The cases are spread like the model project's (18 municipalities, 87 centres): the demo
counsellor's centre then holds about 1,150 cases (23 pages of 50), the demo supervisor's
municipality about 3,450 with 5 % overdue. PostgreSQL runs too when `--postgres` or
LOTSE_TEST_POSTGRES_URL names one (in a schema of its own, dropped afterwards). Targets: p95 <=
15 ms and <= 2.5x the floor's p95. Prints a table, then one JSON line
`{"bench": "api", "<database>": {"<query>": {"p50_ms", "p95_ms", "floor_p95_ms", "sql_p95_ms",
"ratio_to_floor"}}}`.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr
from sqlalchemy import Engine, insert
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

from api.main import create_app
from app.settings import Settings
from domain.enums import CentreKind
from store.db import engine_from_url
from store.models import Centre, Municipality
from store.projections import CaseSummary
from store.reads.cases import centre_cases
from store.reads.supervision import overdue_reviews as overdue_reviews_query
from store.seed import DEMO_PASSWORD, MUNICIPALITY_ID, seed_demo
from store.testing import postgres_store, sqlite_store

PAGE_SIZE = 50
WARMUP = 20
MUNICIPALITIES = 18
SECRET = "bench-secret-" + "b" * 40
COUNSELLOR, CENTRE = "berater1", "mbe-mitte"
SUPERVISOR = "koordination"
STAGES = ("intake", "assessment", "drafting", "awaiting_signature", "active", "active", "closed")
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _centres(count: int) -> list[tuple[str, str]]:
    """(centre, municipality) pairs: the demo's three in Musterstadt, the rest spread over
    the other municipalities."""
    demo = [("mbe-mitte", MUNICIPALITY_ID), ("mbe-nord", MUNICIPALITY_ID)]
    demo.append(("jmd-musterstadt", MUNICIPALITY_ID))
    others = [
        (f"mbe-{n:03d}", f"gemeinde-{n % (MUNICIPALITIES - 1):02d}") for n in range(count - 3)
    ]
    return demo + others


def fill(engine: Engine, cases: int, centres: int, seed: int = 7) -> dict[str, int]:
    """The demo directory plus the bench's centres, and `cases` summaries round-robin over
    the centres; returns how many the demo counsellor and supervisor see."""
    seed_demo(engine, environment="development")
    places = _centres(centres)
    with Session(engine) as session:
        for n in range(MUNICIPALITIES - 1):
            session.add(Municipality(id=f"gemeinde-{n:02d}", name=f"Gemeinde {n}", land="NW"))
        session.flush()
        for centre_id, municipality_id in places[3:]:
            session.add(
                Centre(
                    id=centre_id,
                    name=centre_id,
                    kind=CentreKind.MBE,
                    municipality_id=municipality_id,
                )
            )
        session.commit()
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    in_centre = in_municipality = 0
    with engine.begin() as connection:
        for n in range(cases):
            centre_id, municipality_id = places[n % len(places)]
            opened = T0 + timedelta(minutes=n)
            due = opened + timedelta(days=90 + rng.randint(0, 400))
            rows.append(
                {
                    "case_id": f"case-00000000-0000-4000-8000-{n:012d}",
                    "municipality_id": municipality_id,
                    "centre_id": centre_id,
                    "counsellor_id": f"{centre_id}-berater-{n % 4}",
                    "stage": rng.choice(STAGES),
                    "next_review_due": due,
                    "review_overdue": rng.random() < 0.05,
                    "open_task_count": rng.randint(0, 3),
                    "client_display_name": f"Klient {n} M.",
                    "opened_at": opened,
                    "updated_at": opened + timedelta(minutes=rng.randint(0, 100_000)),
                    "last_applied_seq": rng.randint(1, 60),
                }
            )
            in_centre += centre_id == CENTRE
            in_municipality += municipality_id == MUNICIPALITY_ID
            if len(rows) == 5_000:
                connection.execute(insert(CaseSummary), rows)
                rows = []
        if rows:
            connection.execute(insert(CaseSummary), rows)
    return {"centre_cases": in_centre, "municipality_cases": in_municipality}


def _rows(engine: Engine, query: SelectOfScalar[CaseSummary], page: int) -> list[dict[str, Any]]:
    with Session(engine) as session:
        found = session.exec(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
        return [row.model_dump(mode="json") for row in found[:PAGE_SIZE]]


def _serve(url: str, port: int, data_dir: str) -> None:
    """The server process: the real app, plus the floor routes, on uvicorn."""
    engine = engine_from_url(url)
    settings = Settings(
        data_dir=Path(data_dir),
        database_url=url,
        temporal_address="127.0.0.1:1",  # these reads never ask Temporal
        jwt_secret=SecretStr(SECRET),
        log_level="WARNING",
    )
    app = create_app(settings, engine=engine)

    def floor_cases(page: int = 1) -> list[dict[str, Any]]:
        return _rows(engine, centre_cases(CENTRE), page)

    def floor_overdue(page: int = 1) -> list[dict[str, Any]]:
        return _rows(engine, overdue_reviews_query(MUNICIPALITY_ID), page)

    app.add_api_route("/floor/cases", floor_cases)
    app.add_api_route("/floor/overdue-reviews", floor_overdue)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def _server(url: str, data_dir: Path) -> Iterator[str]:
    port = _free_port()
    # Not a daemon: the app starts the rules' evaluator processes when it starts (api.main),
    # and a daemonic process may have no children. The `finally` below ends it.
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(url, port, str(data_dir))
    )
    process.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or not process.is_alive():
                raise RuntimeError("the API server did not come up")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.join(10)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _get(http: httpx.Client, path: str, token: str | None, expected: int) -> Callable[[], object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call() -> object:
        response = http.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
        body = response.json()
        rows = body["items"] if isinstance(body, dict) else body
        if len(rows) != expected:
            raise RuntimeError(f"{path}: {len(rows)} rows, expected {expected}")
        return body

    return call


@dataclass(frozen=True)
class Query:
    """One measured figure: the API path, its floor twin, the SQL both run, and the rows."""

    api_path: str
    floor_path: str
    sql: SelectOfScalar[CaseSummary]
    page: int
    user: str
    rows: int


def _queries(centre_cases_count: int, overdue_count: int) -> dict[str, Query]:
    pages = -(-centre_cases_count // PAGE_SIZE)
    queries: dict[str, Query] = {}
    for label, page in (("first", 1), ("middle", (pages + 1) // 2), ("last", pages)):
        queries[f"cases_page_{label}"] = Query(
            api_path=f"/cases?page={page}",
            floor_path=f"/floor/cases?page={page}",
            sql=centre_cases(CENTRE),
            page=page,
            user=COUNSELLOR,
            rows=min(PAGE_SIZE, centre_cases_count - (page - 1) * PAGE_SIZE),
        )
    queries["overdue_reviews"] = Query(
        api_path="/supervision/overdue-reviews?page=1",
        floor_path="/floor/overdue-reviews?page=1",
        sql=overdue_reviews_query(MUNICIPALITY_ID),
        page=1,
        user=SUPERVISOR,
        rows=min(PAGE_SIZE, overdue_count),
    )
    return queries


def _measure(
    http: httpx.Client, engine: Engine, query: Query, token: str, requests: int
) -> dict[str, float]:
    """API, floor and SQL in turn, request by request: a hiccup of the machine (a checkpoint,
    a collection, the other process) then hits all three alike instead of one series."""
    contenders: dict[str, Callable[[], object]] = {
        "api": _get(http, query.api_path, token, query.rows),
        "floor": _get(http, query.floor_path, None, query.rows),
        "sql": lambda: _rows(engine, query.sql, query.page),
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(WARMUP + requests):
        for name, action in contenders.items():
            started = time.perf_counter()
            action()
            if round_ >= WARMUP:
                samples[name].append(time.perf_counter() - started)
    p50, p95 = _percentiles(samples["api"])
    floor_p95 = _percentiles(samples["floor"])[1]
    sql_p95 = _percentiles(samples["sql"])[1]
    return {
        "p50_ms": round(p50, 2),
        "p95_ms": round(p95, 2),
        "floor_p95_ms": round(floor_p95, 2),
        "sql_p95_ms": round(sql_p95, 2),
        "ratio_to_floor": round(p95 / floor_p95, 2),
    }


def run_database(name: str, engine: Engine, url: str, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    counts = fill(engine, args.cases, args.centres)
    print(
        f"{name}: {args.cases} case summaries in {time.perf_counter() - started:.1f} s", flush=True
    )
    with Session(engine) as session:
        overdue = len(session.exec(overdue_reviews_query(MUNICIPALITY_ID)).all())
    figures: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory() as data_dir,
        _server(url, Path(data_dir)) as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        tokens = {
            user: http.post(
                "/auth/token", data={"username": user, "password": DEMO_PASSWORD}
            ).json()["access_token"]
            for user in (COUNSELLOR, SUPERVISOR)
        }
        for label, query in _queries(counts["centre_cases"], overdue).items():
            figure = figures[label] = _measure(
                http, engine, query, tokens[query.user], args.requests
            )
            print(
                f"  {label:18} p50 {figure['p50_ms']:6.2f}  p95 {figure['p95_ms']:6.2f}  "
                f"floor p95 {figure['floor_p95_ms']:6.2f}  sql p95 {figure['sql_p95_ms']:6.2f} (ms)"
                f"  ratio {figure['ratio_to_floor']:4.2f}",
                flush=True,
            )
    figures["cases_in_scope"] = counts["centre_cases"]
    figures["overdue_in_scope"] = overdue
    return figures


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per figure")
    parser.add_argument("--centres", type=int, default=87)
    parser.add_argument("--postgres", default=os.environ.get("LOTSE_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    if args.centres < 4:
        parser.error("--centres: at least 4 (the demo's three and one more)")
    result: dict[str, Any] = {"bench": "api", "cases": args.cases, "page_size": PAGE_SIZE}
    with tempfile.TemporaryDirectory() as data_dir, sqlite_store(Path(data_dir)) as engine:
        url = engine.url.render_as_string(hide_password=False)
        result["sqlite"] = run_database("sqlite", engine, url, args)
    if args.postgres:
        with postgres_store(args.postgres) as engine:
            url = engine.url.render_as_string(hide_password=False)
            result["postgresql"] = run_database("postgresql", engine, url, args)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
