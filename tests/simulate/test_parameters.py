"""The behaviour model's parameters file: the packaged one loads with the published survey
shares, and every kind of bad value in every section is refused with a German message that
names the field by its dotted path."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulate.parameters import DEFAULT_FILE, ParametersError, load_parameters, parse_parameters


def _raw() -> dict[str, Any]:
    data = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _with(path: str, value: Any) -> dict[str, Any]:
    """The packaged document with the field at dotted `path` set to `value`."""
    raw = copy.deepcopy(_raw())
    *parents, last = path.split(".")
    node = raw
    for part in parents:
        node = node[part]
    node[last] = value
    return raw


def _without(path: str) -> dict[str, Any]:
    raw = copy.deepcopy(_raw())
    *parents, last = path.split(".")
    node = raw
    for part in parents:
        node = node[part]
    del node[last]
    return raw


def _refused(raw: Any) -> str:
    with pytest.raises(ParametersError) as caught:
        parse_parameters(raw)
    message = str(caught.value)
    assert message.startswith("Die Parameterdatei ist ungültig: ")
    return message


def test_packaged_file_loads_with_the_published_survey_shares() -> None:
    params = load_parameters()
    assert params.survey.agreement_helped == 0.592
    assert params.survey.easier_to_keep_at_it == 0.373
    assert 0 < params.survey.unanswered_share < 0.2
    assert params.project.start.isoformat() == "2011-04-01"
    assert params.project.months == 18
    assert params.project.agreements == 4000
    assert params.project.opening_months < params.project.months


def test_packaged_file_comments_every_value_as_fact_or_assumption() -> None:
    for number, line in enumerate(DEFAULT_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assert "#" in line, f"line {number} has no comment: {line!r}"
        if ":" in line.split("#")[0] and line.split("#")[0].split(":", 1)[1].strip():
            comment = line.split("#", 1)[1]
            assert "FACT" in comment or "ASSUMPTION" in comment, f"line {number}: {line!r}"


# (dotted field, bad value, words the message must hold besides the field)
BAD_VALUES: list[tuple[str, Any, str]] = [
    # project
    ("project.months", 0, "mindestens 1"),
    ("project.agreements", -5, "mindestens 1"),
    ("project.agreements", 10**30, "höchstens 1000000"),
    ("project.start", "im Frühjahr", "Datum der Form JJJJ-MM-TT"),
    ("project.opening_months", "fünfzehn", "ganze Zahl"),
    # clients
    ("clients.second_language_share", 1.5, "höchstens 1"),
    ("clients.children_share", -0.1, "mindestens 0"),
    ("clients.literacy_need_share", "viel", "muss eine Zahl sein"),
    ("clients.qualification_share", float("inf"), "endliche Zahl"),
    ("clients.mbe_age.min", -1, "mindestens 0"),
    ("clients.german_level.A1", -2, "mindestens 0"),
    ("clients.german_level.A1", 1e300, "höchstens 1000000"),
    ("clients.german_level.A1", float("nan"), "endliche Zahl"),
    ("clients.employment", "unemployed", "Zuordnung"),
    ("clients.mbe_age", 27, "Abschnitt mit Feldern"),
    # intake
    ("intake.inbound_share", 2, "höchstens 1"),
    ("intake.days_to_draft.max", 100_000, "höchstens 3650"),
    ("intake.days_to_signature.min", 1.5, "ganze Zahl"),
    ("intake.extra_need_share", None, "Zahl"),
    # partners
    ("partners.acknowledge_share", -0.5, "mindestens 0"),
    ("partners.complete_days.min", "bald", "ganze Zahl"),
    ("partners.outcome.partly", "oft", "muss eine Zahl sein"),
    # counsellors
    ("counsellors.missed_share", 1.01, "höchstens 1"),
    ("counsellors.late_days.max", -3, "mindestens 0"),
    # closures
    ("closures.closed_within_project_share", -1, "mindestens 0"),
    ("closures.after_reviews.max", 4000, "höchstens 3650"),
    # survey
    ("survey.agreement_helped", 59.2, "höchstens 1"),
    ("survey.easier_to_keep_at_it", "37,3 %", "muss eine Zahl sein"),
    ("survey.unanswered_share", True, "angegeben ist true"),
    ("clients.children_share", "0.5", "muss eine Zahl sein"),
    ("project.months", True, "ganze Zahl"),
]


@pytest.mark.parametrize(("path", "value", "words"), BAD_VALUES)
def test_bad_value_is_refused_naming_the_dotted_field(path: str, value: Any, words: str) -> None:
    message = _refused(_with(path, value))
    assert f"{path}: " in message
    assert words in message


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("clients", "jmd_age"),
        ("intake", "days_to_assessment"),
        ("partners", "acknowledge_working_days"),
        ("counsellors", "on_time_days"),
        ("closures", "after_reviews"),
    ],
)
def test_day_range_with_min_above_max_is_refused(section: str, field: str) -> None:
    message = _refused(_with(f"{section}.{field}", {"min": 30, "max": 3}))
    assert f"{section}.{field}: min (30) ist größer als max (3)." in message


@pytest.mark.parametrize(
    "section", ["project", "clients", "intake", "partners", "counsellors", "closures", "survey"]
)
def test_unknown_field_in_each_section_is_refused(section: str) -> None:
    message = _refused(_with(f"{section}.tippfehler", 1))
    assert f"{section}.tippfehler: ist kein bekanntes Feld" in message


@pytest.mark.parametrize(
    "section", ["project", "clients", "intake", "partners", "counsellors", "closures", "survey"]
)
def test_missing_section_is_refused(section: str) -> None:
    assert f"{section}: fehlt." in _refused(_without(section))


def test_missing_field_is_refused() -> None:
    assert "partners.silent_share: fehlt." in _refused(_without("partners.silent_share"))


@pytest.mark.parametrize(
    ("path", "key", "words"),
    [
        ("clients.german_level", "D1", "ein Deutschniveau (none, A1, A2, B1, B2, C1, C2)"),
        ("clients.employment", "retired", "eine Erwerbssituation"),
        ("clients.residence", "visa", "ein Aufenthaltsstatus"),
        ("clients.languages", "deu", "ISO 639-1"),
        ("clients.languages", "AR", "ISO 639-1"),
        ("clients.languages", "prs", "ISO 639-1"),  # Dari: ISO 639-3 only
        ("intake.inbound_sources", "migration_counselling", "die Art eines Partners"),
        ("intake.inbound_sources", "police", "die Art eines Partners"),
        ("partners.outcome", "excellent", "ein Ergebnis"),
        ("counsellors.goal_progress", "stalled", "ein Stand eines Ziels"),
        ("closures.reasons", "transferred", "ein Abschlussgrund"),
        ("closures.before_signing_reasons", "died", "ein Abschlussgrund"),
    ],
)
def test_unknown_key_of_a_weight_dict_is_refused_naming_it(path: str, key: str, words: str) -> None:
    raw = _raw()
    section, field = path.split(".")
    raw[section][field] = {**raw[section][field], key: 0.1}
    message = _refused(raw)
    assert f"{path}: Unbekannter Schlüssel '{key}'" in message
    assert words in message


def test_control_character_key_is_shown_escaped() -> None:
    raw = _raw()
    raw["clients"]["languages"] = {**raw["clients"]["languages"], "a\x00r": 0.1}
    message = _refused(raw)
    assert "clients.languages: Unbekannter Schlüssel 'a\\x00r'" in message
    assert "\x00" not in message


def test_control_character_field_name_is_shown_escaped() -> None:
    message = _refused(_with("survey.\x1b[31mrot", 0.5))
    assert "survey.\\x1b[31mrot: ist kein bekanntes Feld" in message
    assert "\x1b" not in message


def test_huge_key_is_cut_in_the_message() -> None:
    raw = _raw()
    raw["clients"]["residence"] = {"x" * 10_000: 1.0}
    message = _refused(raw)
    assert "clients.residence: Unbekannter Schlüssel 'xxxx" in message
    assert len(message) < 500


@pytest.mark.parametrize(
    "path",
    [
        "clients.german_level",
        "clients.languages",
        "clients.employment",
        "clients.residence",
        "intake.inbound_sources",
        "partners.outcome",
        "counsellors.goal_progress",
        "closures.reasons",
        "closures.before_signing_reasons",
    ],
)
def test_weight_dict_must_not_be_empty_nor_all_zero(path: str) -> None:
    assert f"{path}: Die Gewichte dürfen nicht leer sein." in _refused(_with(path, {}))
    raw = _raw()
    section, field = path.split(".")
    raw[section][field] = dict.fromkeys(raw[section][field], 0)
    assert f"{path}: Die Gewichte ergeben zusammen 0" in _refused(raw)


@pytest.mark.parametrize(
    ("section", "fields"),
    [
        ("partners", ("acknowledge_share", "decline_share", "silent_share")),
        ("counsellors", ("on_time_share", "late_share", "missed_share")),
    ],
)
def test_shares_that_do_not_add_up_to_one_are_refused(
    section: str, fields: tuple[str, str, str]
) -> None:
    message = _refused(_with(f"{section}.{fields[0]}", 0.9))
    assert f"{section}: {fields[0]}, {fields[1]} und {fields[2]} ergeben zusammen" in message
    assert "nicht 1." in message


def test_every_error_is_reported_at_once() -> None:
    raw = _with("survey.agreement_helped", 2)
    raw["project"]["months"] = 0
    message = _refused(raw)
    assert "survey.agreement_helped: darf höchstens 1 sein" in message
    assert "project.months: muss mindestens 1 sein" in message


@pytest.mark.parametrize("document", [None, "Parameter", [1, 2, 3]])
def test_document_that_is_not_a_mapping_is_refused(document: Any) -> None:
    message = _refused(document)
    assert "Datei: muss aus den Abschnitten project, clients, intake" in message


def test_file_that_is_not_yaml_is_refused_in_german(tmp_path: Path) -> None:
    file = tmp_path / "kaputt.yaml"
    file.write_text("project: {start: [2011-04-01\nclients: :\n", encoding="utf-8")
    with pytest.raises(ParametersError, match=r"Die Parameterdatei kaputt\.yaml ist nicht lesbar"):
        load_parameters(file)


def test_file_that_is_not_text_is_refused_in_german(tmp_path: Path) -> None:
    file = tmp_path / "binaer.yaml"
    file.write_bytes(b"\xff\xfe\x00\x81 kein Text")
    with pytest.raises(ParametersError, match=r"Die Parameterdatei binaer\.yaml ist nicht lesbar"):
        load_parameters(file)


def test_missing_file_is_refused_in_german(tmp_path: Path) -> None:
    with pytest.raises(ParametersError, match=r"Die Parameterdatei fehlt\.yaml ist nicht lesbar"):
        load_parameters(tmp_path / "fehlt.yaml")


def test_edited_copy_of_the_file_loads(tmp_path: Path) -> None:
    file = tmp_path / "eigene.yaml"
    raw = _with("survey.unanswered_share", 0.0)
    file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert load_parameters(file).survey.unanswered_share == 0.0
