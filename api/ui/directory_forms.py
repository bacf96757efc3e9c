"""The three sections of the directory's pages (municipalities, centres, partner agencies):
for each, its address, its German words, the API's payloads and functions it calls
(api/directory_admin.py), and how a posted form becomes a payload.

The form fields carry the payloads' own names (`name`, `land`, `municipality_id`, `measures`),
so a refusal's field is the form's input without a translation; only a measure's row
(`measures.3`) is shown on the group of measure boxes.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session
from starlette.datastructures import FormData

from api import directory_admin as directory
from api.ui.forms import text
from store.reads import admin as admin_reads


@dataclass(frozen=True)
class Section:
    """One kind of directory entry as the pages show it."""

    path: str  # /verwaltung/<path>
    kind: str  # "municipality": the audit's object type and the routes' names
    title: str  # the list's heading
    one: str  # one entry, with its article („die Kommune“)
    new_fields: tuple[str, ...]
    change_fields: tuple[str, ...]
    new_model: type[BaseModel]
    change_model: type[BaseModel]
    create: Callable[[Session, str, Any], Any]
    edit: Callable[[Session, str, str, Any], Any]
    rows: Callable[[Session], Sequence[Any]]
    row: Callable[[Session, str], Any | None]
    # What deactivating it means, said on its page beside the button.
    deactivation: str

    @property
    def base(self) -> str:
        return f"/verwaltung/{self.path}"

    def page(self, key: str) -> str:
        """The edit page of the entry `key` (`…/neu` stays free for the form of a new one)."""
        return f"{self.base}/{key}/bearbeiten"


MUNICIPALITIES = Section(
    path="gemeinden",
    kind="municipality",
    title="Gemeinden",
    one="die Kommune",
    new_fields=("id", "name", "land"),
    change_fields=("name", "land"),
    new_model=directory.MunicipalityIn,
    change_model=directory.MunicipalityChange,
    create=directory.create_municipality,
    edit=directory.edit_municipality,
    rows=admin_reads.municipalities,
    row=admin_reads.municipality,
    deactivation="In keiner Beratungsstelle der Kommune können dann neue Fälle angelegt "
    "werden; laufende Fälle gehen weiter.",
)
CENTRES = Section(
    path="stellen",
    kind="centre",
    title="Beratungsstellen",
    one="die Beratungsstelle",
    new_fields=("id", "municipality_id", "name", "kind", "address", "phone", "email"),
    change_fields=("name", "kind", "address", "phone", "email"),
    new_model=directory.CentreIn,
    change_model=directory.CentreChange,
    create=directory.create_centre,
    edit=directory.edit_centre,
    rows=admin_reads.centres,
    row=admin_reads.centre,
    deactivation="Die Beratungsstelle nimmt dann keine neuen Fälle, Abgaben und Vermittlungen "
    "an; ihre laufenden Fälle gehen weiter.",
)
PARTNERS = Section(
    path="partner",
    kind="partner",
    title="Partner",
    one="der Partner",
    new_fields=("id", "municipality_id", "name", "kind", "measures", "contact_email"),
    change_fields=("name", "kind", "measures", "contact_email"),
    new_model=directory.PartnerIn,
    change_model=directory.PartnerChange,
    create=directory.create_partner,
    edit=directory.edit_partner,
    rows=admin_reads.partners,
    row=admin_reads.partner,
    deactivation="Neue Vermittlungen gehen dann an andere Partner; die offenen Vermittlungen "
    "bleiben bei ihm.",
)
SECTIONS = (MUNICIPALITIES, CENTRES, PARTNERS)

DONE = {
    "angelegt": "Der Eintrag wurde angelegt.",
    "gespeichert": "Die Änderungen wurden gespeichert.",
    "deaktiviert": "Der Eintrag wurde deaktiviert.",
    "reaktiviert": "Der Eintrag ist wieder aktiv.",
}

_ROW = re.compile(r"^measures\.[0-9]+$")


def payload(form: FormData, fields: Sequence[str]) -> dict[str, Any]:
    """The form's values for `fields`: texts trimmed, the measure boxes as a list."""
    values: dict[str, Any] = {}
    for name in fields:
        if name == "measures":
            values[name] = [v.strip() for v in form.getlist(name) if isinstance(v, str)]
        else:
            values[name] = text(form, name)
    return values


def on_inputs(errors: dict[str, str]) -> dict[str, str]:
    """A measure's error on the group of boxes (there is no input per row)."""
    moved: dict[str, str] = {}
    for name, message in errors.items():
        moved.setdefault("measures" if _ROW.match(name) else name, message)
    return moved
