"""The audit log's period and its CSV (`GET /admin/audit?from=&to=&format=csv`).

A period is German days, `from` and `to` both included, at most ten years (as the evaluation);
without them, the last 30 days. The CSV is for German spreadsheets like the evaluation's
(api/evaluation_csv.py): UTF-8 with a byte order mark, `;`, CRLF, one fixed header
`at;actor;action;object_type;object_id`, instants in ISO 8601 UTC, and a text cell beginning
with `=`, `+`, `-` or `@` prefixed with `'` so that no spreadsheet runs it (an id in the log is
whatever a caller sent, refused or not). It is streamed: a range of millions of entries is
never held in memory.
"""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from api.deps import REPORT_MAX_DAYS
from api.errors import invalid
from domain.fields import PlausibleDate, SingleLine
from domain.months import german_day, start_of_german_day
from store.reads.admin import AuditFilter, audit_rows

DEFAULT_DAYS = 30
HEADER = ("at", "actor", "action", "object_type", "object_id")
_FORMULA_START = ("=", "+", "-", "@")


def audit_range(
    start: Annotated[
        PlausibleDate | None,
        Query(alias="from", description="Erster Tag (JJJJ-MM-TT); Standard: vor 30 Tagen."),
    ] = None,
    end: Annotated[
        PlausibleDate | None,
        Query(alias="to", description="Letzter Tag (JJJJ-MM-TT); Standard: heute."),
    ] = None,
    object_id: Annotated[SingleLine | None, Query(max_length=120)] = None,
    actor: Annotated[SingleLine | None, Query(max_length=64)] = None,
) -> AuditFilter:
    """The instants of the German days asked for; 422 naming the field for a period that is
    none or longer than ten years."""
    end = end or german_day(datetime.now(UTC))
    start = start or min(end - timedelta(days=DEFAULT_DAYS - 1), end)
    if start > end:
        raise invalid("to", "Das Ende des Zeitraums liegt vor seinem Beginn.")
    if (end - start).days > REPORT_MAX_DAYS:
        raise invalid("from", "Der Zeitraum ist länger als zehn Jahre.")
    return AuditFilter(
        start=start_of_german_day(start),
        end=start_of_german_day(end + timedelta(days=1)),
        object_id=object_id,
        actor=actor,
    )


AuditRange = Annotated[AuditFilter, Depends(audit_range)]


def period_id(wanted: AuditFilter) -> str:
    """The period as the `audit.read` entry names it: `2026-11-01..2026-11-30`."""
    first: date = german_day(wanted.start)
    last: date = german_day(wanted.end - timedelta(microseconds=1))
    return f"{first.isoformat()}..{last.isoformat()}"


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def lines(engine: Engine, wanted: AuditFilter) -> Iterator[str]:
    """The file, a chunk of lines at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(HEADER)
    for count, row in enumerate(audit_rows(engine, wanted), start=1):
        writer.writerow(
            (
                row.at.astimezone(UTC).isoformat(),
                _text(row.actor),
                _text(row.action),
                _text(row.object_type),
                _text(row.object_id),
            )
        )
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def response(engine: Engine, wanted: AuditFilter) -> StreamingResponse:
    name = f"audit-{period_id(wanted).replace('..', '-bis-')}.csv"
    return StreamingResponse(
        lines(engine, wanted),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
