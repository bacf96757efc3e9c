"""Routing benchmark: decisions per second through the durable-rules evaluator as the services
use it (in the supervised evaluator processes, rules/pool.py), beside the engine in this
process and the plain-Python baseline on the same inputs, and the RSS growth of this process
and of the evaluator processes (state must not leak).

    python -m bench.rules [--n 100000] [--seed 7] [--municipality musterstadt] [--batch 50]

Paths measured, each over all n profiles:
- in-process: durable-rules in this process (compiler.InProcessMatcher), one evaluation at a
  time (the path before the evaluator processes, for comparison);
- pool, per call: one evaluation per trip to an evaluator process, one caller: what one API
  request or one `route_needs` activity does;
- pool, 2 callers: the same from two threads at once, as concurrent requests use the pool's
  two processes;
- pool, batched: `Evaluator.route_many`, `--batch` evaluations per trip;
- plain Python: rules/reference.py.

A decision is one routed or unrouted need (a credential need counts once per qualification;
the case-level age-jmd suggestion counts when it is made). Targets: >= 10,000 decisions/s on the
pool path (the best of its three ways of calling), RSS growth < 20 MB (this process and the
evaluator processes together, over the pool runs). Prints the figures, then one JSON line.
Also used by the tests to generate profiles (`generate_cases`); it must stay deterministic for
a given seed.
"""

import argparse
import gc
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import psutil  # no stubs installed

from domain.enums import CentreKind, Employment, GermanLevel, NeedKind, ResidenceStatus
from domain.needs import Need, RoutingResult
from domain.profile import IntakeData
from rules import (
    Evaluation,
    Evaluator,
    EvaluatorPool,
    ReferenceEvaluator,
    load_catalog,
)

TODAY = date(2025, 3, 14)
_TITLES = ["Krankenpflege", "Elektrotechnik", "Lehramt", "Medizin", "Informatik", "Buchhaltung"]
_COUNTRIES = ["SY", "UA", "AF", "TR", "IR", "ER", "NG"]


@dataclass(frozen=True)
class Case:
    profile: IntakeData
    needs: list[Need]
    centre_kind: CentreKind


def _birth_date(rng: random.Random, min_years: int, max_years: int) -> date:
    # Days, not years: ages land on and around birthdays, e.g. exactly 27 today.
    return TODAY - timedelta(days=rng.randint(min_years * 365, max_years * 365 + 364))


def generate_case(rng: random.Random) -> Case:
    status = rng.choice(list(ResidenceStatus))
    expires = None
    if status is not ResidenceStatus.SETTLEMENT and rng.random() < 0.6:
        expires = TODAY + timedelta(
            days=rng.randint(0 if status is ResidenceStatus.PERMIT else -30, 400)
        )
    qualifications = [
        {
            "title": rng.choice(_TITLES),
            "country": rng.choice(_COUNTRIES),
            "kind": rng.choice(["vocational", "academic"]),
            "regulated": rng.random() < 0.4,
            "documents_complete": rng.random() < 0.6,
        }
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3]))
    ]
    children = [
        {"birth_date": _birth_date(rng, 0, 9), "has_childcare": rng.random() < 0.4}
        for _ in range(rng.choice([0, 0, 1, 2, 3]))
    ]
    profile = IntakeData.model_validate(
        {
            "birth_date": _birth_date(rng, 16, 65),
            "languages": rng.sample(["ar", "uk", "tr", "fa", "en", "ru"], k=rng.randint(0, 2)),
            "german_level": rng.choice(list(GermanLevel)),
            "literacy_need": rng.random() < 0.1,
            "integration_course_completed": rng.random() < 0.3,
            "residence": {"status": status, "expires_on": expires},
            "receives_citizens_benefit": rng.random() < 0.45,
            "employment": rng.choice(list(Employment)),
            "qualifications": qualifications,
            "children": children,
        }
    )
    kinds = rng.sample(list(NeedKind), k=rng.randint(1, 4))
    needs = [Need(kind=kind, priority=rng.randint(1, 3)) for kind in kinds]
    centre = CentreKind.MBE if rng.random() < 0.7 else CentreKind.JMD
    return Case(profile=profile, needs=needs, centre_kind=centre)


def generate_cases(n: int, seed: int = 7) -> list[Case]:
    rng = random.Random(seed)
    return [generate_case(rng) for _ in range(n)]


def _digest(result: RoutingResult) -> bytes:
    """SHA-256 of one result; a run's digest is the SHA-256 of these in input order."""
    return hashlib.sha256(result.model_dump_json().encode()).digest()


@dataclass(frozen=True)
class Run:
    seconds: float
    decisions: int
    digest: str  # of all results in input order, to compare the paths

    @property
    def rate(self) -> float:
        return self.decisions / self.seconds


class _Digest:
    """Decisions and a digest of results in input order; nothing else is kept, so the RSS
    figures show what the engine and the pool keep, not the results."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.decisions = 0

    def add(self, result: RoutingResult) -> None:
        self.sha.update(_digest(result))
        self.decisions += len(result.routes) + len(result.unrouted)

    def run(self, seconds: float) -> Run:
        return Run(seconds=seconds, decisions=self.decisions, digest=self.sha.hexdigest())


def run(evaluator: Evaluator | ReferenceEvaluator, cases: Sequence[Case]) -> Run:
    """One evaluation per call, one caller; the digest is computed outside the timed calls."""
    digest = _Digest()
    seconds = 0.0
    clock = time.perf_counter
    for case in cases:
        started = clock()
        result = evaluator.route(
            case.profile, case.needs, today=TODAY, centre_kind=case.centre_kind
        )
        seconds += clock() - started
        digest.add(result)
    return digest.run(seconds)


def run_batched(evaluator: Evaluator, cases: Sequence[Case], batch: int) -> Run:
    """`batch` evaluations per call (one trip to an evaluator process), one caller."""
    digest = _Digest()
    seconds = 0.0
    clock = time.perf_counter
    for start in range(0, len(cases), batch):
        evaluations = [
            Evaluation(c.profile, c.needs, TODAY, c.centre_kind)
            for c in cases[start : start + batch]
        ]
        started = clock()
        results = evaluator.route_many(evaluations)
        seconds += clock() - started
        for result in results:
            digest.add(result)
    return digest.run(seconds)


def run_concurrently(evaluator: Evaluator, cases: Sequence[Case], callers: int) -> Run:
    """One evaluation per call, `callers` threads at once (each its share of the cases),
    timed from the first start to the last end. Each caller keeps a small digest per result
    (inside the timed span, so this figure is a little low) to check the results afterwards."""
    digests: list[bytes] = [b""] * len(cases)
    decisions = [0] * callers

    def caller(offset: int) -> None:
        for index in range(offset, len(cases), callers):
            case = cases[index]
            result = evaluator.route(
                case.profile, case.needs, today=TODAY, centre_kind=case.centre_kind
            )
            digests[index] = _digest(result)
            decisions[offset] += len(result.routes) + len(result.unrouted)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    sha = hashlib.sha256()
    for item in digests:
        sha.update(item)
    return Run(seconds=seconds, decisions=sum(decisions), digest=sha.hexdigest())


def _rss_mb(pids: Sequence[int] = ()) -> float:
    """RSS of this process plus the given (evaluator) processes, in MB."""
    total = psutil.Process().memory_info().rss
    total += sum(psutil.Process(pid).memory_info().rss for pid in pids)
    return float(total) / 2**20


def _measured(label: str, work: Callable[[], Run], pids: Callable[[], list[int]]) -> Run:
    gc.collect()
    before = _rss_mb(pids())
    figures = work()
    gc.collect()
    growth = _rss_mb(pids()) - before
    print(
        f"{label:<22}: {figures.decisions} decisions in {figures.seconds:6.2f} s ="
        f" {figures.rate:>8,.0f}/s   RSS {growth:+.1f} MB",
        flush=True,
    )
    return figures


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m bench.rules", description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="profiles (default 100000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--municipality", default=None, help="catalog (default: federal)")
    parser.add_argument("--batch", type=int, default=50, help="evaluations per batched trip")
    args = parser.parse_args(argv)
    from rules import compiler  # the engine in this process, for the in-process path only

    print(f"generating {args.n} profiles (seed {args.seed}) ...", flush=True)
    cases = generate_cases(args.n, args.seed)
    catalog = load_catalog(args.municipality)
    pool = EvaluatorPool(2)
    pool.start()
    pooled = Evaluator(catalog, pool)
    in_process = Evaluator(catalog, compiler.InProcessMatcher())
    baseline = ReferenceEvaluator(catalog)
    # Warm-up: compile in every process, first allocations.
    run(in_process, cases[:1000])
    run_concurrently(pooled, cases[:1000], 2)
    print(f"catalog {catalog.name} version {catalog.version[:12]}, {args.n} profiles")

    rss_start = _rss_mb(pool.pids())
    per_call = _measured("pool, per call", lambda: run(pooled, cases), pool.pids)
    two = _measured("pool, 2 callers", lambda: run_concurrently(pooled, cases, 2), pool.pids)
    batched = _measured(
        f"pool, {args.batch} per call",
        lambda: run_batched(pooled, cases, args.batch),
        pool.pids,
    )
    rss_growth = _rss_mb(pool.pids()) - rss_start
    pool_pids = pool.pids()
    pool.close()
    local = _measured("in-process durable", lambda: run(in_process, cases), lambda: [])
    plain = _measured("plain Python", lambda: run(baseline, cases), lambda: [])

    identical = {per_call.digest, two.digest, batched.digest, local.digest} == {plain.digest}
    best = max(per_call.rate, two.rate, batched.rate)
    print(f"results identical on every path: {identical}")
    print(
        f"RSS growth over the pool runs (this process + evaluators {pool_pids}):"
        f" {rss_growth:+.1f} MB"
    )
    print(
        f"targets: >= 10,000 decisions/s on the pool path: {'ok' if best >= 10_000 else 'MISSED'}"
        f" ({best:,.0f}/s); RSS growth < 20 MB: {'ok' if rss_growth < 20 else 'MISSED'}"
    )
    print(f"rerun: .venv/bin/python -m bench.rules --n {args.n} --batch {args.batch}")
    figures: dict[str, object] = {
        "bench": "rules",
        "decisions_per_s": round(best),
        "pool_per_call_per_s": round(per_call.rate),
        "pool_2_callers_per_s": round(two.rate),
        "pool_batched_per_s": round(batched.rate),
        "in_process_per_s": round(local.rate),
        "baseline_per_s": round(plain.rate),
        "per_call_ms": round(per_call.seconds / args.n * 1000, 3),
        "rss_growth_mb": round(rss_growth, 1),
        "evaluations": args.n,
        "identical": identical,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
