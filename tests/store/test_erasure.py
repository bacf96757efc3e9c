"""The erasure of a case in the store (store/erasure.py), on both backends: every row of the
case loses the client's data and keeps what the evaluation counts, the other case keeps
everything, a second erasure changes nothing, and a late delivery of the projector brings
nothing back."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, SQLModel

from domain.case import StepBy
from domain.enums import ActorKind, NeedKind
from domain.inbound import InboundStatus
from domain.notifications import DeliveryStatus, NoticeKind
from domain.projection import ArchivedDocument, ReferralNote
from domain.referral import ReferralStatus
from store.erasure import erase, erase_and_audit, is_erased
from store.models import InboundReferral, Role
from store.notifications import MailDelivery, NotificationRecord
from store.projections import (
    AgreementDocumentRecord,
    CaseEventRecord,
    CaseNameKey,
    CaseSummary,
    ReferralNoteRecord,
    ReferralStepRecord,
    ReferralSummary,
    ReviewRecord,
    TaskRecord,
)
from store.projector import SqlCaseEventSink
from store.seed import seed_demo

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
A, B = "case-aaaaaaaa-0000-4000-8000-000000000001", "case-bbbbbbbb-0000-4000-8000-000000000002"


def _rows(case_id: str, secret: str) -> list[SQLModel]:
    """One row of every table that holds something of the case's client, `secret` in each."""
    referral_id = f"{case_id}-ref-1"
    return [
        CaseSummary(
            case_id=case_id,
            municipality_id="musterstadt",
            centre_id="mbe-mitte",
            counsellor_id="berater1",
            stage="closed",
            client_display_name=f"{secret} K.",
            client_given_name=secret,
            client_family_name=secret,
            client_birth_date=AT.date() - timedelta(days=12000),
            opened_at=AT,
            updated_at=AT,
        ),
        CaseNameKey(case_id=case_id, key=secret.lower()),
        ReferralSummary(
            id=referral_id,
            case_id=case_id,
            municipality_id="musterstadt",
            route_id="r1",
            partner_id="sprachschule-musterstadt",
            actor_kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
            measure="integration_course",
            need_kind=NeedKind.LANGUAGE,
            status=ReferralStatus.COMPLETED,
            dispatched_at=AT,
            client_first_name=secret,
            languages=["ar"],
            partner_view={"german_level": secret},
            updated_at=AT,
        ),
        ReferralNoteRecord(
            referral_id=referral_id,
            number=1,
            case_id=case_id,
            partner_id="sprachschule-musterstadt",
            at=AT,
            note=secret,
        ),
        ReferralStepRecord(
            case_id=case_id,
            seq=5,
            referral_id=referral_id,
            at=AT,
            status=ReferralStatus.ACKNOWLEDGED,
            note=secret,
            by=StepBy.PARTNER,
        ),
        ReviewRecord(
            case_id=case_id,
            seq=7,
            recorded_at=AT,
            agreement_helped=True,
            goal_progress=[{"goal_id": "g1", "status": "achieved", "note": secret}],
            municipality_id="musterstadt",
            centre_id="mbe-mitte",
            goals_achieved=1,
        ),
        CaseEventRecord(
            case_id=case_id,
            seq=3,
            at=AT,
            kind="intake_corrected",
            stage="active",
            data={"field": "birth_date", "old": secret, "new": secret},
        ),
        AgreementDocumentRecord(
            case_id=case_id, version=1, hash="0" * 64, text=secret, rendered_at=AT
        ),
        TaskRecord(
            id=f"{case_id}-t1",
            case_id=case_id,
            kind="follow_up",
            assignee_role=Role.COUNSELLOR,
            assignee_id="berater1",
            title=secret,
            created_at=AT,
        ),
        NotificationRecord(
            username="berater1",
            kind=NoticeKind.REVIEW_OVERDUE,
            event_key=f"{case_id}-e1",
            case_id=case_id,
            created_at=AT,
        ),
        MailDelivery(
            event_key=f"{case_id}-e1",
            address=f"{secret.lower()}@beispiel.de",
            kind=NoticeKind.REVIEW_OVERDUE,
            case_id=case_id,
            status=DeliveryStatus.SENT,
            updated_at=AT,
        ),
        InboundReferral(
            id=f"inbound-{case_id.removeprefix('case-')}",
            partner_id="sprachschule-musterstadt",
            partner_kind=ActorKind.LANGUAGE_COURSE_PROVIDER,
            centre_id="mbe-mitte",
            municipality_id="musterstadt",
            status=InboundStatus.ACCEPTED,
            created_at=AT,
            decided_at=AT,
            decided_by="berater1",
            case_id=case_id,
            given_name=secret,
            family_name=secret,
            phone="0171 1234567",
            email=f"{secret.lower()}@beispiel.de",
            reason=secret,
        ),
    ]


def _holding(engine: Engine, text: str) -> set[str]:
    with engine.connect() as connection:
        return {
            table.name
            for table in SQLModel.metadata.sorted_tables
            for row in connection.execute(select(table))
            if text.lower() in repr(tuple(row)).lower()
        }


def _counted(engine: Engine) -> dict[str, Any]:
    """What the evaluation reads of the case's rows."""
    with Session(engine) as session:
        referral = session.get(ReferralSummary, f"{A}-ref-1")
        review = session.get(ReviewRecord, (A, 7))
        assert referral is not None and review is not None
        return {
            "referral": (referral.status, referral.dispatched_at, referral.partner_id),
            "review": (review.agreement_helped, review.goals_achieved, review.recorded_at),
            "notes": len(session.exec(select(ReferralNoteRecord)).all()),
            "steps": len(session.exec(select(ReferralStepRecord)).all()),
        }


def test_erasure_removes_the_clients_data_of_one_case_and_keeps_the_counted(
    store_engine: Engine,
) -> None:
    seed_demo(store_engine, environment="development")
    with Session(store_engine) as session:
        for row in (*_rows(A, "Quellgeheim"), *_rows(B, "Andereperson")):
            session.add(row)
        session.commit()
    counted = _counted(store_engine)
    assert _holding(store_engine, "Quellgeheim")

    erasure = erase_and_audit(store_engine, A, "musterstadt", "datenschutz", "Antrag", AT)
    assert (erasure.case_id, erasure.erased_by, erasure.reason) == (A, "datenschutz", "Antrag")
    assert _holding(store_engine, "Quellgeheim") == set()
    assert _counted(store_engine) == counted
    # The other case is untouched.
    assert len(_holding(store_engine, "Andereperson")) == 11
    with Session(store_engine) as session:
        summary = session.get(CaseSummary, A)
        assert summary is not None and summary.client_birth_date is None
        assert summary.stage == "closed"
        review = session.get(ReviewRecord, (A, 7))
        assert review is not None and review.goal_progress == [
            {"goal_id": "g1", "status": "achieved"}
        ]
        assert is_erased(session, A) and not is_erased(session, B)
        # Again: the first erasure, nothing else.
        again = erase(session, A, "musterstadt", "admin", "noch einmal", AT + timedelta(days=1))
        assert (again.erased_by, again.erased_at) == ("datenschutz", AT)

    # A late delivery brings nothing back.
    sink = SqlCaseEventSink(store_engine)
    sink.archive_document(
        ArchivedDocument(case_id=A, version=2, hash="1" * 64, text="Quellgeheim", rendered_at=AT)
    )
    sink.append_referral_note(
        ReferralNote(
            referral_id=f"{A}-ref-1",
            number=2,
            case_id=A,
            partner_id="sprachschule-musterstadt",
            at=AT,
            note="Quellgeheim",
        )
    )
    assert _holding(store_engine, "Quellgeheim") == set()
