"""Routing benchmark: decisions per second through the durable-rules evaluator, beside the
plain-Python baseline on the same inputs, and the process's RSS growth (state must not leak).

    python -m bench.rules [--n 100000] [--seed 7] [--municipality musterstadt]

A decision is one routed or unrouted need (a credential need counts once per qualification;
the case-level age-jmd suggestion counts when it is made). Targets: >= 10,000 decisions/s on one
core, RSS growth < 20 MB. Prints the figures, then one JSON line. Also used by the tests to
generate profiles (`generate_cases`); it must stay deterministic for a given seed.
"""

import argparse
import gc
import hashlib
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import psutil  # no stubs installed

from domain.enums import CentreKind, Employment, GermanLevel, NeedKind, ResidenceStatus
from domain.needs import Need, RoutingResult
from domain.profile import IntakeData
from rules import Evaluator, ReferenceEvaluator, load_catalog

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
    return result.model_dump_json().encode()


def run(evaluator: Evaluator | ReferenceEvaluator, cases: Sequence[Case]) -> tuple[float, int, str]:
    """Seconds spent routing, decisions made and a digest of all results (to compare
    evaluators); the digest is computed outside the timed calls."""
    digest = hashlib.sha256()
    decisions = 0
    seconds = 0.0
    clock = time.perf_counter
    for case in cases:
        started = clock()
        result = evaluator.route(
            case.profile, case.needs, today=TODAY, centre_kind=case.centre_kind
        )
        seconds += clock() - started
        decisions += len(result.routes) + len(result.unrouted)
        digest.update(_digest(result))
    return seconds, decisions, digest.hexdigest()


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m bench.rules", description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="profiles (default 100000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--municipality", default=None, help="catalog (default: federal)")
    args = parser.parse_args(argv)

    print(f"generating {args.n} profiles (seed {args.seed}) ...", flush=True)
    cases = generate_cases(args.n, args.seed)
    catalog = load_catalog(args.municipality)
    durable = Evaluator(catalog)
    baseline = ReferenceEvaluator(catalog)
    run(durable, cases[:1000])  # warm-up: compile, first allocations
    gc.collect()
    rss_before = _rss_mb()
    seconds, decisions, durable_digest = run(durable, cases)
    gc.collect()
    rss_after = _rss_mb()
    base_seconds, base_decisions, base_digest = run(baseline, cases)

    rate = decisions / seconds
    base_rate = base_decisions / base_seconds
    growth = rss_after - rss_before
    print(f"catalog {catalog.name} version {catalog.version[:12]}, {args.n} profiles")
    print(
        f"durable-rules : {decisions} decisions in {seconds:.2f} s = {rate:,.0f}/s"
        f" ({args.n / seconds:,.0f} evaluations/s)"
    )
    print(
        f"plain Python  : {base_decisions} decisions in {base_seconds:.2f} s = {base_rate:,.0f}/s"
    )
    print(f"results identical: {durable_digest == base_digest}")
    print(f"RSS {rss_before:.1f} MB -> {rss_after:.1f} MB (growth {growth:+.1f} MB)")
    print(
        f"targets: >= 10,000 decisions/s: {'ok' if rate >= 10_000 else 'MISSED'};"
        f" RSS growth < 20 MB: {'ok' if growth < 20 else 'MISSED'}"
    )
    print("rerun: .venv/bin/python -m bench.rules --n 100000")
    figures: dict[str, object] = {
        "bench": "rules",
        "decisions_per_s": round(rate),
        "baseline_per_s": round(base_rate),
        "rss_growth_mb": round(growth, 1),
        "evaluations": args.n,
        "identical": durable_digest == base_digest,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
