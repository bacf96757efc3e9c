"""What the API and the web UI read from the case archive (store/archive.py) beside the case's
state: the text of an agreement version, the whole history, and each referral's timeline.

The case carries only the hash of each version and the events the read model does not have
yet (domain/compaction.py); both front doors read the rest here, so the JSON API and the pages
show the same document and the same history.
"""

from dataclasses import dataclass
from datetime import datetime

from fastapi import HTTPException, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from domain.case import CaseEvent, CaseState, ReferralStep
from store.archive import case_history, load_document, referral_steps, signed_at
from store.reads.archive import signature_request
from store.reads.reviews import PastReview, case_reviews

NO_DOCUMENT = (
    "Für diesen Fall gibt es noch kein Vereinbarungsdokument (erst Entwurf speichern und "
    "Unterschrift anfordern)."
)
NO_VERSION = "Diese Fassung gibt es nicht."


@dataclass(frozen=True)
class Document:
    """One version of the agreement as it was signed (or is to be signed)."""

    version: int
    hash: str
    text: str
    created_at: datetime
    signed: dict[str, datetime]  # party -> when
    # The bilingual edition's language (domain/editions.py); None: German only, and for a
    # version the case no longer carries (the text itself holds its translation either way).
    language: str | None = None


def _document(engine: Engine, state: CaseState, version: int | None) -> Document:
    if not state.documents:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_DOCUMENT)
    wanted = state.documents[-1].version if version is None else version
    carried = next((d for d in state.documents if d.version == wanted), None)
    language = carried.language if carried is not None else None
    if carried is not None:
        hash, created_at = carried.hash, carried.created_at
        signed = {s.party.value: s.at for s in state.signatures if s.version == wanted}
    else:
        requested = signature_request(engine, state.id, wanted)
        if requested is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_VERSION)
        hash, created_at = requested
        signed = signed_at(engine, state.id, wanted)
    # A state from before the archive still carries the text until it is projected.
    text = load_document(engine, state.id, wanted, hash)
    if text is None and carried is not None and carried.text:
        text = carried.text
    if text is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_VERSION)
    return Document(
        version=wanted,
        hash=hash,
        text=text,
        created_at=created_at,
        signed=signed,
        language=language,
    )


async def document(engine: Engine, state: CaseState, version: int | None = None) -> Document:
    """Version `version` of the case's agreement (the current one when None); 404 when the case
    has none or not that one."""
    return await run_in_threadpool(_document, engine, state, version)


async def history(engine: Engine, state: CaseState) -> list[CaseEvent]:
    """Every event of the case, in order: the read model's and those the case still carries."""
    return await run_in_threadpool(case_history, engine, state.id, state.events)


async def referral_timelines(engine: Engine, state: CaseState) -> dict[str, list[ReferralStep]]:
    """Each referral's steps as the case heard them, oldest first, with the partners' words:
    the read model's and those the case still carries. A referral dispatched before steps
    were kept has only its later ones (or none)."""
    return await run_in_threadpool(referral_steps, engine, state.id, state.referral_steps)


async def reviews(engine: Engine, state: CaseState) -> list[PastReview]:
    """The case's past reviews, oldest first, with their goal notes and survey answers: the
    read model's and those the case still carries."""
    return await run_in_threadpool(case_reviews, engine, state.id, state.reviews)
