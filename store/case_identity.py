"""Who a case's summary row is about: the client's name, date of birth and search keys, and
the case's number, written by the projector with every batch (store/projector.py).

The keys (domain/name_key.py) are rewritten only when the name changed, so a batch of a case
whose name stays (nearly every batch) writes no key row. A case whose state carries no number
(opened before numbers) keeps the one its row has (migration 0012), or gets the next one here
(a case opened before numbers and first projected after them): the read model is where such a
case's number lives (docs/architecture.md, "Case numbers").
"""

import logging

from sqlalchemy import delete
from sqlmodel import Session, col

from domain.months import german_day
from domain.name_key import name_keys
from domain.projection import CaseProjection
from store.case_numbers import assign
from store.projections import CaseNameKey, CaseSummary

log = logging.getLogger(__name__)

NAME_LENGTH = 100


def copy_identity(session: Session, summary: CaseSummary, case: CaseProjection, new: bool) -> None:
    """The batch's name, date of birth and number onto `summary` (a new row when `new`)."""
    given = case.client_given_name[:NAME_LENGTH]
    family = case.client_family_name[:NAME_LENGTH]
    if new or (given, family) != (summary.client_given_name, summary.client_family_name):
        if not new:
            session.exec(delete(CaseNameKey).where(col(CaseNameKey.case_id) == case.case_id))
        for key in name_keys(given, family):
            session.add(CaseNameKey(case_id=case.case_id, key=key))
    summary.client_given_name = given
    summary.client_family_name = family
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
