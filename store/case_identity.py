"""Who a case's summary row is about: the client's name, date of birth and search keys, and
the case's number, written by the projector with every batch (store/projector.py).

The keys (domain/name_key.py) are rewritten only when the name changed, so a batch of a case
whose name stays (nearly every batch) writes no key row. A case whose state carries no number
(opened before numbers) keeps the one its row has (migration 0012), or gets the next one here
(a case opened before numbers and first projected after them): the read model is where such a
case's number lives (docs/architecture.md, "Case numbers"). A row projected before migration
0012 holds the given name only until its case's next batch; `lotse db backfill-names` asks
the workflows of the idle ones for the rest (`backfill_identity`).
"""

import logging
from datetime import date

from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from domain.months import german_day
from domain.name_key import name_keys
from domain.projection import CaseProjection
from store.case_numbers import assign
from store.projections import CaseNameKey, CaseSummary

log = logging.getLogger(__name__)

NAME_LENGTH = 100


def copy_identity(session: Session, summary: CaseSummary, case: CaseProjection, new: bool) -> None:
    """The batch's name, date of birth and number onto `summary` (a new row when `new`)."""
    _name(session, summary, case.client_given_name, case.client_family_name, new)
    summary.client_birth_date = case.client_birth_date
    if case.number:
        summary.number = case.number
    elif not summary.number:
        try:
            summary.number = assign(
                session, case.case_id, case.municipality_id, german_day(case.opened_at)
            )
        except LookupError:
            # A municipality not in the directory (yet): numbered by a later batch.
            log.warning("Case %s: no case prefix for its municipality yet", case.case_id)


def _name(session: Session, summary: CaseSummary, given: str, family: str, new: bool) -> None:
    """The name onto `summary`, its keys rewritten when it changed."""
    given, family = given[:NAME_LENGTH], family[:NAME_LENGTH]
    if new or (given, family) != (summary.client_given_name, summary.client_family_name):
        if not new:
            session.exec(delete(CaseNameKey).where(col(CaseNameKey.case_id) == summary.case_id))
        for key in name_keys(given, family):
            session.add(CaseNameKey(case_id=summary.case_id, key=key))
    summary.client_given_name = given
    summary.client_family_name = family


def cases_without_full_name(engine: Engine) -> list[str]:
    """The cases whose row has no family name: projected before migration 0012 (or a client
    without one), what `lotse db backfill-names` asks their workflows for."""
    with Session(engine) as session:
        query = select(CaseSummary.case_id).where(CaseSummary.client_family_name == "")
        return list(session.exec(query.order_by(col(CaseSummary.case_id))).all())


def backfill_identity(
    engine: Engine, case_id: str, given: str, family: str, birth_date: date | None
) -> bool:
    """A case's name and date of birth from its workflow's state (`lotse db backfill-names`),
    unless a batch has brought them since (its row has a family name); True when written."""
    with Session(engine) as session, session.begin():
        summary = session.get(CaseSummary, case_id, with_for_update=True)
        if summary is None or summary.client_family_name:
            return False
        _name(session, summary, given, family, new=False)
        summary.client_birth_date = birth_date
        session.add(summary)
        return True
