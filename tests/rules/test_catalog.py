"""Rule files: the packaged catalogs, the version hash, override merging and the errors a bad
file gets (each naming the file, the rule id and the field)."""

import hashlib
import json
import textwrap
from importlib import resources
from pathlib import Path

import pytest

from rules import CatalogError, check_files, default_catalog, load_catalog, load_catalog_file
from rules.catalog import packaged_names

ROUTING_TABLE_IDS = [
    "lang-literacy",
    "lang-youth",
    "lang-parents",
    "lang-integration",
    "lang-job",
    "emp-sgb2",
    "emp-sgb3",
    "train-guidance",
    "cred-counselling",
    "cred-regulated",
    "cred-vocational",
    "cred-academic",
    "care-place",
    "care-under1",
    "res-urgent",
    "res-routine",
    "age-jmd",
    "other",
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        load_catalog_file(path)
    assert caught.value.errors == check_files([path])
    return caught.value.errors


def test_default_catalog_is_the_routing_table_in_order() -> None:
    catalog = load_catalog()
    assert [rule.id for rule in catalog.rules] == ROUTING_TABLE_IDS
    assert {rule.id: rule.priority for rule in catalog.rules}["res-urgent"] == 1
    assert all(rule.follow_ups for rule in catalog.rules)


def test_catalogs_are_package_data_not_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resources.files("rules").joinpath("catalog", "default.yaml").is_file()
    assert packaged_names() == ["default", "musterstadt"]
    before = (load_catalog().version, load_catalog("musterstadt").version)
    monkeypatch.chdir(tmp_path)
    load_catalog.cache_clear()
    default_catalog.cache_clear()
    assert (load_catalog().version, load_catalog("musterstadt").version) == before
    assert check_files() == []


def test_version_is_sha256_of_the_canonical_json_of_the_merged_rules() -> None:
    catalog = load_catalog("musterstadt")
    canonical = json.dumps(
        [rule.model_dump(mode="json") for rule in catalog.rules],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert catalog.version == hashlib.sha256(canonical.encode()).hexdigest()
    assert catalog.to_json()["version"] == catalog.version


def test_same_rules_from_another_file_give_the_same_version(tmp_path: Path) -> None:
    packaged = resources.files("rules").joinpath("catalog", "default.yaml")
    copy = write(tmp_path, "kopie.yaml", packaged.read_text(encoding="utf-8"))
    assert load_catalog_file(copy).version == load_catalog().version


def test_override_file_merges_onto_the_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dorf.yaml",
        """\
        kind: override
        municipality: dorf
        add:
          - id: lang-online
            need: language
            actor: language_course_provider
            measure: online_course
            reason: "Online-Kurs"
          - id: lang-first
            before: lang-literacy
            need: language
            when: {literacy_need: false, german_rank: {ge: C1}}
            actor: language_course_provider
            measure: none_needed
            reason: "Deutsch {german_level}"
          - id: care-late
            after: care-place
            need: childcare
            actor: childcare_office
            measure: waiting_list
            reason: "Warteliste"
        disable: [other]
        """,
    )
    ids = [rule.id for rule in load_catalog_file(path).rules]
    assert ids[:7] == [
        "lang-first",
        "lang-literacy",
        "lang-youth",
        "lang-parents",
        "lang-integration",
        "lang-job",
        "lang-online",  # no anchor: at the end of its need kind
    ]
    assert ids[ids.index("care-place") + 1] == "care-late"
    assert "other" not in ids


def test_schema_errors_name_file_rule_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "kaputt.yaml",
        """\
        kind: catalog
        name: kaputt
        rules:
          - id: typo-fact
            need: language
            when: {german_levle: {lt: B1}}
            actor: language_course_provider
            measure: integration_course
            reason: "x"
          - id: bad-operand
            need: language
            when: {any: [{age: {lt: "jung"}}]}
            actor: language_course_provider
            measure: integration_course
            reason: "x"
          - id: bad-actor
            need: other
            actor: police
            measure: counselling
            reason: "x"
          - id: bad-placeholder
            need: other
            actor: migration_counselling
            measure: counselling
            reason: "{qualification} {alter}"
          - id: qual-outside-credential
            need: language
            when: {qual_kind: academic}
            actor: language_course_provider
            measure: integration_course
            reason: "x"
          - id: typo-field
            need: other
            actor: migration_counselling
            measure: counselling
            reason: "x"
            folow_ups: []
          - id: bad-level
            need: language
            when: {german_rank: {ge: B7}}
            actor: language_course_provider
            measure: integration_course
            reason: "x"
        """,
    )
    errors = errors_of(path)
    expected = [
        ("typo-fact", "when.german_levle", "unknown fact"),
        ("bad-operand", "when.any[0].age.lt", "whole number"),
        ("bad-actor", "actor", "language_course_provider"),
        ("bad-placeholder", "reason", "{qualification}"),
        ("qual-outside-credential", "when.qual_kind", "credential"),
        ("typo-field", "folow_ups", "Extra inputs"),
        ("bad-level", "when.german_rank.ge", "B7"),
    ]
    assert len(errors) == len(expected)
    for error, (rule_id, field, words) in zip(errors, expected, strict=True):
        assert error.startswith(f"{path}: rule '{rule_id}': field '{field}': "), error
        assert words in error


def test_duplicate_rule_ids_and_yaml_keys_are_errors(tmp_path: Path) -> None:
    rule = "  - {id: same, need: other, actor: migration_counselling, measure: c, reason: x}\n"
    duplicates = write(tmp_path, "doppelt.yaml", "kind: catalog\nname: d\nrules:\n" + rule * 2)
    assert errors_of(duplicates) == [f"{duplicates}: rule 'same': field 'id': duplicate rule id"]
    keys = write(tmp_path, "schluessel.yaml", "kind: catalog\nname: a\nname: b\nrules: []\n")
    (error,) = errors_of(keys)
    assert "schluessel.yaml" in error and "duplicate key 'name'" in error


def test_override_errors_name_the_rule_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "stadt.yaml",
        """\
        kind: override
        municipality: stadt
        replace:
          - {id: no-such-rule, need: other, actor: migration_counselling, measure: c, reason: x}
          - {id: other, need: language, actor: migration_counselling, measure: c, reason: x}
        add:
          - {id: emp-sgb2, need: employment, actor: jobcenter, measure: p, reason: x}
          - {id: new-a, before: gone, need: other, actor: jobcenter, measure: p, reason: x}
          - {id: new-b, after: lang-job, need: other, actor: jobcenter, measure: p, reason: x}
        disable: [not-there, res-urgent]
        """,
    )
    errors = errors_of(path)
    assert errors == [
        f"{path}: rule 'no-such-rule': field 'replace': unknown rule id (not in the default "
        "catalog)",
        f"{path}: rule 'other': field 'need': a replacement keeps the need 'other'",
        f"{path}: rule 'emp-sgb2': field 'id': duplicate rule id (already in the catalog)",
        f"{path}: rule 'new-a': field 'before': unknown rule id 'gone'",
        f"{path}: rule 'new-b': field 'after': 'lang-job' routes another need ('language')",
        f"{path}: rule 'not-there': field 'disable': unknown rule id (not in the default catalog)",
    ]


def test_top_level_errors_and_unreadable_files(tmp_path: Path) -> None:
    wrong = write(tmp_path, "falsch.yaml", "kind: override\nmunicipality: Groß Stadt\n")
    (error,) = errors_of(wrong)
    assert error.startswith(f"{wrong}: field 'municipality': ")
    assert check_files([tmp_path / "fehlt.yaml"]) == [
        f"{tmp_path / 'fehlt.yaml'}: cannot read: No such file or directory"
    ]
    (yaml_error,) = errors_of(write(tmp_path, "syntax.yaml", "rules: [\n"))
    assert "YAML error" in yaml_error


def test_check_files_reports_only_the_bad_files(tmp_path: Path) -> None:
    good = write(tmp_path, "gut.yaml", "kind: override\nmunicipality: gut\ndisable: [other]\n")
    bad = write(tmp_path, "schlecht.yaml", "kind: override\nmunicipality: s\ndisable: [x]\n")
    errors = check_files([good, bad])
    assert errors == [
        f"{bad}: rule 'x': field 'disable': unknown rule id (not in the default catalog)"
    ]


def test_municipality_ids_are_checked_before_touching_files() -> None:
    with pytest.raises(ValueError, match="municipality"):
        load_catalog("../default")
    assert load_catalog("musterstadt") is load_catalog("musterstadt")
