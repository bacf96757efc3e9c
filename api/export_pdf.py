"""The client's copy (api/export.py) as a readable German PDF: the same content as the JSON,
section by section, each fact as „Bezeichnung: Wert“ with German labels (the intake's from
api/field_messages.py, codes through domain/labels.py), German dates and yes/no. It reuses the
agreement PDF's fonts (Noto Sans with Noto Naskh Arabic as fallback, api/ui/pdf.py), so a name
in any script the agreement prints is printed here too.
"""

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from api.field_messages import label
from api.ui.formats import german_date, german_datetime
from api.ui.pdf import NASKH, SANS, add_shipped_fonts
from domain.enums import ActorKind, NeedKind
from domain.labels import ACTOR_LABELS, NEED_LABELS

BODY = 9.5
# The keys of the copy's other parts, as a reader names them.
KEYS = {
    "case_id": "Fall-Id",
    "number": "Fallnummer",
    "stage": "Stadium",
    "status": "Status",
    "at": "Zeitpunkt",
    "note": "Notiz",
    "by": "durch",
    "version": "Fassung",
    "hash": "SHA-256",
    "rendered_at": "erstellt am",
    "signed": "unterschrieben",
    "measure": "Maßnahme",
    "partner_id": "Partner",
    "actor_kind": "Partnerart",
    "need_kind": "Bedarf",
    "need": "Bedarf",
    "actor": "Partnerart",
    "reason": "Begründung",
    "rule": "Regel",
    "dispatched_at": "vermittelt am",
    "acknowledged_at": "bestätigt am",
    "ended_at": "beendet am",
    "result": "Ergebnis",
    "recorded_at": "erfasst am",
    "agreement_helped": "Hat die Vereinbarung geholfen?",
    "easier_to_keep_at_it": "Fällt es leichter, dranzubleiben?",
    "goal_progress": "Ziele",
    "title": "Titel",
    "kind": "Art",
    "due_at": "fällig am",
    "done": "erledigt",
    "username": "an",
    "created_at": "erstellt am",
    "read_at": "gelesen am",
    "action": "Zugriff",
    "object_type": "auf",
    "object_id": "Id",
    "client_first_name": "Vorname",
    "languages": "Sprachen",
    "partner_view": "Übermittelte Angaben",
    "history": "Verlauf",
    "notes": "Notizen des Partners",
    "data": "Angaben",
}


def _value(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, str):
        if value in NeedKind._value2member_map_:
            return NEED_LABELS.get(NeedKind(value), value)
        if value in ActorKind._value2member_map_:
            return ACTOR_LABELS.get(ActorKind(value), value)
        try:
            if len(value) == 10:
                return german_date(date.fromisoformat(value))
            if len(value) > 18 and value[10] == "T":
                return german_datetime(datetime.fromisoformat(value))
        except ValueError:
            pass
        return value
    return str(value)


def _name(path: str, key: str) -> str:
    if key in KEYS:
        return KEYS[key]
    # The intake's labels are by its own paths: `workflow.profile.residence.status` is
    # `residence.status` there.
    parts = path.split(".")
    for start in range(len(parts)):
        tail = ".".join(parts[start:])
        named = label(tail)
        if named != tail:
            return named
    return key


def facts(value: Any, path: str = "") -> Iterator[tuple[int, str]]:
    """(depth, „Bezeichnung: Wert“) lines of a JSON value; a list's rows numbered from 1."""
    depth = path.count(".") + (1 if path else 0)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            inner_path = f"{path}.{key}" if path else str(key)
            if isinstance(inner, Mapping | list) and inner:
                yield depth, f"{_name(inner_path, str(key))}:"
                yield from facts(inner, inner_path)
            else:
                yield depth, f"{_name(inner_path, str(key))}: {_value(inner)}"
    elif isinstance(value, list):
        for number, inner in enumerate(value, start=1):
            if isinstance(inner, Mapping | list):
                yield depth, f"{number}."
                yield from facts(inner, f"{path}.{number - 1}" if path else str(number - 1))
            else:
                yield depth, f"{number}. {_value(inner)}"
    else:
        yield depth, _value(value)


class ExportPdf(FPDF):
    def __init__(self, case_label: str) -> None:
        super().__init__(format="A4")
        self.case_label = case_label
        add_shipped_fonts(self)
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(f"Auskunft nach Art. 15 DSGVO, {case_label}")
        self.set_creator("Lotse")

    def say(self, text: str, style: str = "", size: float = BODY, indent: int = 0) -> None:
        self.set_font(SANS, style, size)
        self.set_fallback_fonts([NASKH])
        self.set_x(self.l_margin + 5 * min(indent, 8))
        self.multi_cell(0, size * 0.5, text or " ", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(SANS, "", 7)
        self.cell(0, 4, f"{self.case_label} · Seite {self.page_no()} von {{nb}}", align="C")


SECTIONS = (
    ("summary", "Fall in der Übersicht"),
    ("workflow", "Angaben im laufenden Vorgang (Aufnahme, Bedarfe, Wege und Gründe, Vereinbarung)"),
    ("documents", "Fassungen der Vereinbarung und Unterschriften"),
    ("referrals", "Vermittlungen mit den Notizen der Partner"),
    ("reviews", "Überprüfungen mit den Antworten der Befragung"),
    ("tasks", "Aufgaben"),
    ("notifications", "Benachrichtigungen"),
    ("history", "Verlauf"),
    ("accesses", "Zugriffe auf den Fall (Protokoll)"),
)


def export_pdf(copy: Mapping[str, Any]) -> bytes:
    """The PDF of `copy` (api/export.case_export's dictionary)."""
    summary = copy.get("summary") or {}
    case_label = f"Fall {summary.get('number') or copy['case_id']}"
    pdf = ExportPdf(case_label)
    pdf.add_page()
    pdf.say("Auskunft nach Art. 15 DSGVO", "B", 15)
    pdf.say(case_label, "B", 12)
    pdf.say(
        f"Erstellt am {_value(copy['exported_at'])} von {copy['exported_by']}. Diese Auskunft "
        "enthält alle Angaben, die Lotse zu diesem Fall speichert.",
        size=9,
    )
    for key, heading in SECTIONS:
        pdf.ln(3)
        pdf.say(heading, "B", 11.5)
        content = copy.get(key)
        if not content:
            pdf.say("Keine Angaben.")
            continue
        for depth, text in facts(content):
            pdf.say(text, indent=depth)
    return bytes(pdf.output())
