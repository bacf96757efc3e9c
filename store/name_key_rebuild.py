"""The stored search keys of the clients' names brought in line with domain/name_key.py, at
the worker's start (worker/worker.py, after the schema migration).

A key is derived data: when the way a name is keyed changes (Cyrillic and Arabic letters
keyed since 2026-12-01, „Yılmaz“ as yilmaz, …), the rows written before hold the old keys and
would no longer be found by a search keyed the new way. Not a migration: a revision never
imports application code, and the keying is application code. Instead each start compares
every case's stored keys with the keys of its stored name and rewrites the cases that differ,
in one transaction under the migration lock (`store.db.migration_connection`), so several
processes starting at once rewrite nothing twice. With nothing to change it reads the two
tables once and writes nothing (about 0.1 s per 10,000 cases).
"""

import logging
from collections import defaultdict

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlmodel import col

from domain.name_key import name_keys
from store.db import migration_connection
from store.projections import CaseNameKey, CaseSummary

log = logging.getLogger(__name__)

_BATCH = 500


def rebuild_name_keys(engine: Engine) -> int:
    """Rewrite the keys of every case whose stored keys differ from its name's keys now;
    the number of cases rewritten."""
    with migration_connection(engine) as connection:
        stale = _stale(connection)
        for start in range(0, len(stale), _BATCH):
            batch = stale[start : start + _BATCH]
            ids = [case_id for case_id, _ in batch]
            connection.execute(delete(CaseNameKey).where(col(CaseNameKey.case_id).in_(ids)))
            rows = [{"case_id": case_id, "key": key} for case_id, keys in batch for key in keys]
            if rows:
                connection.execute(insert(CaseNameKey), rows)
    if stale:
        log.info("Search keys of %d cases rebuilt (the name keying changed)", len(stale))
    return len(stale)


def _stale(connection: Connection) -> list[tuple[str, list[str]]]:
    """(case id, keys now) of each case whose stored keys are not its name's keys now."""
    stored: dict[str, set[str]] = defaultdict(set)
    for case_id, key in connection.execute(select(col(CaseNameKey.case_id), col(CaseNameKey.key))):
        stored[case_id].add(key)
    names = select(
        col(CaseSummary.case_id),
        col(CaseSummary.client_given_name),
        col(CaseSummary.client_family_name),
    )
    stale = []
    for case_id, given, family in connection.execute(names):
        keys = name_keys(given, family)
        if set(keys) != stored.get(case_id, set()):
            stale.append((case_id, keys))
    return stale
