"""The agreement document as a PDF (fpdf2): the layout of api/agreement_layout.py (the signed
text, exactly as the workflow rendered it, and the case's data around it), with the case
number, the version and the document's SHA-256 on every page, so each printed sheet can be
matched to the signed version.

The fonts ship with the package (`api/ui/fonts/`, Noto, SIL Open Font License): Noto Sans for
Latin and Cyrillic script, Noto Naskh Arabic for Arabic and Dari, each the other's fallback
for a line that mixes scripts. Text shaping through HarfBuzz (`uharfbuzz`) joins Arabic
letters and orders right-to-left runs; a right-to-left line is set right-aligned. Text is
left-aligned, never justified.
"""

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from api.agreement_layout import AgreementLayout, Line, Section
from api.ui.formats import german_date, german_datetime

FONTS = Path(__file__).parent / "fonts"
SANS, NASKH = "NotoSans", "NotoNaskhArabic"
BODY = 10
LEADING = 5.2
NASKH_SCALE = 1.15
# Column widths of the tables by their last column: a date is short, a partner's name long.
WIDTHS = {"bis": (12, 133, 25), "verantwortlich": (12, 88, 70)}


def add_shipped_fonts(pdf: FPDF) -> None:
    """Noto Sans and Noto Naskh Arabic, regular and bold, with HarfBuzz text shaping on: the
    fonts of every PDF Lotse makes (the agreement, the client's copy)."""
    for family in (SANS, NASKH):
        pdf.add_font(family, "", str(FONTS / f"{family}-Regular.ttf"))
        pdf.add_font(family, "B", str(FONTS / f"{family}-Bold.ttf"))
    pdf.set_text_shaping(True)


class AgreementPdf(FPDF):
    def __init__(self, layout: AgreementLayout) -> None:
        super().__init__(format="A4")
        self.layout = layout
        add_shipped_fonts(self)
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(auto=True, margin=22)
        self.set_title(f"Integrationsvereinbarung {layout.number}, Fassung {layout.version}")
        self.set_creator("Lotse")

    def use(self, line: Line, style: str = "", size: float = BODY) -> None:
        """The font for a line: Naskh for right-to-left text, Sans otherwise, each falling back
        to the other for the few characters of the other script (a name, a number)."""
        main, other = (NASKH, SANS) if line.rtl else (SANS, NASKH)
        # Naskh's letters are smaller than Sans' at the same size: a step up reads alike.
        self.set_font(main, style, size * NASKH_SCALE if line.rtl else size)
        self.set_fallback_fonts([other])
        self.set_text_shaping(True, direction="rtl" if line.rtl else "ltr")

    def write_line(self, line: Line, style: str = "", size: float = BODY) -> None:
        self.use(line, style, size)
        self.multi_cell(
            0,
            LEADING * size / BODY * (NASKH_SCALE if line.rtl else 1),
            line.text or " ",
            align="R" if line.rtl else "L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def plain(self, text: str, style: str = "", size: float = BODY) -> None:
        self.write_line(Line(text, False), style, size)

    def header(self) -> None:
        self.set_text_color(90)
        layout = self.layout
        self.plain(
            f"Integrationsvereinbarung · Fall {layout.number} · Fassung {layout.version}", size=8
        )
        self.ln(2)
        self.set_text_color(0)

    def footer(self) -> None:
        # On every page: the hash that the signatures refer to.
        self.set_y(-17)
        self.set_text_color(60)
        self.set_font(SANS, "", 7)
        self.set_text_shaping(True, direction="ltr")
        self.cell(
            0, 4, f"SHA-256: {self.layout.hash}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.cell(0, 4, f"Seite {self.page_no()} von {{nb}}", align="C")


def _letterhead(pdf: AgreementPdf) -> None:
    head = pdf.layout.letterhead
    pdf.plain(head.name, "B", 12)
    for text in (head.address, " · ".join(x for x in (head.phone, head.email) if x)):
        if text:
            pdf.plain(text, size=9)
    if pdf.layout.contact:
        pdf.plain(f"Ansprechperson: {pdf.layout.contact}", size=9)
    pdf.ln(4)


def _section(pdf: AgreementPdf, section: Section) -> None:
    if not section.translated:
        pdf.ln(3)
    pdf.set_text_color(70 if section.translated else 0)
    pdf.write_line(section.heading, "B", 11)
    if section.rows:
        pdf.use(Line("", False), size=9.5)
        with pdf.table(
            col_widths=WIDTHS.get(section.columns[-1], (12, 108, 50)),
            text_align="LEFT",
            line_height=5,
            first_row_as_headings=True,
        ) as table:
            table.row(section.columns)
            for cells in section.rows:
                table.row(cells)
        pdf.ln(1)
    for line in section.lines:
        pdf.write_line(line)
    pdf.set_text_color(0)


def _signatures(pdf: AgreementPdf) -> None:
    layout = pdf.layout
    pdf.ln(4)
    for heading in layout.signature_headings:
        pdf.write_line(heading, "B", 11)
    place = layout.letterhead.municipality
    for signature in layout.fields:
        pdf.ln(8)
        when = german_date(signature.signed_at) if signature.signed_at else "____________"
        pdf.plain(f"Ort, Datum: {place or '____________'}, {when}")
        pdf.ln(8)
        pdf.plain("_" * 45)
        pdf.plain(f"{signature.party}: {signature.printed_name}", size=9)
    if layout.signed:
        pdf.ln(6)
        pdf.plain("Unterschriftsnachweis", "B", 11)
        for signature in layout.signed:
            assert signature.signed_at is not None
            pdf.plain(
                f"{signature.party} ({signature.printed_name}) hat Fassung {layout.version} am "
                f"{german_datetime(signature.signed_at)} unterschrieben.",
                size=9,
            )
        pdf.plain(f"Unterschrieben wurde der Text mit SHA-256 {layout.hash}.", size=8)


def agreement_pdf(layout: AgreementLayout) -> bytes:
    pdf = AgreementPdf(layout)
    pdf.add_page()
    _letterhead(pdf)
    for number, line in enumerate(layout.title):
        pdf.write_line(line, "B", 15 if number == 0 else 13)
    for line in layout.intro:
        pdf.write_line(line, size=9)
    pdf.set_text_color(90)
    pdf.plain(f"erstellt am {german_datetime(layout.created_at)}", size=8)
    pdf.set_text_color(0)
    pdf.ln(3)
    born = f", geboren am {german_date(layout.birth_date)}" if layout.birth_date else ""
    pdf.plain(f"Klientin/Klient: {layout.client_name}{born}", "B")
    pdf.ln(1)
    for line in layout.parties:
        pdf.write_line(line)
    for section in layout.sections:
        _section(pdf, section)
    _signatures(pdf)
    return bytes(pdf.output())
