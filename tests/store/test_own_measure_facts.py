"""A ticked-off own measure (`own_measure_completed`) adds no evaluation fact: the evaluation
counts partners' completions through their referrals (store/fact_writer.py), and an own
measure has none."""

from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from domain.case import CaseEvent, CaseEventKind, Responsible, Stage
from domain.events import OwnMeasureCompleted, event_payload
from store.fact_writer import CasePlace, write_facts
from store.facts import AgreementVersionFact, ClosureFact, NeedFact, RuleHitFact
from store.projections import ReferralSummary, ReviewRecord

AT = datetime(2027, 2, 28, 10, tzinfo=UTC)


def test_an_own_measure_ticked_off_adds_no_fact(store_engine: Engine) -> None:
    payload = OwnMeasureCompleted(
        measure_id="m3", responsible=Responsible.CLIENT, done_on=date(2027, 2, 27)
    )
    event = CaseEvent(
        sequence=30,
        at=AT,
        kind=CaseEventKind.OWN_MEASURE_COMPLETED,
        stage=Stage.ACTIVE,
        data=payload.to_data(),
    )
    place = CasePlace(municipality_id="musterstadt", centre_id="mbe-mitte")
    with Session(store_engine) as session:
        write_facts(session, "case-1", place, event, event_payload(event), None)
        session.commit()
        for table in (
            AgreementVersionFact,
            ClosureFact,
            NeedFact,
            RuleHitFact,
            ReferralSummary,
            ReviewRecord,
        ):
            assert session.exec(select(table)).all() == [], table
    assert place == CasePlace(municipality_id="musterstadt", centre_id="mbe-mitte")
