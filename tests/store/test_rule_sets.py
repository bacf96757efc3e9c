"""A municipality's rule set versions in the store, on both backends: numbering, editing only
drafts, publishing (the version before superseded; one published per municipality, kept by the
database too), what routing reads (`SqlRuleSets`: none, the published one, or an unknown
municipality refused) and which cases a what-if routes again."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from domain.rule_sets import UnknownMunicipality
from store import rule_sets
from store.models import Municipality, RuleSetStatus, RuleSetVersion
from store.seed import seed_demo

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    seed_demo(store_engine, environment="development")
    with Session(store_engine) as session:
        session.add(Municipality(id="beispielheim", name="Beispielheim", land="BY"))
        session.commit()
    return store_engine


def test_drafts_are_numbered_edited_and_published_superseding_the_one_before(
    engine: Engine,
) -> None:
    with Session(engine) as session:
        first = rule_sets.save_draft(session, "musterstadt", "disable: []", "regelwerk", NOW)
        second = rule_sets.save_draft(session, "musterstadt", "disable: [x]", "regelwerk", NOW)
        assert (first.version, second.version) == (2, 3)
        edited = rule_sets.save_draft(
            session, "musterstadt", "disable: [y]", "admin", NOW, draft_id=first.id
        )
        assert edited.id == first.id and edited.content_hash == rule_sets.content_hash(
            "disable: [y]"
        )
        rule_sets.publish(session, edited, "regelwerk", NOW)
        statuses = {v.version: v.status for v in rule_sets.versions(session, "musterstadt")}
        assert statuses == {
            1: RuleSetStatus.SUPERSEDED,
            2: RuleSetStatus.PUBLISHED,
            3: RuleSetStatus.DRAFT,
        }
        with pytest.raises(rule_sets.NotADraft):
            rule_sets.save_draft(session, "musterstadt", "x", "admin", NOW, draft_id=first.id)
        with pytest.raises(rule_sets.NotADraft):
            rule_sets.publish(session, edited, "admin", NOW)
    published = rule_sets.SqlRuleSets(engine).published_rules("musterstadt")
    assert published is not None and (published.version, published.text) == (2, "disable: [y]")


def test_routing_reads_none_for_a_known_municipality_and_refuses_an_unknown_one(
    engine: Engine,
) -> None:
    source = rule_sets.SqlRuleSets(engine)
    assert source.published_rules("beispielheim") is None
    with pytest.raises(UnknownMunicipality):
        source.published_rules("nirgendwo")


def test_the_database_keeps_one_published_version_per_municipality(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(
            RuleSetVersion(
                municipality_id="musterstadt",
                version=9,
                status=RuleSetStatus.PUBLISHED,
                override_text="disable: []",
                content_hash=rule_sets.content_hash("disable: []"),
                created_by="admin",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_no_open_cases_in_a_store_without_cases(engine: Engine) -> None:
    with Session(engine) as session:
        assert rule_sets.open_case_ids(session, "musterstadt", 10) == []
        assert rule_sets.municipality_ids(session) == ["beispielheim", "musterstadt"]
