"""Erasure of a closed case from the store (GDPR Art. 17), and the register of erased cases.

What stays is what the evaluation counts and nothing that names or describes the client: the
case's ids, stages, instants and facts (`store/facts.py`, the reviews' counts and survey
answers, the referrals' statuses and instants, the notes' existence and month), the case
number (a serial, not a person) and the audit log (ids and verbs). What goes:

- the client's name, first name and date of birth on the case summary, and the name's search
  keys (`case_name_keys`); the evaluation reads no birth date, so none is kept;
- on each referral the common minimum and the partner's view (first name, languages, the
  facts of its kind), the partners' notes' and the timeline's words (the rows stay: a note in
  a month counts an active partner);
- the goals' notes of the reviews (their statuses stay), the profile facts of
  `intake_corrected` events and the tasks' titles in the archived history, the tasks;
- the archived agreement texts (every version), the in-app notifications and the mail
  ledger's rows about the case;
- on the inbound referral that opened the case: the name, contact and reason.

`erase` does all of it and writes the register row in the caller's transaction, so a case is
either erased whole or not at all. It is idempotent: a second call finds nothing left to
remove and keeps the first register row. The projector skips a case once it is registered
here (`erased_among`, and `is_erased` for a note or a document), so an activity delivered
late cannot bring the data back.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, delete, update
from sqlmodel import Field, Session, SQLModel, col, select

from store.models import SLUG_LENGTH, InboundReferral
from store.notifications import MailDelivery, NotificationRecord
from store.projections import (
    ID_LENGTH,
    AgreementDocumentRecord,
    AuditEvent,
    CaseEventRecord,
    CaseNameKey,
    CaseSummary,
    ReferralNoteRecord,
    ReferralStepRecord,
    ReferralSummary,
    ReviewRecord,
    TaskRecord,
)
from store.types import UTCDateTime

REASON_LENGTH = 500
# Event data that holds profile facts or free words (domain/events.py): kept as keys, emptied.
_EVENT_TEXT = {"intake_corrected": ("old", "new"), "task_created": ("title",)}


class CaseErasure(SQLModel, table=True):
    """An erased case (migration 0014): when, by whom (a username), why (the officer's words,
    which the form asks to keep free of personal data), and where (the officer's scope)."""

    __tablename__ = "case_erasures"

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    municipality_id: str = Field(max_length=SLUG_LENGTH)
    erased_at: datetime = Field(sa_type=UTCDateTime)
    erased_by: str = Field(max_length=SLUG_LENGTH)
    reason: str = Field(max_length=REASON_LENGTH)


def is_erased(session: Session, case_id: str) -> bool:
    return session.get(CaseErasure, case_id) is not None


def erased_among(session: Session, case_ids: Sequence[str]) -> set[str]:
    """The cases of `case_ids` that are erased, in one statement."""
    if not case_ids:
        return set()
    query = select(CaseErasure.case_id).where(col(CaseErasure.case_id).in_(case_ids))
    return set(session.exec(query).all())


def erase(
    session: Session, case_id: str, municipality_id: str, by: str, reason: str, at: datetime
) -> CaseErasure:
    """Remove the case's personal data and register the erasure (the caller commits); the
    register row of an earlier erasure when there is one (nothing else changes then)."""
    earlier = session.get(CaseErasure, case_id)
    if earlier is not None:
        return earlier
    _scrub(session, case_id)
    erasure = CaseErasure(
        case_id=case_id, municipality_id=municipality_id, erased_at=at, erased_by=by, reason=reason
    )
    session.add(erasure)
    session.flush()
    return erasure


def erase_and_audit(
    engine: Engine, case_id: str, municipality_id: str, by: str, reason: str, at: datetime
) -> CaseErasure:
    """`erase` and its audit entry (`case.erased`: the id, who, when; the reason is the
    register's), in one transaction of their own."""
    with Session(engine) as session, session.begin():
        first = session.get(CaseErasure, case_id) is None
        erasure = erase(session, case_id, municipality_id, by, reason, at)
        if first:
            session.add(
                AuditEvent(
                    at=at, actor=by, action="case.erased", object_type="case", object_id=case_id
                )
            )
        session.expunge(erasure)
        return erasure


def _scrub(session: Session, case_id: str) -> None:
    session.execute(
        update(CaseSummary)
        .where(col(CaseSummary.case_id) == case_id)
        .values(
            client_display_name="",
            client_given_name="",
            client_family_name="",
            client_birth_date=None,
        )
    )
    session.execute(delete(CaseNameKey).where(col(CaseNameKey.case_id) == case_id))
    session.execute(
        update(ReferralSummary)
        .where(col(ReferralSummary.case_id) == case_id)
        .values(client_first_name="", languages=[], partner_view={})
    )
    session.execute(
        update(ReferralNoteRecord).where(col(ReferralNoteRecord.case_id) == case_id).values(note="")
    )
    session.execute(
        update(ReferralStepRecord).where(col(ReferralStepRecord.case_id) == case_id).values(note="")
    )
    for review in session.exec(select(ReviewRecord).where(ReviewRecord.case_id == case_id)):
        review.goal_progress = [
            {key: value for key, value in goal.items() if key != "note"}
            for goal in review.goal_progress
        ]
        session.add(review)
    kinds = tuple(_EVENT_TEXT)
    events = select(CaseEventRecord).where(
        CaseEventRecord.case_id == case_id, col(CaseEventRecord.kind).in_(kinds)
    )
    for event in session.exec(events):
        event.data = {
            key: "" if key in _EVENT_TEXT[event.kind] else value
            for key, value in event.data.items()
        }
        session.add(event)
    for table in (AgreementDocumentRecord, TaskRecord, NotificationRecord, MailDelivery):
        session.execute(delete(table).where(col(table.case_id) == case_id))
    session.execute(
        update(InboundReferral)
        .where(col(InboundReferral.case_id) == case_id)
        .values(given_name="", family_name="", phone=None, email=None, reason="")
    )
