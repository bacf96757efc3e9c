"""The agreement as a document people sign (api/agreement_layout.py, api/ui/pdf.py), without a
server: the archived text laid out with the centre's letterhead, the client's name and birth
date, the case number, goals and measures as tables with the partner of each measure,
signature fields with printed names, place and date, and after signing the signature record;
a bilingual Arabic edition in the PDF, its text extracted in logical order."""

import io
import re
from datetime import UTC, datetime

import pytest

from activities.agreement_text import render_agreement_text, sha256
from activities.edition_texts import edition_texts
from api.agreement_layout import AgreementLayout, agreement_layout, is_rtl
from api.case_archive import Document
from api.ui.pdf import FONTS, agreement_pdf
from domain.case import CaseState, Stage
from domain.clocks import Clocks
from store.reads.centres import Letterhead
from tests.samples import PARTNERS, in_stage
from workflows import agreement_calls

pypdf = pytest.importorskip("pypdf", reason="pypdf (dev extra) reads the PDF's text")

HEAD = Letterhead(
    name="MBE Musterstadt-Mitte",
    address="Hauptstraße 1, 12345 Musterstadt",
    phone="0301 234567",
    email="mbe-mitte@example.org",
    municipality="Musterstadt",
)
SIGNED_AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def case(language: str | None, signed: bool = False) -> tuple[CaseState, Document]:
    state = in_stage(Stage.AWAITING_SIGNATURE)
    state.number = "MUS-2026-0147"
    input = agreement_calls.document_input(state, Clocks(), language)
    edition = edition_texts(language) if language else None
    partners = {p.id: p for p in PARTNERS}
    text = render_agreement_text(input, partners, "Musterstadt", HEAD.name, edition)
    document = Document(
        version=input.version,
        hash=sha256(text),
        text=text,
        created_at=SIGNED_AT,
        signed={"client": SIGNED_AT, "counsellor": SIGNED_AT} if signed else {},
        language=language,
    )
    return state, document


def laid_out(language: str | None, signed: bool = False) -> AgreementLayout:
    state, document = case(language, signed)
    return agreement_layout(document, state, HEAD, "Katrin Schulte")


def pdf_text(layout: AgreementLayout) -> str:
    reader = pypdf.PdfReader(io.BytesIO(agreement_pdf(layout)))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """Wrapped lines joined: a sentence may break anywhere on the page."""
    return " ".join(text.split())


def test_the_layout_keeps_every_line_of_the_signed_text() -> None:
    layout = laid_out("ar")
    _, document = case("ar")
    shown = [line.text for line in (*layout.title, *layout.intro, *layout.parties)]
    for section in layout.sections:
        shown += [section.heading.text, *(line.text for line in section.lines)]
        shown += [" ".join(row) for row in section.rows]
    shown += [line.text for line in layout.signature_headings]
    for line in document.text.splitlines():
        if not line.strip() or re.fullmatch(r"\s*\S+: _+", line):
            continue  # blank lines, and the blank signature lines the fields replace
        words = line.replace(" — verantwortlich:", "").replace(" (bis ", " ").split()
        assert any(all(w.strip("()") in s for w in words) for s in shown), line


def test_goals_and_measures_are_tables_naming_the_partner_of_each_measure() -> None:
    layout = laid_out(None)
    goals, measures = layout.sections[0], layout.sections[1]
    assert goals.columns == ("Nr.", "Ziel", "bis")
    assert goals.rows[0] == ("1.1", "Deutsch auf B1", "01.03.2026")
    assert measures.columns == ("Nr.", "Maßnahme", "verantwortlich")
    partners = [row[2] for row in measures.rows]
    assert "Sprachkursträger „VHS Musterstadt“" in partners
    assert "Jobcenter „Jobcenter Musterstadt“" in partners
    assert not goals.lines and not measures.lines


def test_the_pdf_has_letterhead_client_number_signature_fields_and_no_record_unsigned() -> None:
    layout = laid_out(None)
    text = pdf_text(layout)
    for expected in (
        "MBE Musterstadt-Mitte",
        "Hauptstraße 1, 12345 Musterstadt",
        "0301 234567 · mbe-mitte@example.org",
        "Ansprechperson: Katrin Schulte",
        "Fall MUS-2026-0147 · Fassung 2",
        "Klientin/Klient: Amina Karimi, geboren am",
        "Ort, Datum: Musterstadt, ____________",
        "Klientin/Klient: Amina Karimi",
        "Beratungsstelle: Katrin Schulte für „MBE Musterstadt-Mitte“",
        f"SHA-256: {layout.hash}",
        "Sprachkursträger „VHS",
    ):
        assert expected in text, expected
    assert "Unterschriftsnachweis" not in text
    assert "case-" not in text  # the number, never the id


def test_after_signing_the_pdf_carries_the_signature_record() -> None:
    layout = laid_out(None, signed=True)
    text = flat(pdf_text(layout))
    assert "Unterschriftsnachweis" in text
    assert "Klientin/Klient (Amina Karimi) hat Fassung 2 am 01.12.2026 10:30 unterschrieben" in text
    assert "Ort, Datum: Musterstadt, 01.12.2026" in text
    assert f"Unterschrieben wurde der Text mit SHA-256 {layout.hash}" in text


def test_a_bilingual_arabic_pdf_reads_german_and_arabic_in_logical_order() -> None:
    arabic = edition_texts("ar").texts
    text = flat(pdf_text(laid_out("ar")))
    # Arabic sentences, word by word in reading order (shaped glyphs map back to letters).
    sentences = [
        "النص الألماني هو النص الملزم",
        "تساعدك هذه الترجمة على فهمه",
        "لم تتم مراجعة هذه الترجمة بعد",
        "إذا تولت جهة أخرى من النوع نفسه أحد هذه الإجراءات",
        "يمكنني سحب موافقتي في أي وقت",
    ]
    for sentence in sentences:
        assert sentence in text, sentence
    # Each German block is followed by its translation, before the next German block.
    order = [
        "Verbindlich ist allein der deutsche Text.",
        "النص الألماني هو النص الملزم",
        "3. Überprüfung",
        "بعد ذلك مرة كل",
        "4. Einwilligung in die Weitergabe von Daten",
        "Andere Partner bekommen über Lotse keine Daten von mir.",
        "إذا تولت جهة أخرى",
        "Unterschriften",
        arabic.signatures,
    ]
    found = [text.index(x) for x in order]
    assert found == sorted(found)


def test_right_to_left_lines_are_told_by_their_first_strong_character() -> None:
    assert is_rtl("  النص الألماني") and is_rtl("1. الأهداف")
    assert not is_rtl("  Ziele MUS-2026") and not is_rtl("Цілі") and not is_rtl("2026")


def test_the_fonts_ship_with_the_package_under_their_licence() -> None:
    names = {path.name for path in FONTS.iterdir()}
    assert {"NotoSans-Regular.ttf", "NotoNaskhArabic-Regular.ttf", "OFL.txt"} <= names
    assert "SIL OPEN FONT LICENSE" in (FONTS / "OFL.txt").read_text(encoding="utf-8")


def test_a_version_the_case_no_longer_carries_lays_out_from_its_text_alone() -> None:
    state, document = case("ar")
    # Compacted out of the state: the archive has the text, not which edition it was.
    unknown = Document(
        version=document.version,
        hash=document.hash,
        text=document.text,
        created_at=document.created_at,
        signed={},
        language=None,
    )
    layout = agreement_layout(unknown, state, HEAD, "")
    assert [line.text for line in layout.title] == ["INTEGRATIONSVEREINBARUNG", "اتفاقية الاندماج"]
    assert layout.title[1].rtl and layout.intro[0].text.startswith("Fall MUS-2026-0147")
    assert [s.translated for s in layout.sections] == [False, True] * 4
    # Without a contact person the centre signs by its name.
    assert layout.fields[1].printed_name == "MBE Musterstadt-Mitte"
