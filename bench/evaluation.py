"""Evaluation benchmark: p95 of the evaluation report (`GET /reports/evaluation`, its CSV) over
a model project's 18 months, beside a floor measured in the same run on the same rows.

    python -m bench.evaluation [--scale 1.0] [--backend sqlite|postgresql|both]
                               [--postgres-url URL] [--runs 20] [--warmup 2] [--seed 7]

The data: 1,000,000 cases over 18 municipalities (of very different sizes) and 87 centres,
opened over the last 18 months, with 3,000,000 reviews and 3,000,000 referrals, and the facts
they leave (agreement versions, closures, needs, rule hits, partners' notes, referrals from
partners, the case summaries): `Generator` below. Written straight into the read-model tables
after `store.db.upgrade` made the schema (`--scale 0.01`: 10,000 cases, a run of seconds).
Seeded: the same rows for the same seed and day. Bulk loads, both backends at once (a thread
each) while the next chunk is generated: one transaction of `executemany` on SQLite (journal
off, no sync), COPY on PostgreSQL (then VACUUM ANALYZE, as autovacuum would after such a load);
the loaded tables' indexes (on PostgreSQL their keys too) dropped first and built afterwards.

The rows were written past the projector, so `load` marks every month stale as the projector
would (`mark_everything_stale`). Then every month is counted into the evaluation's monthly
cells (store/evaluation_cells.py: one `refresh`; its seconds are reported as `cells_build`),
and the floor is checked to give every count the
report gives (every count of `EvaluationCounts`, for every scope) before anything is timed.

Measured, each `--runs` times after `--warmup` rounds, interleaved round by round with its
floor so a hiccup of the shared machine hits both:
- one municipality for a year: the largest (22 % of the cases; the worst case) and one of
  median size (3.5 %), the default period (`api.deps.default_period`: the last twelve months,
  this one included), as a supervisor asks;
- all municipalities for 18 months (an evaluator without a municipality list);
- the CSV export of the latter, by the route's own renderer (api/evaluation_csv.py);
- the same report "live": before each run (not timed) the latest LIVE_MONTHS whole months of
  every municipality are marked stale, as a day of projections marks them, so the report
  counts those 54 months again from the facts before it reads the cells.
Each is `api.evaluation.report` (store/reads/evaluation_cells.py: the cells of the whole
months, the facts for the days around them, disclosure control, the response model) on a
fresh session. The floor is the same aggregation over the facts in hand-written SQL
(`floor_statements` below: as few statements as the figures allow) through the raw DBAPI
connection: what the report would cost without its cells. The CSV's floor is the floor's
counts through the same report builder and CSV renderer.

Targets (issue 13): p95 <= 500 ms for one municipality, <= 2 s for all, and <= 2x the floor.
PostgreSQL runs when `--postgres-url` or LOTSE_BENCH_POSTGRES_URL names a database (in a
schema of its own, dropped afterwards); SQLite's file lives in a temporary directory (in
`--data-dir` if given, e.g. the gitignored .bench-data/), deleted afterwards. Progress goes to
stderr; the summary, how to rerun it and one JSON line `{"bench": "evaluation", "scale",
"rows", "load_s", "cells_build": {"<backend>": {"months", "seconds"}}, "<backend>":
{"<figure>": {"p50_ms", "p95_ms", "floor_p95_ms", "ratio_to_floor", "target_ms", "met"}}}` to
stdout.
"""

import argparse
import bisect
import concurrent.futures
import contextlib
import functools
import itertools
import json
import math
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import psycopg
from sqlalchemy import Engine
from sqlmodel import Session

from api.deps import default_period
from api.evaluation import (
    EvaluationReport,
    ReportRequest,
    report,
    report_of_counts,
    scope_of,
)
from api.evaluation_csv import render
from api.evaluation_names import report_names
from domain.case import ClosureReason
from domain.enums import ActorKind, CentreKind, NeedKind
from domain.months import (
    add_months,
    add_months_at,
    german_day,
    start_of_german_day,
    start_of_german_month,
)
from store.evaluation_cells import mark_stale
from store.evaluation_cells_build import mark_everything_stale, refresh
from store.models import Centre, Municipality, PartnerAgency
from store.reads.evaluation import (
    ActorReferrals,
    EvaluationCounts,
    InboundCounts,
    ReportScope,
    ReviewCounts,
    SurveyCounts,
)
from store.reads.evaluation_cells import evaluation_counts
from store.testing import postgres_store, sqlite_store

CASES = 1_000_000  # at --scale 1
MUNICIPALITIES = 18
CENTRES = 87
MONTHS = 18
MIN_GROUP = 5  # LOTSE_REPORT_MIN_GROUP's default
TARGETS_MS = {
    "one_municipality_year": 500.0,
    "median_municipality_year": 500.0,
    "all_municipalities_18_months": 2000.0,
    "csv_all_18_months": 2000.0,
    "all_municipalities_18_months_live": 2000.0,
}
LIVE_MONTHS = 3  # the live figure: each municipality's latest whole months to count again
TARGET_RATIO = 2.0
CHUNK = 10_000  # cases generated and written at a time

# Every 20 cases: (agreement concluded, reviews, referrals). 60 reviews and 60 referrals per
# 20 cases, so 1,000,000 cases give 3,000,000 of each; the first has not reached an agreement.
SHAPES: tuple[tuple[bool, int, int], ...] = tuple(
    zip(
        [False] + [True] * 19,
        [0, 1, 2, 3, 4, 5, 5, 4, 3, 3, 0, 1, 2, 3, 4, 5, 5, 4, 3, 3],
        [0, 2, 3, 3, 4, 4, 5, 4, 3, 3, 2, 2, 3, 3, 4, 4, 4, 3, 2, 2],
        strict=True,
    )
)
DAY = 86_400
HOUR = 3_600
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ACTORS: dict[NeedKind, tuple[ActorKind, ...]] = {
    NeedKind.LANGUAGE: (ActorKind.LANGUAGE_COURSE_PROVIDER,),
    NeedKind.EMPLOYMENT: (ActorKind.JOBCENTER, ActorKind.EMPLOYMENT_AGENCY),
    NeedKind.TRAINING: (ActorKind.EMPLOYMENT_AGENCY,),
    NeedKind.CREDENTIAL: (ActorKind.RECOGNITION_OFFICE, ActorKind.RECOGNITION_COUNSELLING),
    NeedKind.CHILDCARE: (ActorKind.CHILDCARE_OFFICE,),
    NeedKind.RESIDENCE: (ActorKind.FOREIGNERS_AUTHORITY,),
    NeedKind.OTHER: (ActorKind.MIGRATION_COUNSELLING, ActorKind.YOUTH_MIGRATION_SERVICE),
}
MEASURES = {kind: f"measure-{kind.value}" for kind in ActorKind}
ALL_ACTORS = list(ActorKind)
FIRST_NAMES = ("Amina", "Oleksandr", "Fatima", "Ahmad", "Mariia", "Yusuf", "Leyla", "Dawit")
LANGUAGES = ('["ar", "de"]', '["uk", "ru"]', '["fa"]', '["ti", "en"]', '["tr", "de"]', "[]")
PARTNER_VIEWS = ("{}", '{"german_level": "A2"}', '{"employment": "seeking"}')

COLUMNS: dict[str, tuple[str, ...]] = {
    "case_summaries": (
        "case_id", "municipality_id", "centre_id", "counsellor_id", "stage", "next_review_due",
        "review_overdue", "open_task_count", "client_display_name", "opened_at", "updated_at",
        "last_applied_seq",
    ),
    "reviews": (
        "case_id", "seq", "recorded_at", "agreement_helped", "easier_to_keep_at_it", "due_at",
        "next_review_due", "goal_progress", "municipality_id", "centre_id", "goals_open",
        "goals_in_progress", "goals_achieved", "goals_dropped", "days_late", "next_recorded_at",
        "next_here_recorded_at",
    ),
    "referrals": (
        "id", "case_id", "municipality_id", "route_id", "partner_id", "actor_kind", "measure",
        "need_kind", "status", "dispatched_at", "acknowledge_by", "escalate_at", "expires_at",
        "acknowledged_at", "escalated", "priority", "client_first_name", "languages",
        "partner_view", "centre_id", "ended_at", "result", "acknowledge_hours", "updated_at",
        "last_applied_seq",
    ),
    "referral_notes": ("referral_id", "number", "case_id", "partner_id", "at", "note"),
    "agreement_versions": ("case_id", "version", "municipality_id", "centre_id", "activated_at"),
    "case_closures": ("case_id", "municipality_id", "centre_id", "closed_at", "reason"),
    "need_facts": ("case_id", "need_index", "municipality_id", "centre_id", "at", "need_kind"),
    "rule_hits": (
        "case_id", "route_id", "municipality_id", "centre_id", "at", "rule", "need_kind",
        "actor_kind",
    ),
    "inbound_referrals": (
        "id", "partner_id", "partner_kind", "centre_id", "municipality_id", "status",
        "created_at", "decided_at", "decided_by", "case_id", "decline_reason", "given_name",
        "family_name", "phone", "email", "reason",
    ),
}  # fmt: skip

T = TypeVar("T")
Row = tuple[object, ...]
Rows = dict[str, list[Row]]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the directory ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    municipality_id: str
    centre_id: str


@dataclass(frozen=True)
class Directory:
    """18 municipalities of Zipf-like sizes, 87 centres spread by size, partners of every
    kind in each (more in the larger ones); `weights` are the centres' shares of the cases."""

    municipalities: list[tuple[str, float]]
    centres: list[Place]
    weights: list[float]
    partners: dict[tuple[str, ActorKind], list[str]]

    @classmethod
    def build(cls) -> "Directory":
        raw = [1 / (n + 1) ** 0.8 for n in range(MUNICIPALITIES)]
        shares = [weight / sum(raw) for weight in raw]
        municipalities = [(f"kommune-{n + 1:02d}", share) for n, share in enumerate(shares)]
        # Largest remainder: one centre each, the other 69 by size.
        extra = CENTRES - MUNICIPALITIES
        quotas = [share * extra for share in shares]
        counts = [1 + int(quota) for quota in quotas]
        by_remainder = sorted(range(MUNICIPALITIES), key=lambda n: int(quotas[n]) - quotas[n])
        for n in by_remainder[: CENTRES - sum(counts)]:
            counts[n] += 1
        rng = random.Random(1)
        centres: list[Place] = []
        weights: list[float] = []
        partners: dict[tuple[str, ActorKind], list[str]] = {}
        for (municipality_id, share), count in zip(municipalities, counts, strict=True):
            sizes = [rng.uniform(0.5, 1.5) for _ in range(count)]
            for n, size in enumerate(sizes):
                centres.append(Place(municipality_id, f"{municipality_id}-bs-{n + 1:02d}"))
                weights.append(share * size / sum(sizes))
            for kind in ActorKind:
                partners[municipality_id, kind] = [
                    f"{municipality_id}-{kind.value}-{n + 1}"
                    for n in range(max(1, round(share * 30)))
                ]
        return cls(municipalities, centres, weights, partners)

    def write(self, engine: Engine) -> None:
        with Session(engine) as session:
            for municipality_id, _share in self.municipalities:
                name = municipality_id.replace("-", " ").title()
                session.add(Municipality(id=municipality_id, name=name, land="NW"))
            session.flush()
            for n, place in enumerate(self.centres):
                session.add(
                    Centre(
                        id=place.centre_id,
                        name=place.centre_id,
                        kind=CentreKind.JMD if n % 4 == 3 else CentreKind.MBE,
                        municipality_id=place.municipality_id,
                    )
                )
            for (municipality_id, kind), ids in self.partners.items():
                for partner_id in ids:
                    session.add(
                        PartnerAgency(
                            id=partner_id,
                            name=partner_id,
                            kind=kind,
                            municipality_id=municipality_id,
                            measures=[MEASURES[kind]],
                        )
                    )
            session.commit()


# -- the cases -------------------------------------------------------------------------------


def instants() -> Callable[[int], str]:
    """Seconds since the epoch as the text SQLAlchemy stores on SQLite (naive UTC, store/
    types.py); PostgreSQL reads the same text as UTC (the loading session's time zone)."""
    days: dict[int, str] = {}
    clock = [
        f" {h:02d}:{m:02d}:{s:02d}.000000" for h in range(24) for m in range(60) for s in range(60)
    ]

    def at(instant: int) -> str:
        day, second = divmod(instant, DAY)
        text = days.get(day)
        if text is None:
            text = days[day] = (EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
        return text + clock[second]

    return at


class Weighted(Generic[T]):
    """A fixed distribution, drawn by bisection (`random.choices` rebuilds its table per call)."""

    def __init__(self, weights: dict[T, float]) -> None:
        self.items = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))

    def draw(self, rng: random.Random) -> T:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


NEEDS = Weighted(
    {
        NeedKind.LANGUAGE: 30,
        NeedKind.EMPLOYMENT: 25,
        NeedKind.CREDENTIAL: 12,
        NeedKind.TRAINING: 10,
        NeedKind.RESIDENCE: 10,
        NeedKind.CHILDCARE: 8,
        NeedKind.OTHER: 5,
    }
)
NEEDS_ASSESSED = Weighted({1: 20, 2: 35, 3: 30, 4: 15})
RULE_HITS = Weighted({0: 12, 1: 63, 2: 25})
NOTES = Weighted({0: 75, 1: 18, 2: 7})
RESULTS = Weighted({"achieved": 55, "partly": 30, "not_achieved": 15})
CLOSED_AFTER_REVIEWS = Weighted(
    {"goals_achieved": 50, "no_contact": 15, "moved_away": 15, "withdrawn": 10, "transferred": 10}
)
CLOSED_EARLY = Weighted({"no_contact": 45, "withdrawn": 30, "moved_away": 15, "transferred": 10})
EARLY_STAGES = Weighted({"intake": 2, "assessment": 2, "drafting": 2, "awaiting_signature": 1})


class Generator:
    """The cases, in chunks of rows per table. `now` is the end of the data (the bench's start);
    everything happens in the 18 German calendar months up to it.

    A case is opened, assessed (1 to 4 needs, their rule hits), concludes its agreement 1 to 6
    weeks later (but one case in 20 has not yet), and is reviewed every two to three months:
    on time mostly, 14 % more than 14 days late, the survey answered yes by about 59 % and 37 %.
    Its referrals go out at the agreement and at reviews; partners acknowledge most within a
    day or two, decline or let some expire, complete two thirds of the others. A few cases
    move to another centre of their municipality; 40 % of the reviewed cases are closed.
    Open cases' next reviews fall mostly in the coming three months, 8 % are overdue."""

    def __init__(self, directory: Directory, cases: int, seed: int, now: datetime) -> None:
        self.directory = directory
        self.cases = cases
        self.rng = random.Random(seed)
        self.now = int(now.timestamp())
        today = german_day(now)
        first = add_months(date(today.year, today.month, 1), -(MONTHS - 1))
        self.window_start = int(start_of_german_day(first).timestamp())
        self.at = instants()
        self.centres = Weighted(dict(zip(directory.centres, directory.weights, strict=True)))
        self.neighbours = {
            place: [
                other
                for other in directory.centres
                if other.municipality_id == place.municipality_id and other != place
            ]
            for place in directory.centres
        }
        self.rules = {kind: [f"{kind.value}-rule-{n + 1}" for n in range(5)] for kind in NeedKind}
        self.counts: dict[str, int] = dict.fromkeys(COLUMNS, 0)

    def chunks(self) -> Iterator[Rows]:
        for first in range(0, self.cases, CHUNK):
            rows: Rows = {table: [] for table in COLUMNS}
            for n in range(first, min(first + CHUNK, self.cases)):
                self._case(n, rows)
            for table, found in rows.items():
                self.counts[table] += len(found)
            yield rows

    def _uniform(self, low: float, high: float) -> int:
        return int(low + self.rng.random() * (high - low))

    def _case(self, n: int, rows: Rows) -> None:
        rng, at, now = self.rng, self.at, self.now
        agreed, reviews, referrals = SHAPES[n % len(SHAPES)]
        place = self.centres.draw(rng)
        municipality_id = place.municipality_id
        case_id = f"case-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
        closed = rng.random() < (0.40 if reviews else 0.10 if agreed else 0.15)
        stage = "closed" if closed else "active" if agreed else EARLY_STAGES.draw(rng)

        # The timeline in seconds from the opening: assessment, agreement, the reviews (due,
        # recorded), the next review due; then placed so that it ends before now.
        assessed = self._uniform(3 * DAY, 20 * DAY)
        activated = assessed + self._uniform(7 * DAY, 40 * DAY) if agreed else 0
        due = activated + 91 * DAY
        timeline: list[tuple[int, int]] = []
        for _ in range(reviews):
            if rng.random() < 0.14:
                delay = self._uniform(15 * DAY, 75 * DAY)
            else:
                delay = self._uniform(-10 * DAY, 14 * DAY)
            timeline.append((due, due + delay))
            due = due + delay + self._uniform(70 * DAY, 95 * DAY)
        last = timeline[-1][1] if timeline else activated if agreed else assessed
        latest = last  # the last thing that happened
        if closed:
            end = latest = last + self._uniform(DAY, 70 * DAY)
            anchor = now - self._uniform(0, max(DAY, now - self.window_start - end))
        elif agreed:
            end = due  # the next review, not recorded yet
            if rng.random() < 0.92:
                anchor = now + self._uniform(-14 * DAY, 92 * DAY)
            else:
                anchor = now - self._uniform(15 * DAY, 120 * DAY)
            anchor = min(anchor, now - HOUR + end - last)
        else:
            end = latest = last if stage != "intake" else 0
            anchor = now - self._uniform(HOUR, 90 * DAY)
        factor = 1.0
        room = anchor - self.window_start - DAY
        if end > room > 0:
            factor = room / end  # a long case: its reviews came a little faster
        opened = anchor - int(end * factor)
        opened -= max(0, opened + int(latest * factor) - (now - HOUR))  # nothing in the future

        def instant(offset: int) -> int:
            return opened + int(offset * factor)

        reviewed = [(instant(review_due), instant(recorded)) for review_due, recorded in timeline]
        closed_at = instant(end) if closed else None
        # Some cases move to another centre of the municipality between two reviews.
        moved_at, moved_to = now + DAY, place
        if len(reviewed) >= 2 and rng.random() < 0.04 and self.neighbours[place]:
            before = rng.randrange(1, len(reviewed))
            moved_at = reviewed[before - 1][1] + self._uniform(HOUR, DAY)
            moved_to = rng.choice(self.neighbours[place])

        def centre(instant: int) -> str:
            return moved_to.centre_id if instant >= moved_at else place.centre_id

        if closed_at is not None:
            reason = (CLOSED_AFTER_REVIEWS if reviews else CLOSED_EARLY).draw(rng)
            rows["case_closures"].append(
                (case_id, municipality_id, centre(closed_at), at(closed_at), reason)
            )

        # The needs at the assessment and at some reviews, with their rule hits.
        needs: list[tuple[int, NeedKind]] = []
        if stage != "intake":
            needs += [(instant(assessed), NEEDS.draw(rng)) for _ in range(NEEDS_ASSESSED.draw(rng))]
        for _due, recorded in reviewed:
            if rng.random() < 0.12:
                needs.append((recorded, NEEDS.draw(rng)))
        for index, (need_at, kind) in enumerate(needs):
            need_centre, when = centre(need_at), at(need_at)
            rows["need_facts"].append(
                (case_id, index, municipality_id, need_centre, when, kind.value)
            )
            for hit in range(RULE_HITS.draw(rng)):
                rows["rule_hits"].append(
                    (
                        case_id, f"r{index}-{hit}", municipality_id, need_centre, when,
                        rng.choice(self.rules[kind]), kind.value, rng.choice(ACTORS[kind]).value,
                    )
                )  # fmt: skip

        # The agreement: concluded, amended at a few reviews.
        if agreed:
            concluded = instant(activated)
            rows["agreement_versions"].append(
                (case_id, 1, municipality_id, centre(concluded), at(concluded))
            )
            version = 1
            for _due, recorded in reviewed:
                amended = min(recorded + self._uniform(DAY, 14 * DAY), now - HOUR)
                if rng.random() < 0.06 and (closed_at is None or amended < closed_at):
                    version += 1
                    rows["agreement_versions"].append(
                        (case_id, version, municipality_id, centre(amended), at(amended))
                    )

        # The reviews: the survey, the goals' statuses, on time or late.
        goals = rng.randint(2, 5)
        for number, (review_due, recorded) in enumerate(reviewed, start=1):
            achieved = min(goals, int(goals * number / (reviews + 2) + rng.random()))
            dropped = 1 if achieved < goals and rng.random() < 0.1 else 0
            in_progress = min(goals - achieved - dropped, rng.randint(0, 2))
            still_open = goals - achieved - dropped - in_progress
            later = reviewed[number] if number < len(reviewed) else None
            here = next((r for _d, r in reviewed[number:] if centre(r) == centre(recorded)), None)
            next_due = later[0] if later is not None else instant(due)
            rows["reviews"].append(
                (
                    case_id, 5 + 10 * number, at(recorded), self._answer(0.59, 0.29),
                    self._answer(0.37, 0.49), at(review_due), at(next_due),
                    _progress(still_open, in_progress, achieved, dropped), municipality_id,
                    centre(recorded), still_open, in_progress, achieved, dropped,
                    -(-(recorded - review_due) // DAY), at(later[1]) if later else None,
                    at(here) if here is not None else None,
                )
            )  # fmt: skip

        # The referrals: two at the agreement, the others at reviews.
        for number in range(referrals):
            if number < 2 or not reviewed:
                dispatched = instant(activated) + self._uniform(HOUR, 3 * DAY)
            else:
                dispatched = rng.choice(reviewed)[1] + self._uniform(HOUR, 3 * DAY)
            dispatched = min(dispatched, now - HOUR, closed_at or now)
            sender = Place(municipality_id, centre(dispatched))
            self._referral(rows, case_id, sender, number + 1, dispatched, closed_at)

        # Referred by a partner (5 % of the cases); and referrals from partners a centre
        # declined or has not decided on yet.
        if rng.random() < 0.05:
            self._inbound(rows, place, opened - self._uniform(DAY, 10 * DAY), opened, case_id)
        if rng.random() < 0.02:
            created = self._uniform(self.window_start, now - HOUR)
            decided = created + self._uniform(HOUR, 10 * DAY)
            self._inbound(rows, place, created, decided if decided < now else None, None)

        pending = instant(due) if agreed and not closed else None
        last_event = max([opened, closed_at or 0, *(recorded for _due, recorded in reviewed)])
        home = centre(now)
        rows["case_summaries"].append(
            (
                case_id, municipality_id, home, f"{home}-berater-{n % 6}", stage,
                at(pending) if pending is not None else None,
                pending is not None and pending + 14 * DAY < now, rng.randint(0, 3), "Klient M.",
                at(opened), at(last_event), 10 + 10 * reviews + 4 * referrals,
            )
        )  # fmt: skip

    def _answer(self, yes: float, no: float) -> bool | None:
        draw = self.rng.random()
        return True if draw < yes else False if draw < yes + no else None

    def _referral(
        self,
        rows: Rows,
        case_id: str,
        place: Place,
        number: int,
        dispatched: int,
        closed_at: int | None,
    ) -> None:
        rng, at, now = self.rng, self.at, self.now
        stop = min(now, closed_at) if closed_at is not None else now
        kind = NEEDS.draw(rng)
        actor = rng.choice(ACTORS[kind])
        partner_id = rng.choice(self.directory.partners[place.municipality_id, actor])
        acknowledged: int | None = None
        ended: int | None = None
        status, result = "dispatched", None
        if rng.random() < 0.82:
            hours = min(int(rng.lognormvariate(math.log(30), 1.0)), 600)
            acknowledged = dispatched + hours * HOUR + self._uniform(0, HOUR)
            if acknowledged > stop:
                acknowledged = None
            else:
                status = "acknowledged"
                completed = acknowledged + self._uniform(14 * DAY, 200 * DAY)
                if rng.random() < 0.65 and completed <= stop:
                    status, ended, result = "completed", completed, RESULTS.draw(rng)
        else:
            if rng.random() < 0.5:
                status, ended = "declined", dispatched + self._uniform(HOUR, 7 * DAY)
            else:
                status, ended = "expired", dispatched + 28 * DAY
            if ended > stop:
                status, ended = "dispatched", None
        if ended is None and closed_at is not None and closed_at <= now:
            status, ended = "withdrawn", closed_at
        acknowledge_hours = None
        if acknowledged is not None:
            acknowledge_hours = (acknowledged - dispatched) // HOUR
        escalate_at = dispatched + 10 * DAY
        escalated = (acknowledged or stop) > escalate_at and (ended or stop) > escalate_at
        referral_id = f"{case_id}-ref-{number}"
        rows["referrals"].append(
            (
                referral_id, case_id, place.municipality_id, f"{case_id}-route-{number}",
                partner_id, actor.value, MEASURES[actor], kind.value, status, at(dispatched),
                at(dispatched + 5 * DAY), at(escalate_at), at(dispatched + 28 * DAY),
                at(acknowledged) if acknowledged is not None else None, escalated,
                rng.randint(1, 3), rng.choice(FIRST_NAMES), rng.choice(LANGUAGES),
                rng.choice(PARTNER_VIEWS), place.centre_id,
                at(ended) if ended is not None else None, result, acknowledge_hours,
                at(max(dispatched, acknowledged or 0, ended or 0)), rng.randint(1, 6),
            )
        )  # fmt: skip
        if acknowledged is not None:
            for note in range(1, NOTES.draw(rng) + 1):
                written = acknowledged + self._uniform(DAY, 60 * DAY)
                if written < (ended or stop):
                    rows["referral_notes"].append(
                        (referral_id, note, case_id, partner_id, at(written), "Termin vereinbart.")
                    )

    def _inbound(
        self, rows: Rows, place: Place, created: int, decided: int | None, case_id: str | None
    ) -> None:
        rng, at = self.rng, self.at
        actor = rng.choice(ALL_ACTORS)
        partner_id = rng.choice(self.directory.partners[place.municipality_id, actor])
        if decided is None:
            status, decided_by, reason = "open", None, None
        elif case_id is not None:
            status, decided_by, reason = "accepted", "berater", None
        else:
            status, decided_by, reason = "declined", "berater", "Kein freier Termin."
        rows["inbound_referrals"].append(
            (
                f"inbound-{uuid.UUID(int=rng.getrandbits(128), version=4)}", partner_id,
                actor.value, place.centre_id, place.municipality_id, status, at(created),
                at(decided) if decided is not None else None, decided_by, case_id, reason,
                "Vorname", "Nachname", None, None, "Beratung zur Anerkennung.",
            )
        )  # fmt: skip


_PROGRESS: dict[tuple[int, int, int, int], str] = {}


def _progress(still_open: int, in_progress: int, achieved: int, dropped: int) -> str:
    """A review's goal progress as the counsellor recorded it (the JSON column)."""
    key = (still_open, in_progress, achieved, dropped)
    text = _PROGRESS.get(key)
    if text is None:
        statuses = (
            ["open"] * still_open
            + ["in_progress"] * in_progress
            + ["achieved"] * achieved
            + ["dropped"] * dropped
        )
        text = _PROGRESS[key] = json.dumps(
            [{"goal_id": f"g{n + 1}", "status": s, "note": ""} for n, s in enumerate(statuses)]
        )
    return text


# -- loading ---------------------------------------------------------------------------------


class SqliteLoader:
    """One transaction of executemany per table and chunk, journal and sync off, the loaded
    tables' secondary indexes dropped first and built again at the end (sqlite_master's SQL)."""

    def __init__(self, path: Path) -> None:
        # Written from the loading thread (one at a time), opened here.
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "cache_size = -2000000",
            "temp_store = MEMORY",
            "foreign_keys = OFF",
        ):
            self.db.execute(f"PRAGMA {pragma}")
        self.sql = {
            table: f"INSERT INTO {table} ({', '.join(columns)})"
            f" VALUES ({', '.join('?' * len(columns))})"
            for table, columns in COLUMNS.items()
        }
        tables = ", ".join(f"'{table}'" for table in COLUMNS)
        self.indexes: list[tuple[str, str]] = self.db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({tables})"
        ).fetchall()
        for name, _sql in self.indexes:
            self.db.execute(f"DROP INDEX {name}")
        self.db.execute("BEGIN")

    def write(self, rows: Rows) -> None:
        for table, found in rows.items():
            self.db.executemany(self.sql[table], found)

    def finish(self) -> None:
        self.db.execute("COMMIT")
        for name, sql in self.indexes:
            progress(f"  sqlite: index {name}")
            self.db.execute(sql)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.close()


class PostgresLoader:
    """COPY per table and chunk in one transaction; the loaded tables' keys and indexes
    dropped first and made again at the end (a key built once is much cheaper than 15 million
    inserts into it), then VACUUM ANALYZE, as autovacuum would do after such a load."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url.set(drivername="postgresql")
        self.db = psycopg.connect(url.render_as_string(hide_password=False))
        self.db.execute("SET TIME ZONE 'UTC'")
        self.db.execute("SET maintenance_work_mem = '256MB'")
        tables = list(COLUMNS)
        self.keys: list[tuple[str, str, str]] = self.db.execute(
            "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " JOIN pg_class t ON t.oid = c.conrelid"
            " WHERE t.relnamespace = current_schema()::regnamespace AND c.contype IN ('p', 'u')"
            " AND t.relname = ANY(%s)",
            (tables,),
        ).fetchall()
        self.indexes: list[tuple[str, str]] = self.db.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
            " WHERE t.relnamespace = current_schema()::regnamespace AND NOT x.indisunique"
            " AND t.relname = ANY(%s)",
            (tables,),
        ).fetchall()
        for table, name, _definition in self.keys:
            self.db.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _sql in self.indexes:
            self.db.execute(f'DROP INDEX "{name}"')

    def write(self, rows: Rows) -> None:
        with self.db.cursor() as cursor:
            for table, found in rows.items():
                if not found:
                    continue
                with cursor.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
                    for row in found:
                        copy.write_row(row)

    def finish(self) -> None:
        for table, name, definition in self.keys:
            progress(f"  postgresql: key {name}")
            self.db.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for name, sql in self.indexes:
            progress(f"  postgresql: index {name}")
            self.db.execute(sql)
        self.db.commit()
        self.db.autocommit = True
        for table in COLUMNS:
            progress(f"  postgresql: vacuum analyze {table}")
            self.db.execute(f"VACUUM ANALYZE {table}")
        self.db.close()


Loader = SqliteLoader | PostgresLoader


def load(
    engines: dict[str, Engine], directory: Directory, cases: int, seed: int, now: datetime
) -> tuple[dict[str, int], dict[str, float]]:
    """The directory and the cases into every engine's store, generated once: each backend
    writes a chunk in a thread of its own while the next chunk is generated. Returns the rows
    per table and the seconds spent generating and writing (each backend's own)."""
    generator = Generator(directory, cases, seed, now)
    loaders: dict[str, Loader] = {}
    seconds = dict.fromkeys(["generate", *engines], 0.0)
    for name, engine in engines.items():
        directory.write(engine)
        engine.dispose()
        if name == "sqlite":
            loaders[name] = SqliteLoader(Path(str(engine.url.database)))
        else:
            loaders[name] = PostgresLoader(engine)

    def timed(name: str, work: Callable[[], None]) -> None:
        started = time.perf_counter()
        work()
        seconds[name] += time.perf_counter() - started

    with concurrent.futures.ThreadPoolExecutor(len(loaders)) as pool:
        pending: list[concurrent.futures.Future[None]] = []
        done = 0
        chunks = generator.chunks()
        while True:
            started = time.perf_counter()
            rows = next(chunks, None)
            seconds["generate"] += time.perf_counter() - started
            for future in pending:
                future.result()
            if rows is None:
                break
            pending = [
                pool.submit(timed, name, functools.partial(loader.write, rows))
                for name, loader in loaders.items()
            ]
            done += len(rows["case_summaries"])
            if done % (10 * CHUNK) == 0 or done == cases:
                progress(
                    f"  {done:,} of {cases:,} cases generated; seconds so far: "
                    + ", ".join(f"{name} {value:.0f}" for name, value in seconds.items())
                )
        finishing = [pool.submit(timed, name, loader.finish) for name, loader in loaders.items()]
        for future in finishing:
            future.result()
    for engine in engines.values():
        # Written past the projector, which marks the months its writes change: every month
        # is marked, for the evaluation's cells to be counted (`build_cells`, or a report).
        with Session(engine) as session, session.begin():
            mark_everything_stale(session)
    return generator.counts, seconds


# -- the floor -------------------------------------------------------------------------------


def floor_statements(scope: ReportScope, postgres: bool) -> dict[str, tuple[str, dict[str, Any]]]:
    """The report's counts in hand-written SQL, with the DBAPI's placeholders and parameters:
    eight statements where store/reads/evaluation.py runs up to twelve, in the same shapes
    (the same indexes, read in the same order: the least work the figures need), the partners
    who acted in one. The same text runs on both backends; only the placeholders differ. Scopes
    of the bench only: municipalities or all, no single centre."""
    if scope.centre_id is not None:
        raise ValueError("the floor counts no single centre")
    months = len(scope.month_starts)
    params: dict[str, Any] = {"start": scope.start, "end": scope.end, "now": scope.now}
    params |= {f"month{n}": start for n, start in enumerate(scope.month_starts)}
    municipalities = scope.municipalities or ()
    params |= {f"m{n}": municipality for n, municipality in enumerate(municipalities)}
    if not postgres:  # SQLite holds instants as naive UTC text (store/types.py)
        params = {
            key: value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            if isinstance(value, datetime)
            else value
            for key, value in params.items()
        }
    named = scope.municipalities is not None
    names = ", ".join(f":m{n}" for n in range(len(municipalities)))

    def place(prefix: str = "") -> str:
        return f"{prefix}municipality_id IN ({names})" if named else "1 = 1"

    def period(column: str) -> str:
        return f"{column} >= :start AND {column} < :end"

    def month(column: str, low: int = 0, high: int = months - 1) -> str:
        if low == high:
            return str(low)
        middle = (low + high + 1) // 2
        inner = f"{month(column, low, middle - 1)} ELSE {month(column, middle, high)}"
        return f"CASE WHEN {column} < :month{middle} THEN {inner} END"

    def monthly(column: str, select: str, table: str, where: str, group: str = "") -> str:
        """By range of the instant per month where municipalities are named (as the report)."""
        if not named:
            grouped = f"GROUP BY 1, {group}" if group else "GROUP BY 1"
            return (
                f"SELECT {month(column)} AS month, {select} FROM {table}"
                f" WHERE {period(column)} AND {where} {grouped}"
            )
        starts = [":start", *(f":month{n}" for n in range(1, months))]
        ends = [*starts[1:], ":end"]
        grouped = f" GROUP BY {group}" if group else ""
        return " UNION ALL ".join(
            f"SELECT {n} AS month, {select} FROM {table}"
            f" WHERE {column} >= {start} AND {column} < {end} AND {where}{grouped}"
            for n, (start, end) in enumerate(zip(starts, ends, strict=True))
        )

    acted = (
        f"({period('acknowledged_at')}) OR ({period('ended_at')}"
        " AND status IN ('declined', 'completed'))"
    )
    recorded_due = monthly(
        "due_at",
        "COUNT(*) AS due, COALESCE(SUM(CASE WHEN days_late <= 14 THEN 1 ELSE 0 END), 0) AS flagged",
        "reviews",
        place(),
    )
    statements = {
        "agreements": monthly(
            "activated_at",
            "centre_id, COUNT(*)",
            "agreement_versions",
            f"version = 1 AND {place()}",
            "centre_id",
        ),
        "survey": f"""
            SELECT centre_id, agreement_helped, easier_to_keep_at_it, COUNT(*), SUM(goals_open),
                   SUM(goals_in_progress), SUM(goals_achieved), SUM(goals_dropped)
            FROM reviews
            WHERE {period("recorded_at")} AND {place()}
              AND (next_recorded_at IS NULL OR next_recorded_at >= :end)
            GROUP BY municipality_id, centre_id, agreement_helped, easier_to_keep_at_it""",
        "reviews": f"""
            SELECT 0, recorded.* FROM ({recorded_due}) AS recorded
            UNION ALL
            SELECT 1, missing.* FROM (
                SELECT {month("next_review_due")} AS month, COUNT(*) AS due,
                       SUM(CASE WHEN review_overdue THEN 1 ELSE 0 END) AS flagged
                FROM case_summaries
                WHERE {period("next_review_due")}
                  AND (review_overdue OR next_review_due <= :now) AND {place()}
                GROUP BY 1) AS missing""",
        "closures": f"""
            SELECT reason, COUNT(*) FROM case_closures WHERE {period("closed_at")} AND {place()}
            GROUP BY municipality_id, reason""",
        "referrals": f"""
            SELECT actor_kind, acknowledge_hours, COUNT(*), COUNT(acknowledged_at),
                   SUM(CASE WHEN status = 'declined' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN status = 'expired' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN status = 'withdrawn' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN result = 'achieved' THEN 1 ELSE 0 END)
            FROM referrals WHERE {period("dispatched_at")} AND {place()}
            GROUP BY municipality_id, actor_kind, acknowledge_hours""",
        "inbound": f"""
            SELECT partner_kind, status, COUNT(*) FROM inbound_referrals
            WHERE {period("created_at")} AND {place()} GROUP BY 1, 2""",
        # A note is written by its referral's partner: only partners with a referral in scope
        # that did nothing else in the period are looked up among the notes.
        "partners": f"""
            WITH by_partner AS MATERIALIZED (
                SELECT partner_id, MAX(CASE WHEN {acted} THEN 1 ELSE 0 END) AS acted
                FROM referrals WHERE {place()} GROUP BY municipality_id, partner_id),
            referring AS MATERIALIZED (
                SELECT DISTINCT partner_id FROM inbound_referrals
                WHERE {period("created_at")} AND {place()})
            SELECT COUNT(*) FROM (
                SELECT partner_id FROM by_partner WHERE acted = 1
                UNION SELECT partner_id FROM referring
                UNION SELECT DISTINCT n.partner_id FROM referral_notes AS n
                WHERE {period("n.at")}
                  AND n.partner_id IN (SELECT partner_id FROM by_partner GROUP BY partner_id
                                       HAVING MAX(acted) = 0)
                  AND n.partner_id NOT IN (SELECT partner_id FROM referring)
                  AND EXISTS (SELECT 1 FROM referrals AS r
                              WHERE r.id = n.referral_id AND {place("r.")})
            ) AS active""",
        "needs": f"""
            SELECT 0, need_kind, COUNT(*) FROM need_facts WHERE {period("at")} AND {place()}
            GROUP BY municipality_id, need_kind
            UNION ALL
            SELECT 1, rule, COUNT(*) FROM rule_hits WHERE {period("at")} AND {place()}
            GROUP BY municipality_id, rule""",
    }
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, sql in statements.items():
        used = {key: params[key] for key in re.findall(r":(\w+)", sql)}
        found[name] = (re.sub(r":(\w+)", r"%(\1)s", sql) if postgres else sql, used)
    return found


def floor_counts(connection: Any, scope: ReportScope, postgres: bool) -> EvaluationCounts:
    """The report's raw counts by `floor_statements` on a DBAPI connection."""
    found: dict[str, list[Any]] = {}
    cursor = connection.cursor()
    try:
        for name, (sql, params) in floor_statements(scope, postgres).items():
            cursor.execute(sql, params)
            found[name] = cursor.fetchall()
    finally:
        cursor.close()
    counts = EvaluationCounts(concluded_per_month=[0] * len(scope.month_starts))
    for month, centre_id, number in found["agreements"]:
        counts.concluded += number
        counts.concluded_per_month[month] += number
        counts.concluded_per_centre[centre_id] = (
            counts.concluded_per_centre.get(centre_id, 0) + number
        )
    goals = dict.fromkeys(("open", "in_progress", "achieved", "dropped"), 0)
    for centre_id, helped, easier, clients, *sums in found["survey"]:
        helped = None if helped is None else bool(helped)
        easier = None if easier is None else bool(easier)
        for survey in (
            counts.survey,
            counts.survey_per_centre.setdefault(centre_id, SurveyCounts()),
        ):
            survey.helped[helped] = survey.helped.get(helped, 0) + clients
            survey.easier[easier] = survey.easier.get(easier, 0) + clients
            if helped is not None or easier is not None:
                survey.answered += clients
        for key, value in zip(goals, sums, strict=True):
            goals[key] += int(value)
    counts.goals = goals
    counts.reviews_per_month = [ReviewCounts() for _ in scope.month_starts]
    for missing, month, due, flagged in found["reviews"]:
        line = counts.reviews_per_month[month]
        line.due += due
        if missing:
            line.overdue_now += int(flagged)
        else:
            line.on_time += int(flagged)
            line.late += due - int(flagged)
    for line in counts.reviews_per_month:
        for key in ("due", "on_time", "late", "overdue_now"):
            setattr(counts.reviews, key, getattr(counts.reviews, key) + getattr(line, key))
    counts.closures = {reason: 0 for reason in ClosureReason}
    for reason, number in found["closures"]:
        key = ClosureReason(reason)
        counts.closures[key] = counts.closures.get(key, 0) + number
    for actor, hours, number, acknowledged, *ends in found["referrals"]:
        kind = counts.referrals.setdefault(ActorKind(actor), ActorReferrals())
        kind.dispatched += number
        kind.acknowledged += acknowledged
        for key, value in zip(
            ("declined", "expired", "withdrawn", "completed", "achieved"), ends, strict=True
        ):
            setattr(kind, key, getattr(kind, key) + int(value))
        if hours is not None:
            kind.acknowledge_hours[int(hours)] = kind.acknowledge_hours.get(int(hours), 0) + number
    for actor, status, number in found["inbound"]:
        setattr(counts.inbound.setdefault(ActorKind(actor), InboundCounts()), status, number)
    counts.partners_active = int(found["partners"][0][0])
    for table, key, number in found["needs"]:
        if table == 0:
            counts.needs[NeedKind(key)] = counts.needs.get(NeedKind(key), 0) + number
        else:
            counts.rules[key] = counts.rules.get(key, 0) + number
    return counts


# -- the CSV ---------------------------------------------------------------------------------


def report_csv(engine: Engine, found: EvaluationReport, request: ReportRequest) -> bytes:
    """The route's CSV (GET /reports/evaluation.csv): its renderer, with the names it reads."""
    with Session(engine) as session:
        names = report_names(session, found, request.municipalities)
    return render(found, request, names).encode("utf-8")  # the BOM is in the text


# -- measuring -------------------------------------------------------------------------------


def requests(directory: Directory, today: date) -> dict[str, ReportRequest]:
    """What is measured: the largest municipality and one of median size for the default year
    (a supervisor's report), all municipalities for 18 months (an evaluator's), and its CSV."""
    year_start, year_end = default_period(today)
    first = add_months(date(today.year, today.month, 1), -(MONTHS - 1))
    every = ReportRequest(None, None, None, first, today)
    found = {
        label: ReportRequest((municipality_id,), municipality_id, None, year_start, year_end)
        for label, municipality_id in (
            ("one_municipality_year", directory.municipalities[0][0]),
            ("median_municipality_year", directory.municipalities[MUNICIPALITIES // 2][0]),
        )
    }
    return found | {
        "all_municipalities_18_months": every,
        "csv_all_18_months": every,
        "all_municipalities_18_months_live": every,
    }


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


@contextlib.contextmanager
def _raw(engine: Engine) -> Iterator[Any]:
    """The pool's DBAPI connection, as the sessions get theirs."""
    connection = engine.raw_connection()
    try:
        yield connection
    finally:
        connection.close()


def check(engine: Engine, postgres: bool, scopes: dict[str, ReportRequest]) -> None:
    """The floor computes what the report counts, for every scope measured."""
    now = datetime.now(UTC)
    for label, request in scopes.items():
        scope = scope_of(request, now)
        with Session(engine) as session:
            expected = evaluation_counts(session, scope)
        with _raw(engine) as connection:
            got = floor_counts(connection, scope, postgres)
        if got != expected:
            for key in EvaluationCounts.__dataclass_fields__:
                if getattr(got, key) != getattr(expected, key):
                    floor, counted = getattr(got, key), getattr(expected, key)
                    progress(f"  {label}: {key}: floor {floor} report {counted}")
            raise AssertionError(f"{label}: the floor's counts differ from the report's")


def measure(
    engine: Engine, postgres: bool, scopes: dict[str, ReportRequest], runs: int, warmup: int
) -> dict[str, dict[str, Any]]:
    def report_of(request: ReportRequest) -> EvaluationReport:
        with Session(engine) as session:
            return report(session, request, MIN_GROUP)

    def floor_of(request: ReportRequest) -> EvaluationCounts:
        with _raw(engine) as connection:
            return floor_counts(connection, scope_of(request, datetime.now(UTC)), postgres)

    def report_csv_of(request: ReportRequest) -> bytes:
        return report_csv(engine, report_of(request), request)

    def floor_csv_of(request: ReportRequest) -> bytes:
        return report_csv(engine, report_of_counts(floor_of(request), request, MIN_GROUP), request)

    contenders: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {}
    for label, request in scopes.items():
        sides: tuple[Callable[[ReportRequest], object], Callable[[ReportRequest], object]] = (
            (report_csv_of, floor_csv_of) if label.startswith("csv") else (report_of, floor_of)
        )
        contenders[label] = (
            functools.partial(sides[0], request),
            functools.partial(sides[1], request),
        )
    samples: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label in contenders}
    for round_ in range(warmup + runs):
        took: list[str] = []
        for label, pair in contenders.items():
            seconds = []
            for side, action in enumerate(pair):
                if side == 0 and label.endswith("_live"):
                    stale_latest_months(engine)  # not timed: what a day's projections did
                started = time.perf_counter()
                action()
                seconds.append(time.perf_counter() - started)
                if round_ >= warmup:
                    samples[label][side].append(seconds[-1])
            took.append(f"{label} {seconds[0] * 1000:.0f}/{seconds[1] * 1000:.0f}")
        name = f"run {round_ + 1 - warmup}" if round_ >= warmup else "warm-up"
        progress(f"  {name} (report/floor ms): {', '.join(took)}")
    figures: dict[str, dict[str, Any]] = {}
    for label, (reported, floor) in samples.items():
        p50, p95 = _percentiles(reported)
        floor_p95 = _percentiles(floor)[1]
        ratio = p95 / floor_p95
        figures[label] = {
            "p50_ms": round(p50, 1),
            "p95_ms": round(p95, 1),
            "floor_p95_ms": round(floor_p95, 1),
            "ratio_to_floor": round(ratio, 2),
            "target_ms": TARGETS_MS[label],
            "met": p95 <= TARGETS_MS[label] and ratio <= TARGET_RATIO,
        }
    return figures


def stale_latest_months(engine: Engine) -> None:
    """Mark the latest LIVE_MONTHS whole months of every municipality to be counted again, as
    a day of projections does in a live store (acknowledgements of last month's referrals,
    reviews after earlier ones, notes)."""
    this_month = start_of_german_month(datetime.now(UTC))
    months = [add_months_at(this_month, -n) for n in range(1, LIVE_MONTHS + 1)]
    with Session(engine) as session, session.begin():
        for municipality_id, _share in Directory.build().municipalities:
            mark_stale(session, municipality_id, months)


def build_cells(engine: Engine) -> tuple[int, float]:
    """Every month (`load` marked them all) counted into its cells; returns how many months
    and the seconds it took."""
    started = time.perf_counter()
    far = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    counted = refresh(engine, None, *far, datetime.now(UTC))
    return counted, time.perf_counter() - started


def run_backend(
    name: str, engine: Engine, scopes: dict[str, ReportRequest], args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    postgres = name == "postgresql"
    progress(f"{name}: counting every month into the evaluation's cells")
    months, seconds = build_cells(engine)
    progress(f"{name}: {months} months counted in {seconds:.1f} s")
    progress(f"{name}: checking the floor against the report's counts")
    check(
        engine, postgres, {label: scopes[label] for label in scopes if not label.startswith("csv")}
    )
    progress(f"{name}: measuring, {args.warmup} warm-up rounds and {args.runs} runs (report/floor)")
    return measure(engine, postgres, scopes, args.runs, args.warmup), {
        "months": months,
        "seconds": round(seconds, 1),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.evaluation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scale", type=float, default=1.0, help="of 1,000,000 cases")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--postgres-url", default=os.environ.get("LOTSE_BENCH_POSTGRES_URL"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="for the SQLite file (a temporary directory in it)",
    )
    args = parser.parse_args(argv)
    backend = args.backend or ("both" if args.postgres_url else "sqlite")
    if backend != "sqlite" and not args.postgres_url:
        parser.error("PostgreSQL needs --postgres-url or LOTSE_BENCH_POSTGRES_URL")
    names = ["sqlite", "postgresql"] if backend == "both" else [backend]
    cases = round(CASES * args.scale)
    now = datetime.now(UTC).replace(microsecond=0)
    directory = Directory.build()
    scopes = requests(directory, german_day(now))
    result: dict[str, Any] = {
        "bench": "evaluation",
        "scale": args.scale,
        "seed": args.seed,
        "cases": cases,
    }
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        data_dir = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="lotse-bench-", dir=args.data_dir)
        )
        engines: dict[str, Engine] = {}
        if "sqlite" in names:
            engines["sqlite"] = stack.enter_context(sqlite_store(Path(data_dir)))
        if "postgresql" in names:
            engines["postgresql"] = stack.enter_context(postgres_store(args.postgres_url))
        progress(f"generating {cases:,} cases (seed {args.seed}) into {', '.join(names)}")
        rows, seconds = load(engines, directory, cases, args.seed, now)
        result["rows"] = rows
        result["load_s"] = {name: round(value, 1) for name, value in seconds.items()}
        progress(f"loaded in {time.perf_counter() - started:.0f} s: {rows}")
        for name, engine in engines.items():
            result[name], cells = run_backend(name, engine, scopes, args)
            result.setdefault("cells_build", {})[name] = cells
    _summary(result, names, directory, time.perf_counter() - started)
    options = [f"--scale {args.scale:g}", f"--backend {backend}", f"--runs {args.runs}"]
    options += [f"--warmup {args.warmup}", f"--seed {args.seed}"]
    if "postgresql" in names:
        options.append("--postgres-url URL")
    print(f"rerun: .venv/bin/python -m bench.evaluation {' '.join(options)}")
    print(json.dumps(result))
    return result


def _summary(
    result: dict[str, Any], names: list[str], directory: Directory, seconds: float
) -> None:
    rows = result["rows"]
    largest, median = directory.municipalities[0], directory.municipalities[MUNICIPALITIES // 2]
    print(
        f"{result['cases']:,} cases, {rows['reviews']:,} reviews, {rows['referrals']:,} referrals"
        f" ({sum(rows.values()):,} rows) over {MUNICIPALITIES} municipalities and {CENTRES}"
        f" centres; the largest municipality {largest[0]} has {largest[1]:.0%} of the cases,"
        f" the median one {median[0]} {median[1]:.1%}"
    )
    print(
        f"{'backend':<11}{'figure':<31}{'p50 ms':>9}{'p95 ms':>9}{'floor p95':>11}{'ratio':>7}"
        "  target"
    )
    for name in names:
        for label, figure in result[name].items():
            verdict = "ok" if figure["met"] else "MISSED"
            print(
                f"{name:<11}{label:<31}{figure['p50_ms']:>9.1f}{figure['p95_ms']:>9.1f}"
                f"{figure['floor_p95_ms']:>11.1f}{figure['ratio_to_floor']:>7.2f}  "
                f"<= {figure['target_ms']:.0f} ms and <= {TARGET_RATIO:g}x: {verdict}"
            )
    print(f"run time {seconds:.0f} s (generation, load, check, measurement)")


if __name__ == "__main__":
    main()
