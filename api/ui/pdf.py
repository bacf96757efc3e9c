"""The agreement document as a PDF (fpdf2): the text the client signs, exactly as the workflow
rendered it, with the case, the version and the document's SHA-256 on every page, so each
printed sheet can be matched to the signed version.

Unicode needs an embedded TrueType font: DejaVu Sans from the operating system (Debian's
`fonts-dejavu-core`) when present. Without it the PDF falls back to a core font, which knows
only Latin-1: other characters are replaced by "?" there; the hash on every page still names
the exact text, which the HTML print view always shows unchanged.
"""

import re
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from api.case_archive import Document
from api.ui.formats import german_datetime

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FONT = "DejaVuSans.ttf"
FONT_BOLD = "DejaVuSans-Bold.ttf"
# The numbered sections of activities/agreement_text.py and its signature block.
HEADING = re.compile(r"\d+\. |Unterschriften$")


def _font_dir() -> Path | None:
    return next((d for d in FONT_DIRS if (d / FONT).is_file() and (d / FONT_BOLD).is_file()), None)


class AgreementPdf(FPDF):
    def __init__(self, case_id: str, document: Document) -> None:
        super().__init__(format="A4")
        self.case_id = case_id
        self.document = document
        fonts = _font_dir()
        self.unicode = fonts is not None
        if fonts is not None:
            self.add_font("DejaVu", "", str(fonts / FONT))
            self.add_font("DejaVu", "B", str(fonts / FONT_BOLD))
            self.family_name = "DejaVu"
        else:
            self.family_name = "Helvetica"
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(auto=True, margin=22)
        self.set_title(f"Integrationsvereinbarung, Fassung {document.version}")
        self.set_creator("Lotse")

    def safe(self, text: str) -> str:
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def header(self) -> None:
        self.set_font(self.family_name, "", 8)
        self.set_text_color(90)
        line = f"Integrationsvereinbarung · {self.case_id} · Fassung {self.document.version}"
        self.cell(0, 5, self.safe(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)

    def footer(self) -> None:
        # On every page: the hash that the signatures refer to.
        self.set_y(-17)
        self.set_font(self.family_name, "", 7)
        self.set_text_color(60)
        self.cell(
            0, 4, f"SHA-256: {self.document.hash}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.cell(0, 4, f"Seite {self.page_no()} von {{nb}}", align="C")


def agreement_pdf(case_id: str, document: Document) -> bytes:
    pdf = AgreementPdf(case_id, document)
    pdf.add_page()
    created = german_datetime(document.created_at)
    pdf.set_font(pdf.family_name, "", 8)
    pdf.set_text_color(90)
    pdf.cell(0, 5, f"erstellt am {created}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_text_color(0)
    for number, line in enumerate(document.text.splitlines()):
        if number == 0:
            pdf.set_font(pdf.family_name, "B", 14)
            pdf.multi_cell(0, 8, pdf.safe(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            continue
        heading = HEADING.match(line) is not None
        pdf.set_font(pdf.family_name, "B" if heading else "", 10.5)
        if heading and number > 1:
            pdf.ln(2)
        pdf.multi_cell(0, 5.5, pdf.safe(line) or " ", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
