"""`lotse db backfill-evaluation`: the evaluation's facts (store/facts.py, migration 0010) for
cases projected before the projector wrote them.

The case archive holds every event the read model ever applied (`case_events`), so each case's
events are replayed, in order, through the projector's own fact writer
(store/fact_writer.py): the same rows the projector would have written. Only the needs and
their rule hits are not in the events (they carry counts and route ids); they come from the
workflow's state, which the caller reads (`needs_of`; None when the workflow is gone, after
Temporal's retention: then that case's needs stay as they are and the case is counted).

Idempotent: every fact is keyed by its business key, a referral's end and acknowledgement are
set only when empty, and a case's needs are rewritten whole. One transaction per case, so an
interrupted run keeps what it did and a second run finishes the rest.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from domain.case import CaseEvent, CaseEventKind, Stage
from domain.events import event_payload
from domain.projection import AssessedNeed
from store.fact_writer import CasePlace, write_facts
from store.facts import NeedFact, RuleHitFact
from store.projections import CaseEventRecord, CaseSummary

BATCH = 500  # case ids read at a time


@dataclass
class BackfillResult:
    cases: int = 0
    events: int = 0
    without_needs: int = 0  # cases whose workflow could not say its needs


def case_ids(engine: Engine) -> Iterator[str]:
    """Every case of the read model, in id order, a batch at a time."""
    after = ""
    while True:
        with Session(engine) as session:
            ids = session.exec(
                select(CaseSummary.case_id)
                .where(col(CaseSummary.case_id) > after)
                .order_by(col(CaseSummary.case_id))
                .limit(BATCH)
            ).all()
        if not ids:
            return
        yield from ids
        after = ids[-1]


def backfill_case(engine: Engine, case_id: str, needs: list[AssessedNeed] | None) -> int:
    """Replay one case's archived events through the fact writer; returns how many."""
    with Session(engine) as session, session.begin():
        summary = session.get(CaseSummary, case_id)
        if summary is None:
            return 0
        rows = session.exec(
            select(CaseEventRecord)
            .where(col(CaseEventRecord.case_id) == case_id)
            .order_by(col(CaseEventRecord.seq))
        ).all()
        if needs is not None:
            session.execute(delete(NeedFact).where(col(NeedFact.case_id) == case_id))
            session.execute(delete(RuleHitFact).where(col(RuleHitFact.case_id) == case_id))
        place = CasePlace(summary.municipality_id, summary.centre_id)
        for row in rows:
            event = CaseEvent(
                sequence=row.seq,
                at=row.at,
                kind=CaseEventKind(row.kind),
                stage=Stage(row.stage),
                data=dict(row.data),
            )
            write_facts(session, case_id, place, event, event_payload(event), needs)
        return len(rows)


def backfill_evaluation(
    engine: Engine,
    needs_of: Callable[[str], list[AssessedNeed] | None],
    progress: Callable[[BackfillResult], None] = lambda result: None,
) -> BackfillResult:
    """Every case's facts from its archived events (module docstring)."""
    result = BackfillResult()
    for case_id in case_ids(engine):
        needs = needs_of(case_id)
        result.events += backfill_case(engine, case_id, needs)
        result.cases += 1
        result.without_needs += needs is None
        progress(result)
    return result
