"""The stores the store tests run on: a migrated, empty store, and a database no migration has
touched, each on SQLite and on PostgreSQL (the PostgreSQL runs skip when
LOTSE_TEST_POSTGRES_URL is unset)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from store import db
from store.testing import BACKENDS, migrated_store, postgres_schema


def _postgres_url(request: pytest.FixtureRequest, backend: str) -> str | None:
    return request.getfixturevalue("postgres_url") if backend == "postgresql" else None


@pytest.fixture(params=BACKENDS)
def store_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty store on each backend."""
    with migrated_store(request.param, tmp_path, _postgres_url(request, request.param)) as engine:
        yield engine


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database no migration has touched yet, on each backend."""
    url = _postgres_url(request, request.param)
    if url is None:
        engine = db.make_engine(None, tmp_path)
        yield engine
        engine.dispose()
        return
    with postgres_schema(url) as scoped_url:
        engine = db.engine_from_url(scoped_url)
        yield engine
        engine.dispose()
