"""A municipality's rules as data, through HTTP on the store (no Temporal): versions, drafts
checked by the rules' schema with German errors per rule and field, hostile uploads refused
with nothing written, publishing (the previous version superseded, an audit event), a draft
tried by `POST /rules/explain`, scope (another municipality's versions are not found) and an
unknown municipality refused where routing used to fall back to the federal table.
"""

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.case import CaseActivities, RouteNeedsInput
from activities.case_events import InMemoryCaseEventSink
from domain.enums import CentreKind
from domain.needs import Need
from domain.profile import IntakeData
from rules.municipal import MunicipalEvaluators
from store.directory import SqlDirectory
from store.models import Municipality, RuleSetStatus, RuleSetVersion
from store.projections import AuditEvent
from store.rule_sets import SqlRuleSets
from tests.api_harness import StoreOnly, store_only
from tests.samples import ASSESSMENT, INTAKE

TODAY = date(2026, 11, 25)
# Employment goes to the employment agency instead of the Jobcenter, whatever the benefit.
REPLACE_EMP_SGB2 = """
replace:
  - id: emp-sgb2
    need: employment
    when:
      sgb2: true
    actor: employment_agency
    measure: placement
    reason: "Bürgergeld (SGB II): Arbeitsvermittlung durch die Agentur für Arbeit"
"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreOnly]:
    async with store_only(request.param, tmp_path_factory.mktemp("rule-sets")) as system:
        system.add(Municipality(id="beispielheim", name="Beispielheim", land="BY"))
        yield system


def _rows(system: StoreOnly) -> list[tuple[int | None, str, int, RuleSetStatus, str]]:
    with Session(system.engine) as session:
        rows = session.exec(select(RuleSetVersion).order_by(col(RuleSetVersion.id))).all()
        return [(r.id, r.municipality_id, r.version, r.status, r.content_hash) for r in rows]


def _explain(**extra: Any) -> dict[str, Any]:
    return {"today": TODAY.isoformat(), "profile": INTAKE, "needs": ASSESSMENT["needs"]} | extra


async def test_the_rule_editor_lists_her_municipalitys_versions(system: StoreOnly) -> None:
    versions = await system.api("regelwerk", "/rules/versions")
    assert [(v["version"], v["status"]) for v in versions][-1] == (1, "published")
    assert {v["municipality_id"] for v in versions} == {"musterstadt"}
    # Another municipality's, or one that does not exist: not found, alike.
    for other in ("beispielheim", "nirgendwo"):
        response = await system.call(
            "regelwerk", "GET", "/rules/versions", params={"municipality": other}
        )
        assert response.status_code == 404, response.text
    response = await system.call("admin", "GET", "/rules/versions")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "municipality"


async def test_an_invalid_draft_is_refused_per_rule_and_field_and_nothing_is_written(
    system: StoreOnly,
) -> None:
    before = _rows(system)
    text = """
replace:
  - id: emp-sgb2
    need: employment
    actor: employment_agency
    measure: placement
    follow_ups: [{after_days: 0, action: "prüfen"}]
    reason: "ok"
  - id: gibt-es-nicht
    need: language
    actor: jobcenter
    measure: placement
    reason: "x"
disable: [emp-sgb3]
add:
  - id: lang-neu
    need: language
    when: {alter: 3}
    actor: jobcenter
    measure: placement
    reason: "x"
"""
    response = await system.call("regelwerk", "POST", "/rules/drafts", json={"text": text})
    assert response.status_code == 422, response.text
    errors = {(e["rule"], e["field"]): e["message"] for e in response.json()["errors"]}
    assert set(errors) == {
        ("emp-sgb2", "follow_ups.0.after_days"),
        ("gibt-es-nicht", "replace"),
        ("lang-neu", "when.alter"),
    }
    assert errors[("gibt-es-nicht", "replace")] == (
        "Regel „gibt-es-nicht“, Feld „replace“: Diese Regel-Id gibt es in der Bundestabelle nicht."
    )
    assert "größer als 0" in errors[("emp-sgb2", "follow_ups.0.after_days")]
    assert "Unbekannte Angabe" in errors[("lang-neu", "when.alter")]
    assert _rows(system) == before


def _nested(depth: int) -> Any:
    return [_nested(depth - 1)] if depth else "x"


HUGE_YAML = "disable:\n" + "".join(f"  - rule-{i:06d}\n" for i in range(30_000))
LONG_YAML = "disable:\n" + "".join(f"  - rule-{i:06d}\n" for i in range(3_300))  # ~52 KiB
ALIAS_BOMB = (
    'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    + "".join(
        f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "disable: *i\n"
)
DEEP = "add:\n  - when: " + "{any: [" * 500 + "]}" * 500 + "\n"
HOSTILE = [
    ("huge", {"text": HUGE_YAML}, "", "zu groß"),
    ("long", {"text": LONG_YAML}, "text", "Zu lang"),
    ("NUL", {"text": "disable: [care-under1]\x00"}, "text", "Steuerzeichen"),
    ("ESC", {"text": "disable: [care-under1]\x1b[31m"}, "text", "Steuerzeichen"),
    ("bidi", {"text": "disable: [care\u202e-under1]"}, "text", "Steuerzeichen"),
    ("alias bomb", {"text": ALIAS_BOMB}, "text", "Verweise"),
    ("deep", {"text": DEEP}, "text", "verschachtelt"),
    ("not yaml", {"text": "replace: [\n"}, "text", "kein gültiges YAML"),
    ("list", {"text": "- a\n- b\n"}, "text", "Zuordnung"),
    ("foreign municipality", {"text": "municipality: beispielheim\n"}, "municipality", "anderen"),
    ("unknown key", {"text": "loeschen: [emp-sgb2]\n"}, "loeschen", ""),
    ("both", {"text": "disable: []", "override": {}}, "text", "angeben"),
    ("neither", {}, "text", "angeben"),
    ("override not a list", {"override": {"disable": "emp-sgb2"}}, "disable", "Liste"),
    ("override deep", {"override": {"add": [_nested(40)]}}, "text", "verschachtelt"),
]


@pytest.mark.parametrize(("label", "body", "field", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_a_hostile_upload_is_refused_in_german_and_nothing_is_written(
    system: StoreOnly, label: str, body: dict[str, Any], field: str, words: str
) -> None:
    before = _rows(system)
    response = await system.call("regelwerk", "POST", "/rules/drafts", json=body)
    answer = response.json()
    if not field:  # beyond the API's limit on any request
        assert response.status_code == 413, response.text
        said = answer["detail"]
    else:
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in answer["errors"]], answer
        said = " ".join(e["message"] for e in answer["errors"])
    assert words in said, said
    assert "Input should" not in said and "Traceback" not in said
    assert _rows(system) == before


async def test_a_draft_is_saved_edited_tried_and_published_superseding_the_version_before(
    system: StoreOnly,
) -> None:
    created = await system.call(
        "regelwerk", "POST", "/rules/drafts", json={"text": "disable: [care-under1]\n"}
    )
    assert created.status_code == 201, created.text
    draft = created.json()
    assert (draft["status"], draft["created_by"]) == ("draft", "regelwerk")
    edited = await system.call(
        "regelwerk", "PUT", f"/rules/drafts/{draft['id']}", json={"text": REPLACE_EMP_SGB2}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["content_hash"] != draft["content_hash"]

    # Tried on one profile: the sample client receives Bürgergeld, so employment moves.
    published = await system.call(
        "berater1", "POST", "/rules/explain", json=_explain(municipality="musterstadt")
    )
    tried = await system.call(
        "regelwerk", "POST", "/rules/explain", json=_explain(draft_id=draft["id"])
    )
    assert published.status_code == tried.status_code == 200, tried.text
    employment = {
        name: next(r for r in answer.json()["routes"] if r["need"] == "employment")
        for name, answer in (("published", published), ("draft", tried))
    }
    assert employment["published"]["actor"] == "jobcenter"
    assert employment["draft"]["actor"] == "employment_agency"
    assert employment["draft"]["rule"] == "emp-sgb2"
    # A counsellor does not try drafts; another municipality's editor does not see this one.
    for username in ("berater1",):
        response = await system.call(
            username, "POST", "/rules/explain", json=_explain(draft_id=draft["id"])
        )
        assert response.status_code == 404, response.text

    published_before = await system.api("regelwerk", "/rules/versions")
    publish = await system.call("regelwerk", "POST", f"/rules/drafts/{draft['id']}/publish")
    assert publish.status_code == 200, publish.text
    versions = {v["id"]: v["status"] for v in await system.api("regelwerk", "/rules/versions")}
    assert versions[draft["id"]] == "published"
    old = [v["id"] for v in published_before if v["status"] == "published"]
    assert [versions[i] for i in old] == ["superseded"]
    # Routing reads the new version at once: the next dry run of musterstadt routes by it.
    now = await system.call(
        "berater1", "POST", "/rules/explain", json=_explain(municipality="musterstadt")
    )
    assert next(r for r in now.json()["routes"] if r["need"] == "employment")["actor"] == (
        "employment_agency"
    )
    # A published version stays as it is.
    again = await system.call("regelwerk", "POST", f"/rules/drafts/{draft['id']}/publish")
    assert again.status_code == 409
    edit = await system.call(
        "regelwerk", "PUT", f"/rules/drafts/{draft['id']}", json={"text": "disable: []"}
    )
    assert edit.status_code == 409
    with Session(system.engine) as session:
        actions = session.exec(
            select(AuditEvent.action, AuditEvent.object_id).where(
                col(AuditEvent.object_type) == "rule_set"
            )
        ).all()
    assert ("rules.publish", str(draft["id"])) in actions
    assert ("rules.draft_update", str(draft["id"])) in actions
    # The version before back in force, for the other tests of this module.
    text = (await system.api("regelwerk", f"/rules/versions/{old[0]}"))["text"]
    back = await system.call("regelwerk", "POST", "/rules/drafts", json={"text": text})
    await system.call("regelwerk", "POST", f"/rules/drafts/{back.json()['id']}/publish")


async def test_an_unknown_municipality_is_refused_never_routed_by_the_federal_table(
    system: StoreOnly,
) -> None:
    for path, kwargs in (("/rules", {"params": {"municipality": "nirgendwo"}}),):
        response = await system.call("berater1", "GET", path, **kwargs)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "municipality"
    response = await system.call(
        "berater1", "POST", "/rules/explain", json=_explain(municipality="nirgendwo")
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "municipality"
    # A municipality without a version of its own routes by the federal table.
    federal = await system.call(
        "berater1", "POST", "/rules/explain", json=_explain(municipality="beispielheim")
    )
    assert federal.status_code == 200, federal.text
    # And so does a case's routing activity: a non-retryable error, no routes.
    activities = CaseActivities(
        SqlDirectory(system.engine),
        InMemoryCaseEventSink(),
        MunicipalEvaluators(SqlRuleSets(system.engine)),
    )
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(
            activities.route_needs,
            RouteNeedsInput(
                case_id="case-00000000-0000-4000-8000-000000000001",
                municipality_id="nirgendwo",
                centre_kind=CentreKind.MBE,
                profile=IntakeData.model_validate(INTAKE, context={"today": TODAY}),
                needs=[Need.model_validate(need) for need in ASSESSMENT["needs"]],
                today=TODAY,
            ),
        )
    assert refused.value.non_retryable and refused.value.type == "RulesInvalid"
    assert "nicht im Verzeichnis" in str(refused.value)


async def test_another_municipalitys_draft_is_not_found_for_its_neighbours(
    system: StoreOnly,
) -> None:
    created = await system.call(
        "admin",
        "POST",
        "/rules/drafts",
        json={"municipality": "beispielheim", "override": {"disable": ["care-under1"]}},
    )
    assert created.status_code == 201, created.text
    draft_id = created.json()["id"]
    for method, path in (
        ("GET", f"/rules/versions/{draft_id}"),
        ("PUT", f"/rules/drafts/{draft_id}"),
        ("POST", f"/rules/drafts/{draft_id}/publish"),
    ):
        kwargs = {"json": {"text": "disable: []"}} if method == "PUT" else {}
        for username in ("regelwerk", "koordination"):
            response = await system.call(username, method, path, **kwargs)
            assert response.status_code in (403, 404), (username, path, response.text)
            if username == "regelwerk":
                assert response.status_code == 404
    missing = await system.call("regelwerk", "GET", "/rules/versions/2147483647")
    foreign = await system.call("regelwerk", "GET", f"/rules/versions/{draft_id}")
    assert missing.json() == foreign.json()
    shown = await system.api("admin", f"/rules/versions/{draft_id}")
    assert shown["municipality_id"] == "beispielheim" and shown["status"] == "draft"


async def test_a_json_body_nested_beyond_reason_is_refused_and_nothing_is_written(
    system: StoreOnly,
) -> None:
    before = _rows(system)
    body = '{"override": {"add": ' + "[" * 20_000 + "]" * 20_000 + "}}"
    response = await system.call(
        "regelwerk",
        "POST",
        "/rules/drafts",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert "verschachtelt" in response.json()["detail"]
    assert _rows(system) == before


async def test_rules_not_yet_saved_are_tried_on_one_profile(system: StoreOnly) -> None:
    before = _rows(system)
    tried = await system.call(
        "regelwerk",
        "POST",
        "/rules/explain",
        json=_explain(municipality="musterstadt", rules=REPLACE_EMP_SGB2),
    )
    assert tried.status_code == 200, tried.text
    employment = next(r for r in tried.json()["routes"] if r["need"] == "employment")
    assert (employment["rule"], employment["actor"]) == ("emp-sgb2", "employment_agency")
    broken = REPLACE_EMP_SGB2.replace("need: employment", "need: language")
    refused = await system.call(
        "regelwerk",
        "POST",
        "/rules/explain",
        json=_explain(municipality="musterstadt", rules=broken),
    )
    assert refused.status_code == 422, refused.text
    assert [(e["rule"], e["field"]) for e in refused.json()["errors"]] == [("emp-sgb2", "need")]
    # Another municipality's, or a counsellor (who edits no rules): not found.
    for username, municipality in (("regelwerk", "beispielheim"), ("berater1", "musterstadt")):
        response = await system.call(
            username,
            "POST",
            "/rules/explain",
            json=_explain(municipality=municipality, rules=REPLACE_EMP_SGB2),
        )
        assert response.status_code == 404, (username, response.text)
    assert _rows(system) == before
