"""What operations reads (`/healthz` and `/metrics`): whether the database answers, cases per
stage, and projection failures nobody has looked at yet. Each opens a short session of its
own: they run outside any request's session (a health probe, a Prometheus scrape).
"""

import logging

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from store.archive import PROJECTION_FAILED
from store.projections import CaseSummary, TaskRecord

log = logging.getLogger(__name__)


def database_answers(engine: Engine) -> bool:
    """Whether the database runs a trivial query; never raises (the reason goes to the log)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError as error:
        log.warning("Database health check failed: %s", error)
        return False


def cases_per_stage(engine: Engine) -> list[tuple[str, int]]:
    """(stage, number of cases) for each stage that has cases."""
    query = select(CaseSummary.stage, func.count()).group_by(col(CaseSummary.stage))
    with Session(engine) as session:
        return [(stage, count) for stage, count in session.exec(query)]


def open_projection_failures(engine: Engine) -> int:
    """Administrators' tasks for case events the read model could not take, not yet done."""
    query = select(func.count()).where(
        TaskRecord.kind == PROJECTION_FAILED, col(TaskRecord.done).is_(False)
    )
    with Session(engine) as session:
        return session.exec(query).one()
