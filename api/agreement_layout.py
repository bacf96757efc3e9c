"""The agreement document as people read and sign it: the archived text (what the hash covers)
cut into its blocks, plus the case's data around it (letterhead, client, signature fields and
the signature record). The print view (case/document.html) and the PDF (api/ui/pdf.py) both
draw this, so they show the same thing.

The text is never rewritten: every line of it appears, in order. Only its structure is read
(activities/agreement_text.py writes it): blocks apart by blank lines; the title block; the
parties; numbered sections, whose item lines (`  1.2 …`) become table rows and whose lines
wrapped mid-sentence are joined into one paragraph; a second heading inside a block starts
that section's translation; the signature block's blank lines give way to signature fields.
What is not part of the text (addresses, birth date, place, names under the fields, who signed
when) comes from the case and the directory and is never hashed.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from api.case_archive import Document
from domain.case import CaseState
from domain.editions import EDITION_GERMAN_NAMES
from store.reads.centres import Letterhead, letterhead
from store.reads.supervision import directory_names

_ITEM = re.compile(r"(\d+)\.(\d+) (.*)")
_UNTIL = re.compile(r"(.*) \(bis (\d{2}\.\d{2}\.\d{4})\)")
_RESPONSIBLE = " — verantwortlich: "
_SIGNATURE_LINE = re.compile(r".*: _+")
PARTIES = {"client": "Klientin/Klient", "counsellor": "Beratungsstelle"}


def is_rtl(text: str) -> bool:
    """Whether a line is right-to-left: its first strong character is (Unicode's rule P2)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


@dataclass(frozen=True)
class Line:
    text: str
    rtl: bool

    @classmethod
    def of(cls, text: str) -> "Line":
        return cls(text.strip(), is_rtl(text))


@dataclass
class Section:
    heading: Line
    translated: bool  # the translation following a German section
    columns: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


@dataclass(frozen=True)
class SignatureField:
    party: str  # German label
    printed_name: str
    signed_at: datetime | None


@dataclass
class AgreementLayout:
    number: str
    version: int
    hash: str
    created_at: datetime
    edition: str | None  # German name of the edition's language
    letterhead: Letterhead
    contact: str
    client_name: str
    birth_date: date | None
    title: list[Line]
    intro: list[Line]
    parties: list[Line]
    sections: list[Section]
    signature_headings: list[Line]
    fields: list[SignatureField]

    @property
    def signed(self) -> list[SignatureField]:
        """The signature record: who signed this version and when (the hash is the layout's)."""
        return [f for f in self.fields if f.signed_at is not None]


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def _item(section: Section, line: str) -> bool:
    """A goal or measure line of the German section as a table row; False for any other."""
    found = _ITEM.fullmatch(line.strip())
    if section.translated or found is None:
        return False
    number, rest = f"{found.group(1)}.{found.group(2)}", found.group(3)
    if found.group(1) == "1":
        until = _UNTIL.fullmatch(rest)
        section.columns = ("Nr.", "Ziel", "bis")
        section.rows.append((number, *until.groups()) if until else (number, rest, ""))
        return True
    if found.group(1) == "2" and _RESPONSIBLE in rest:
        measure, who = rest.split(_RESPONSIBLE, 1)
        section.columns = ("Nr.", "Maßnahme", "verantwortlich")
        section.rows.append((number, measure, who))
        return True
    return False


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _continues(previous: str, line: str) -> bool:
    """Whether a line goes on with the sentence of the line before: the text wraps its
    paragraphs at a fixed width, which a proportional font must not repeat."""
    return (
        _indent(previous) == _indent(line)
        and not previous.rstrip().endswith((".", ":", ";", "!", "?"))
        and not line.lstrip().startswith("- ")
    )


def _sections(blocks: list[list[str]]) -> tuple[list[Section], list[Line]]:
    sections: list[Section] = []
    signature_headings: list[Line] = []
    for block in blocks:
        if block[0].startswith("Unterschriften"):
            # The text's blank signature lines are drawn as fields with names, place and date.
            signature_headings = [Line.of(x) for x in block if not _SIGNATURE_LINE.fullmatch(x)]
            signature_headings = [x for x in signature_headings if not x.text.endswith(":")]
            continue
        current: Section | None = None
        previous = ""
        for line in block:
            if not line.startswith(" "):
                current = Section(Line.of(line), translated=current is not None)
                sections.append(current)
            elif current is not None and not _item(current, line):
                if current.lines and _continues(previous, line):
                    joined = f"{current.lines[-1].text} {line.strip()}"
                    current.lines[-1] = Line(joined, current.lines[-1].rtl)
                else:
                    current.lines.append(Line.of(line))
            previous = line
    return sections, signature_headings


def agreement_layout(
    document: Document, state: CaseState, letterhead: Letterhead, contact: str
) -> AgreementLayout:
    """The document `document` of the case `state`, with `letterhead` and the counsellor
    `contact` (a display name)."""
    blocks = _blocks(document.text)
    head = blocks[0] if blocks else []
    # The title and its translation come before the line naming case and version; read from
    # the text itself, so an old version the case no longer carries lays out alike.
    cut = next((n for n, x in enumerate(head) if x.startswith("Fall ")), min(len(head), 1))
    title = [Line.of(x) for x in head[:cut]]
    intro = [Line.of(x) for x in head[cut:]]
    parties = [Line.of(x) for x in blocks[1]] if len(blocks) > 1 else []
    sections, signature_headings = _sections(blocks[2:])
    client = state.client
    client_name = f"{client.given_name} {client.family_name}".strip() if client else "—"
    fields = [
        SignatureField(PARTIES["client"], client_name, document.signed.get("client")),
        SignatureField(
            PARTIES["counsellor"],
            f"{contact} für „{letterhead.name}“" if contact else letterhead.name,
            document.signed.get("counsellor"),
        ),
    ]
    return AgreementLayout(
        number=state.number or state.id,
        version=document.version,
        hash=document.hash,
        created_at=document.created_at,
        edition=EDITION_GERMAN_NAMES.get(document.language or ""),
        letterhead=letterhead,
        contact=contact,
        client_name=client_name,
        birth_date=state.profile.birth_date if state.profile else None,
        title=title,
        intro=intro,
        parties=parties,
        sections=sections,
        signature_headings=signature_headings,
        fields=fields,
    )


def load_layout(engine: Engine, state: CaseState, document: Document) -> AgreementLayout:
    """The layout with the directory's letterhead of the case's centre and its counsellor's
    name (blocking: run it in a thread)."""
    head = letterhead(engine, state.centre_id)
    people = {state.counsellor_id} if state.counsellor_id else set()
    with Session(engine) as session:
        names = directory_names(session, people=people)
    contact = names.person(state.counsellor_id) if state.counsellor_id else ""
    return agreement_layout(document, state, head, contact)
