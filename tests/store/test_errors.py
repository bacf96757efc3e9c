"""A statement the store refuses fails with an error that names no values: neither the bound
parameters (`hide_parameters=True`) nor PostgreSQL's DETAIL line ("Failing row contains
(...)"), in the exception's text or in the chained driver exception a traceback prints. That
text ends up in log lines and in the failures activities hand to Temporal, where personal data
must never go. On SQLite and on PostgreSQL (skipped when LOTSE_TEST_POSTGRES_URL is unset).
"""

import traceback
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from activities.case_events import CaseEventBatch, CaseProjection
from domain.case import CaseEvent, CaseEventKind, Stage
from store.models import Role, User
from store.projections import CaseSummary
from store.projector import SqlCaseEventSink
from store.seed import seed_demo
from store.testing import migrated_store

SECRET_NAME = "amina.karimi"
SECRET_HASH = "$argon2id$v=19$geheim-und-persoenlich"


def _everything_printed(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def test_a_refused_row_is_reported_without_its_values(store_engine: Engine) -> None:
    # A counsellor without a centre breaks the scope_fits_role CHECK constraint: PostgreSQL
    # would quote the whole row in its DETAIL, SQLAlchemy the parameters.
    with Session(store_engine) as session, pytest.raises(IntegrityError) as caught:
        session.add(User(username=SECRET_NAME, role=Role.COUNSELLOR, password_hash=SECRET_HASH))
        session.commit()
    printed = _everything_printed(caught.value)
    assert "scope_fits_role" in printed  # what failed is still said
    assert "parameters hidden" in printed
    assert SECRET_NAME not in printed and "geheim" not in printed
    assert "Failing row" not in printed


def test_a_duplicate_key_is_reported_without_the_key(store_engine: Engine) -> None:
    seed_demo(store_engine, environment="development")
    with Session(store_engine) as session, pytest.raises(IntegrityError) as caught:
        session.add(User(username="berater1", role=Role.ADMIN, password_hash=SECRET_HASH))
        session.commit()
    printed = _everything_printed(caught.value)
    assert "berater1" not in printed and "geheim" not in printed


def test_a_projection_that_postgres_refuses_fails_without_the_name(postgres_url: str) -> None:
    """The issue's case: "Amina\\u0000" reached the PostgreSQL projection, which failed on each
    retry with the name in Temporal's failure. The API refuses it now (tests/api/test_input.py);
    should such a value still arrive, its failure names nothing."""
    with migrated_store("postgresql", Path("."), postgres_url) as store:
        sink = SqlCaseEventSink(store)
        at = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
        batch = CaseEventBatch(
            case=CaseProjection(
                case_id="case-00000000-0000-4000-8000-0000000000ff",
                municipality_id="musterstadt",
                centre_id="mbe-mitte",
                counsellor_id="berater1",
                stage=Stage.INTAKE,
                opened_at=at,
                next_review_due=None,
                review_overdue=False,
                open_task_count=0,
                client_given_name="Amina\x00",
                client_family_name="Karimi-Geheim",
            ),
            events=[
                CaseEvent(
                    sequence=1,
                    at=at,
                    kind=CaseEventKind.CASE_OPENED,
                    stage=Stage.INTAKE,
                    data={
                        "municipality_id": "musterstadt",
                        "centre_id": "mbe-mitte",
                        "centre_kind": "MBE",
                        "counsellor_id": "berater1",
                    },
                )
            ],
        )
        seed_demo(store, environment="development")
        # Whatever the sink makes of it (the driver's error, or its own wrapping of it).
        with pytest.raises(Exception) as caught:
            sink.append(batch)
        printed = _everything_printed(caught.value)
        assert "DataError" in printed  # the reason is still there
        assert "Amina" not in printed and "Karimi" not in printed
        with Session(store) as session:
            assert session.get(CaseSummary, batch.case.case_id) is None
