"""What the case archive answers beyond `store.archive`'s own reads (a document's text, the
history, signatures, a referral's notes): the signature request of an agreement version the
case no longer carries, for the document shown by `GET /cases/{id}/agreement` and the pages.
"""

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from domain.case import CaseEventKind
from domain.events import SignatureRequested
from store.projections import CaseEventRecord


def signature_request(engine: Engine, case_id: str, version: int) -> tuple[str, datetime] | None:
    """Hash and time of the signature request of `version`, from the archived history (the
    newest when there were several); None when the history has none."""
    with Session(engine) as session:
        rows = session.exec(
            select(CaseEventRecord)
            .where(
                CaseEventRecord.case_id == case_id,
                CaseEventRecord.kind == CaseEventKind.SIGNATURE_REQUESTED,
            )
            .order_by(col(CaseEventRecord.seq).desc())
        ).all()
    # Every stored event fitted its model when it was projected (store/projector.py).
    for row in rows:
        requested = SignatureRequested.model_validate(row.data)
        if requested.version == version:
            return requested.hash, row.at
    return None
