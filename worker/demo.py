"""The demo cases of `lotse up`, played through the workflows on its dev server.

A fresh data dir gets the demo directory and accounts (store/seed.py) and, right after the
server is up, the cases of worker/demo_cases.py, played in the background as people would
(worker/demo_player.py): each counsellor opens her cases through the same function the API's
`POST /cases` calls and takes them as far as the case says with the same typed updates the
routes send, with the demo user as the actor; the partners acknowledge, report, complete or
decline their referrals the same way. The read model, the lists and the evaluation follow from
the workflows' own projection; nothing here writes the store but the audit line `open_case`
writes for every case.

Idempotent and resumable: a case's id comes from its key (`case_id_for`, as a retried
`POST /cases` with the same Idempotency-Key), each step's update id from the key and the step,
and each step is taken only when the case's state says it has not happened. `lotse up` marks a
freshly seeded data dir with `PENDING` and removes the mark once every case is played, so a
start interrupted halfway finishes the cases next time, and later starts create nothing.

Never in production: `play_demo_cases` refuses there, as `seed_demo` does, and `lotse up`
refuses to run there at all. Logs name no client: counts and error types only.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi import HTTPException
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.gateway import Gateway
from app.settings import Settings
from domain.months import german_day
from store.db import make_engine
from store.models import User
from store.seed import PRODUCTION, SeedRefused
from worker.demo_cases import DEMO_CASES
from worker.demo_player import DemoPlayer, Opening
from worker.keys_cli import store_keys

log = logging.getLogger(__name__)

PENDING = "demo-cases.pending"  # in the data dir, beside the dev server's database
ATTEMPTS = 3
PAUSE_BETWEEN_ATTEMPTS_SECONDS = 10.0


@dataclass(frozen=True)
class DemoPlayed:
    cases: int
    seconds: float


def mark_pending(data_dir: Path) -> None:
    (data_dir / PENDING).touch()


def is_pending(data_dir: Path) -> bool:
    return (data_dir / PENDING).exists()


async def play_pending(
    settings: Settings, on_done: Callable[[DemoPlayed], None] | None = None
) -> DemoPlayed | None:
    """Play the demo cases if the data dir is marked for them, then remove the mark. A failed
    attempt (a machine so busy that the rules' evaluator times out, say) is logged with its
    type and tried again, each attempt going on from where the cases are; after the last one
    the mark stays and the next start goes on. Never a reason to stop `lotse up`."""
    if not settings.demo_cases or not is_pending(settings.data_dir):
        return None
    started = time.monotonic()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            played = await play_demo_cases(settings)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("Demo cases: attempt %d of %d failed (%s)", attempt, ATTEMPTS, _kind(error))
            await asyncio.sleep(PAUSE_BETWEEN_ATTEMPTS_SECONDS)
            continue
        (settings.data_dir / PENDING).unlink(missing_ok=True)
        played = DemoPlayed(played.cases, time.monotonic() - started)
        if on_done is not None:
            on_done(played)
        return played
    log.warning("Demo cases not finished; the next start goes on with them")
    return None


def _kind(error: Exception) -> str:
    """What went wrong, without the message (a refusal's text may quote input)."""
    if isinstance(error, HTTPException):
        return f"HTTP {error.status_code}"
    return type(error).__name__


async def play_demo_cases(settings: Settings, *, today: date | None = None) -> DemoPlayed:
    """Play every demo case to its stage on the Temporal server and store of `settings`."""
    if settings.env.strip().lower() == PRODUCTION:
        raise SeedRefused("demo cases are never created in production")
    started = time.monotonic()
    engine = make_engine(settings.database_url, settings.data_dir)
    try:
        users = await asyncio.to_thread(_demo_users, engine)
        player = DemoPlayer(
            Opening(engine, Gateway(settings, store_keys(settings, engine))),
            users,
            today or _today(),
        )
        # The cases whose deadline is the point first: their clocks start soonest. One after
        # the other: the people using Lotse meanwhile share the machine (often two cores) and
        # the rules' two evaluator processes with them. A case that fails does not keep the
        # others from being played; the first failure is raised after all had their turn.
        failures: list[Exception] = []
        for case in sorted(DEMO_CASES, key=lambda case: case.clocks is None):
            try:
                await player.play(case)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures.append(error)
        if failures:
            raise failures[0]
    finally:
        engine.dispose()
    return DemoPlayed(len(DEMO_CASES), time.monotonic() - started)


def _today() -> date:
    return german_day(datetime.now(UTC))


def _demo_users(engine: Engine) -> dict[str, User]:
    """The counsellors of the demo cases and every partner account, by username and by
    partner id (`partner:<id>`)."""
    with Session(engine) as session:
        found: dict[str, User] = {}
        for user in session.exec(select(User)):
            found[user.username] = user
            if user.partner_id is not None:
                found[f"partner:{user.partner_id}"] = user
        return found
