"""What an erasure asks before it acts (api/erasure.py): whether and how the case was erased,
and the ids of its referrals' workflows, which it terminates with the case's."""

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from store.erasure import CaseErasure
from store.projections import ReferralSummary


def erasure_of(engine: Engine, case_id: str) -> CaseErasure | None:
    with Session(engine) as session:
        erasure = session.get(CaseErasure, case_id)
        if erasure is not None:
            session.expunge(erasure)
        return erasure


def referral_ids(engine: Engine, case_id: str) -> list[str]:
    """Every referral of the case the read model knows, oldest first."""
    with Session(engine) as session:
        query = (
            select(ReferralSummary.id)
            .where(ReferralSummary.case_id == case_id)
            .order_by(col(ReferralSummary.dispatched_at), col(ReferralSummary.id))
        )
        return list(session.exec(query).all())
