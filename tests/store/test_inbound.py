"""The writes of inbound referrals (store/inbound.py) on SQLite and PostgreSQL: one decision
wins however many arrive at once, a decline cannot land on a claimed referral, and the
database itself refuses a row whose decision does not fit its status."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from domain.inbound import InboundReferralRequest, InboundStatus
from store import inbound, seed
from store.models import InboundReferral, PartnerAgency

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
REQUEST = InboundReferralRequest.model_validate(
    {
        "centre_id": "mbe-mitte",
        "client": {"given_name": "Amina", "family_name": "Karimi"},
        "reason": "Beratung",
        "client_consents": True,
    }
)


def _new(engine: Engine, referral_id: str) -> InboundReferral:
    with Session(engine) as session:
        partner = session.get(PartnerAgency, "jobcenter-musterstadt")
    assert partner is not None
    return inbound.new_referral(engine, referral_id, partner, "mbe-mitte", REQUEST, NOW)


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    seed.seed_demo(store_engine, environment="development")
    return store_engine


def test_of_many_declines_and_claims_at_once_exactly_one_wins(engine: Engine) -> None:
    _new(engine, "inbound-race")

    def decline(n: int) -> InboundReferral | None:
        return inbound.record_decline(engine, "inbound-race", f"berater{n}", f"Grund {n}", NOW)

    def claim(n: int) -> InboundReferral | None:
        return inbound.claim_case(engine, "inbound-race", "case-claimed")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda n: (decline if n % 2 else claim)(n), range(16)))
    with Session(engine) as session:
        final = session.get(InboundReferral, "inbound-race")
    assert final is not None
    # Either one decline won (every answer after it shows that one), or a claim did and no
    # decline landed.
    if final.status is InboundStatus.DECLINED:
        assert final.case_id is None
        decided = {(a.decided_by, a.decline_reason) for a in answers if a and a.decided_by}
        assert decided == {(final.decided_by, final.decline_reason)}
    else:
        assert (final.status, final.case_id, final.decline_reason) == (
            InboundStatus.OPEN,
            "case-claimed",
            None,
        )


def test_an_acceptance_needs_its_claim_and_is_final(engine: Engine) -> None:
    _new(engine, "inbound-accept")
    unclaimed = inbound.record_acceptance(engine, "inbound-accept", "case-a", "berater1", NOW)
    assert unclaimed is not None and unclaimed.status is InboundStatus.OPEN
    inbound.claim_case(engine, "inbound-accept", "case-a")
    declined = inbound.record_decline(engine, "inbound-accept", "berater1", "Nein", NOW)
    assert declined is not None and declined.status is InboundStatus.OPEN
    accepted = inbound.record_acceptance(engine, "inbound-accept", "case-a", "berater1", NOW)
    assert accepted is not None
    assert (accepted.status, accepted.case_id, accepted.decided_by) == (
        InboundStatus.ACCEPTED,
        "case-a",
        "berater1",
    )
    # Nothing moves an accepted referral any more.
    inbound.claim_case(engine, "inbound-accept", "case-b")
    inbound.record_decline(engine, "inbound-accept", "berater2", "Doch nicht", NOW)
    with Session(engine) as session:
        row = session.get(InboundReferral, "inbound-accept")
    assert row is not None and (row.status, row.case_id) == (InboundStatus.ACCEPTED, "case-a")


@pytest.mark.parametrize(
    "values",
    [
        {"status": InboundStatus.ACCEPTED, "decided_at": NOW, "decided_by": "berater1"},
        {"status": InboundStatus.DECLINED, "decided_at": NOW, "decided_by": "berater1"},
        {"status": InboundStatus.OPEN, "decided_at": NOW},
    ],
    ids=["accepted without case", "declined without reason", "open but decided"],
)
def test_the_database_refuses_a_decision_that_does_not_fit_its_status(
    engine: Engine, values: dict[str, object]
) -> None:
    _new(engine, "inbound-check")
    with Session(engine) as session, pytest.raises(IntegrityError):
        statement = update(InboundReferral).where(InboundReferral.id == "inbound-check")
        session.connection().execute(statement.values(**values))
        session.commit()
