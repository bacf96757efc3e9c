"""The bilingual editions of the agreement text (the render activity, no server): every edition
has a complete translation file, a bilingual text follows each German block with its
translation and says the German text binds, the hash covers the translation, and the
German-only text is what it was before editions."""

import pytest
import yaml
from pydantic import ValidationError
from temporalio.testing import ActivityEnvironment

from activities.agreement_text import AgreementDocumentInput, sha256
from activities.case import CaseActivities
from activities.case_events import InMemoryCaseEventSink
from activities.directory import InMemoryDirectory
from activities.edition_texts import EDITIONS_DIR, EditionWording, edition_texts
from domain.actions import RenderedDocument, SignatureEdition
from domain.case import Stage
from domain.clocks import Clocks
from domain.editions import EDITIONS, UNKNOWN_EDITION, edition_code, suggested_edition
from domain.stages import request_signature
from domain.stages_draft import draft_agreement
from tests.samples import MUNICIPALITY, NOW, PARTNERS, draft, in_stage, ok
from workflows import agreement_calls

ENV = ActivityEnvironment()


def activities(sink: InMemoryCaseEventSink) -> CaseActivities:
    directory = InMemoryDirectory(
        PARTNERS, {MUNICIPALITY: "Musterstadt"}, {"mbe-mitte": "MBE Musterstadt-Mitte"}
    )
    return CaseActivities(directory, sink)


async def rendered(language: str | None) -> tuple[RenderedDocument, str]:
    state = in_stage(Stage.AWAITING_SIGNATURE)
    input = agreement_calls.document_input(state, Clocks(), language)
    sink = InMemoryCaseEventSink()
    document = await ENV.run(activities(sink).render_agreement, input)
    return document, sink.documents[(input.case_id, input.version, document.hash)]


def test_every_edition_has_a_complete_translation_file_marked_unreviewed() -> None:
    files = {path.stem for path in EDITIONS_DIR.glob("*.yaml")}
    assert files == set(EDITIONS)
    for code in EDITIONS:
        raw = yaml.safe_load((EDITIONS_DIR / f"{code}.yaml").read_text(encoding="utf-8"))
        # Every sentence, no extra key (a typo would otherwise go unseen).
        assert set(raw["texts"]) == set(EditionWording.model_fields), code
        texts = edition_texts(code)
        assert texts.language == code
        assert texts.reviewed is False  # starter translations nobody has checked yet
        # The placeholders the renderer fills, and no others.
        assert "{municipality}" in texts.texts.consent_intro
        assert "{client}" in texts.texts.parties and "{months}" in texts.texts.review_first


async def test_the_german_only_text_is_unchanged_by_editions() -> None:
    state = in_stage(Stage.AWAITING_SIGNATURE)
    before = AgreementDocumentInput.model_validate(
        agreement_calls.document_input(state, Clocks()).model_dump(exclude={"language"})
    )
    plain, text = await rendered(None)
    sink = InMemoryCaseEventSink()
    again = await ENV.run(activities(sink).render_agreement, before)
    # An input without the field (as recorded before editions) renders the same text.
    assert again.hash == plain.hash and plain.language is None
    assert text.startswith("INTEGRATIONSVEREINBARUNG\nFall ") and "Verbindlich" not in text


async def test_an_arabic_edition_follows_each_german_block_with_its_translation() -> None:
    plain, german = await rendered(None)
    document, text = await rendered("ar")
    assert document.language == "ar" and document.hash == sha256(text) != plain.hash
    arabic = edition_texts("ar").texts
    lines = text.splitlines()
    # Each German heading comes first, its Arabic heading after it and before the next one.
    order = [
        "1. Ziele",
        arabic.goals,
        "2. Maßnahmen",
        arabic.measures,
        "3. Überprüfung",
        arabic.review,
        "4. Einwilligung in die Weitergabe von Daten",
        arabic.consent,
        "Unterschriften",
        arabic.signatures,
    ]
    positions = [lines.index(heading) for heading in order]
    assert positions == sorted(positions)
    # The German text is all there, line for line, in its order.
    kept = [line for line in lines if line in german.splitlines()]
    assert [x for x in german.splitlines() if x] == [x for x in kept if x]
    # Binding German, unreviewed translation: said under the title in both languages.
    assert (
        "Zweisprachige Fassung: Deutsch und Arabisch. Verbindlich ist allein der deutsche "
        "Text. Die Übersetzung ist noch nicht geprüft."
    ) in lines
    assert f"{arabic.binding} {arabic.unreviewed}" in lines
    assert "  " + arabic.consent_intro.format(municipality="Musterstadt") in lines
    assert "  " + arabic.review_first.format(months=Clocks().first_review_months) in lines


async def test_the_case_keeps_the_edition_of_the_version() -> None:
    document, _ = await rendered("uk")
    drafted = ok(draft_agreement(in_stage(Stage.DRAFTING), draft(), NOW))
    state = ok(request_signature(drafted, document, NOW))
    assert state.documents[-1].language == "uk"
    assert state.documents[-1].hash == document.hash


@pytest.mark.parametrize(
    ("sent", "kept"),
    # Surrounding whitespace goes, as in every payload (StrictModel); nothing else is guessed.
    [("ar", "ar"), (" tr", "tr"), ("ar\n", "ar"), ("fa", "prs"), ("prs", "prs"), (None, None)],
)
def test_a_signature_request_takes_a_language_with_a_translation(
    sent: str | None, kept: str | None
) -> None:
    assert SignatureEdition.model_validate({"language": sent}).language == kept


@pytest.mark.parametrize(
    "hostile",
    ["de", "xx", "AR", "a r", "ar\x00", "ar; DROP TABLE", "../ar", "a" * 9, "", "ا", 7, ["ar"]],
)
def test_a_signature_request_refuses_a_language_without_a_translation(hostile: object) -> None:
    with pytest.raises(ValidationError) as refused:
        SignatureEdition.model_validate({"language": hostile})
    [error] = refused.value.errors()
    assert error["loc"] == ("language",)
    if error["type"] == "value_error":
        assert error["msg"] == f"Value error, {UNKNOWN_EDITION}"


def test_the_intake_language_suggests_the_edition() -> None:
    assert suggested_edition(["de", "ar", "en"]) == "ar"
    assert suggested_edition(["fa"]) == "prs"
    assert suggested_edition(["de", "fr"]) is None
    assert edition_code("prs") == "prs" and edition_code("kmr") is None
