"""A municipality's rule set versions (migration 0018): drafts, the published version routing
reads, and the superseded ones a running case's routes may still name.

Text in, text out: whether a text is a valid override is the rules' question
(rules/overrides.py), asked by the API before it calls `save_draft`; this module stores and
numbers versions, publishes one (the previous published one becomes superseded, in the same
transaction) and answers `published_rules` for routing (`SqlRuleSets`). The content hash is the
SHA-256 of the text: the same text is the same version's content wherever it is read.
"""

import hashlib
from datetime import datetime

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from domain.rule_sets import PublishedRules, UnknownMunicipality
from store.erasure import CaseErasure
from store.models import Municipality, RuleSetStatus, RuleSetVersion
from store.projections import CaseSummary


class NotADraft(ValueError):
    """Only a draft can be edited or published; a published or superseded version stays."""


class PublishedMeanwhile(RuntimeError):
    """Another version of the municipality was published at the same moment; nothing changed."""


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def municipality_exists(session: Session, municipality: str) -> bool:
    return session.get(Municipality, municipality) is not None


def municipality_ids(session: Session) -> list[str]:
    """Every municipality of the directory, for an administrator's choice of one."""
    return list(session.exec(select(Municipality.id).order_by(col(Municipality.id))))


def versions(session: Session, municipality: str) -> list[RuleSetVersion]:
    """Every version of the municipality, newest first."""
    query = (
        select(RuleSetVersion)
        .where(RuleSetVersion.municipality_id == municipality)
        .order_by(col(RuleSetVersion.version).desc())
    )
    return list(session.exec(query))


def version_by_id(session: Session, version_id: int) -> RuleSetVersion | None:
    return session.get(RuleSetVersion, version_id)


def published(session: Session, municipality: str) -> RuleSetVersion | None:
    query = select(RuleSetVersion).where(
        RuleSetVersion.municipality_id == municipality,
        RuleSetVersion.status == RuleSetStatus.PUBLISHED,
    )
    return session.exec(query).first()


def save_draft(
    session: Session,
    municipality: str,
    text: str,
    author: str,
    now: datetime,
    *,
    draft_id: int | None = None,
) -> RuleSetVersion:
    """A new draft (the next version number), or the text of draft `draft_id` replaced.
    The caller checked the text and that the municipality exists; commits."""
    if draft_id is not None:
        row = session.get(RuleSetVersion, draft_id)
        if row is None or row.municipality_id != municipality:
            raise LookupError(draft_id)
        if row.status is not RuleSetStatus.DRAFT:
            raise NotADraft(draft_id)
        row.override_text = text
        row.content_hash = content_hash(text)
        row.updated_at = now
    else:
        last = session.exec(
            select(func.max(RuleSetVersion.version)).where(
                RuleSetVersion.municipality_id == municipality
            )
        ).one()
        row = RuleSetVersion(
            municipality_id=municipality,
            version=(last or 0) + 1,
            status=RuleSetStatus.DRAFT,
            override_text=text,
            content_hash=content_hash(text),
            created_by=author,
            created_at=now,
            updated_at=now,
        )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def publish(session: Session, draft: RuleSetVersion, publisher: str, now: datetime) -> None:
    """Make the draft the municipality's published version; the one before is superseded.
    Commits (the caller adds the audit entry in the same session)."""
    if draft.status is not RuleSetStatus.DRAFT:
        raise NotADraft(draft.id)
    before = published(session, draft.municipality_id)
    if before is not None:
        before.status = RuleSetStatus.SUPERSEDED
        session.add(before)
        # The superseded row first: one published row per municipality (a unique index).
        session.flush()
    draft.status = RuleSetStatus.PUBLISHED
    draft.published_by = publisher
    draft.published_at = now
    session.add(draft)
    try:
        session.commit()
    except (IntegrityError, OperationalError) as error:
        # The partial unique index (PostgreSQL) or SQLite's write lock: someone else won.
        session.rollback()
        raise PublishedMeanwhile(draft.municipality_id) from error


def open_case_ids(session: Session, municipality: str, limit: int) -> list[str]:
    """Up to `limit` ids of the municipality's cases not closed (and not erased), oldest
    first: the cases a what-if routes again (api/rule_what_if.py)."""
    query = (
        select(CaseSummary.case_id)
        .where(
            CaseSummary.municipality_id == municipality,
            col(CaseSummary.stage) != "closed",
            col(CaseSummary.case_id).not_in(select(CaseErasure.case_id)),
        )
        .order_by(col(CaseSummary.opened_at), col(CaseSummary.case_id))
        .limit(limit)
    )
    return list(session.exec(query))


class SqlRuleSets:
    """`rules.municipal.RuleSetSource` on the store: each call a short session of its own, so
    one instance serves every thread of a worker or the API."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def published_rules(self, municipality: str) -> PublishedRules | None:
        with Session(self._engine) as session:
            row = published(session, municipality)
            if row is None:
                if not municipality_exists(session, municipality):
                    raise UnknownMunicipality(municipality)
                return None
            return PublishedRules(
                municipality_id=row.municipality_id,
                version=row.version,
                content_hash=row.content_hash,
                text=row.override_text,
            )
