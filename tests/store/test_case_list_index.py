"""`GET /cases` without filters reads a centre's cases newest first from an index (migration
0002), instead of sorting all of the centre's cases for every page."""

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from store.reads.cases import centre_cases
from store.testing import migrated_store


def _plan(tmp_path: Path, statement: str) -> str:
    with migrated_store("sqlite", tmp_path, None) as engine, engine.connect() as connection:
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {statement}")).all()
    return "\n".join(str(row[-1]) for row in rows)


def _sql(**filters: object) -> str:
    query = centre_cases("mbe-mitte", **filters).limit(50)  # type: ignore[arg-type]
    compiled = query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    return str(compiled)


def test_the_unfiltered_case_list_is_read_in_index_order(tmp_path: Path) -> None:
    plan = _plan(tmp_path, _sql())
    assert "ix_case_summaries_centre_updated" in plan
    assert "TEMP B-TREE" not in plan  # no sort of the centre's cases


def test_without_the_index_the_case_list_would_sort(tmp_path: Path) -> None:
    # What the index is for: the same query, told to use the older stage index, sorts.
    statement = _sql().replace(
        "FROM case_summaries", "FROM case_summaries INDEXED BY ix_case_summaries_centre_stage"
    )
    assert "TEMP B-TREE" in _plan(tmp_path, statement)
