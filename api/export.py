"""The client's copy (GDPR Art. 15): everything Lotse holds about the client of one case, as
JSON (`GET /cases/{id}/export`) and as a readable German PDF (`?format=pdf`,
api/export_pdf.py), for the counsellors of the centre holding the case and the data
protection officer of its municipality (api/deps.py `exportable_case`; every export is an
audit entry, `case.export`).

Two sources, both whole: the case's workflow (`AgreementWorkflow.state`: the profile, needs,
routes with their reasons, goals and measures, document versions and signatures, referrals,
reviews and tasks it carries), asked while Temporal still has the case; and the store
(store/reads/export.py): every archived agreement text with who signed it when, each
referral with the partner's notes and its timeline, the reviews with the survey's answers,
the tasks, the archived history, the notifications about the case, and who accessed the case
and its referrals when (the audit log). A case Temporal no longer has (its namespace retention
passed) is exported from the store alone, and `workflow` is null.
"""

from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, status
from fastapi.concurrency import run_in_threadpool
from sqlmodel import SQLModel

from api.deps import CaseRef, Services
from store.reads import export as export_reads


def _rows(rows: list[Any], exclude: set[str] | None = None) -> list[dict[str, Any]]:
    return [
        row.model_dump(mode="json", exclude=exclude) for row in rows if isinstance(row, SQLModel)
    ]


async def _workflow_state(services: Services, case_id: str) -> dict[str, Any] | None:
    try:
        state = await services.gateway.case_state(case_id)
    except HTTPException as error:
        # Gone from Temporal (retention) or not answerable now: the store's copy stands alone.
        if error.status_code in (status.HTTP_404_NOT_FOUND, status.HTTP_409_CONFLICT):
            return None
        raise
    found: dict[str, Any] = state.model_dump(
        mode="json", exclude={"recent_updates", "search_attributes"}
    )
    return found


async def case_export(services: Services, case: CaseRef) -> dict[str, Any]:
    """The whole copy (see module docstring)."""
    workflow = await _workflow_state(services, case.id)
    record = await run_in_threadpool(export_reads.case_record, services.engine, case.id)
    notes: dict[str, list[dict[str, Any]]] = {}
    for note in record.notes:
        notes.setdefault(note.referral_id, []).append(
            {"number": note.number, "at": note.at.isoformat(), "note": note.note}
        )
    steps: dict[str, list[dict[str, Any]]] = {}
    for step in record.steps:
        steps.setdefault(step.referral_id, []).append(
            {"at": step.at.isoformat(), "status": step.status, "note": step.note, "by": step.by}
        )
    referrals = [
        {
            **referral.model_dump(mode="json", exclude={"last_applied_seq"}),
            "notes": notes.get(referral.id, []),
            "history": steps.get(referral.id, []),
        }
        for referral in record.referrals
    ]
    summary = record.summary
    return {
        "case_id": case.id,
        "exported_at": datetime.now(UTC).isoformat(),
        "exported_by": case.actor.username,
        "summary": (
            summary.model_dump(mode="json", exclude={"last_applied_seq"})
            if summary is not None
            else None
        ),
        "workflow": workflow,
        "documents": [
            {
                "version": document.version,
                "hash": document.hash,
                "rendered_at": document.rendered_at.isoformat(),
                "signed": {party: at.isoformat() for party, at in document.signed.items()},
                "text": document.text,
            }
            for document in record.documents
        ],
        "referrals": referrals,
        "reviews": _rows(list(record.reviews)),
        "tasks": _rows(list(record.tasks)),
        "history": _rows(list(record.events)),
        "notifications": _rows(list(record.notifications)),
        "accesses": _rows(list(record.accesses), exclude={"id"}),
    }
