"""What the retention (worker/retention.py) erases: the closed cases whose retention has run
out, from the evaluation's facts (when a case closed, and whether any version of its agreement
was ever signed), leaving out the cases already erased. A case closed as a duplicate has no
closure fact (the evaluation ignores it): its summary's last change is its closure, and it was
never signed (only a case in intake may be closed so)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, exists
from sqlmodel import Session, col, select

from domain.case import Stage
from store.erasure import CaseErasure
from store.facts import AgreementVersionFact, ClosureFact
from store.projections import CaseSummary


@dataclass(frozen=True)
class ExpiredCase:
    case_id: str
    municipality_id: str


def expired_cases(
    engine: Engine, signed_closed_before: datetime, unsigned_closed_before: datetime
) -> list[ExpiredCase]:
    """Closed cases not yet erased that closed before `signed_closed_before` when a version of
    their agreement was signed, or before `unsigned_closed_before` when none ever was; the
    oldest closure first."""
    signed = exists().where(col(AgreementVersionFact.case_id) == col(ClosureFact.case_id))
    erased = exists().where(col(CaseErasure.case_id) == col(ClosureFact.case_id))
    query = (
        select(ClosureFact.case_id, ClosureFact.municipality_id)
        .where(~erased)
        .where(
            (signed & (col(ClosureFact.closed_at) < signed_closed_before))
            | (~signed & (col(ClosureFact.closed_at) < unsigned_closed_before))
        )
        .order_by(col(ClosureFact.closed_at), col(ClosureFact.case_id))
    )
    summary_erased = exists().where(col(CaseErasure.case_id) == col(CaseSummary.case_id))
    summary_fact = exists().where(col(ClosureFact.case_id) == col(CaseSummary.case_id))
    duplicates = (
        select(CaseSummary.case_id, CaseSummary.municipality_id)
        .where(CaseSummary.stage == Stage.CLOSED.value)
        .where(~summary_fact, ~summary_erased)
        .where(col(CaseSummary.updated_at) < unsigned_closed_before)
        .order_by(col(CaseSummary.updated_at), col(CaseSummary.case_id))
    )
    with Session(engine) as session:
        rows = [*session.exec(query), *session.exec(duplicates)]
    return [ExpiredCase(case_id, municipality) for case_id, municipality in rows]
