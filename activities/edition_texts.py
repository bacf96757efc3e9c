"""The translations of the agreement's fixed wording, one YAML file per edition
(`activities/editions/<code>.yaml`, package data), read by the render activity.

A translation covers what every agreement says (headings, the review and consent sentences);
what the counsellor typed (goals, measures) and the data each partner receives stay German,
and the translation points to them. `reviewed: false` marks a starter translation nobody has
checked yet: the document says so, in both languages, beside the sentence that the German text
is binding. Reading a file is I/O, so only the activity calls this, never a workflow.
"""

from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import Field

from domain.profile import StrictModel

EDITIONS_DIR = Path(__file__).parent / "editions"


class EditionWording(StrictModel):
    """Every sentence a translation must have; `{…}` placeholders are the renderer's."""

    title: str
    binding: str
    unreviewed: str
    parties: str  # {client}, {centre}, {municipality}
    goals: str
    goals_note: str
    measures: str
    measures_note: str
    review: str
    review_first: str  # {months}
    review_next: str  # {date}
    review_interval: str  # {months}
    consent: str
    consent_none: str
    consent_intro: str  # {municipality}
    consent_takeover: str
    consent_withdraw: str
    consent_others: str
    signatures: str


class EditionTexts(StrictModel):
    language: Annotated[str, Field(min_length=2, max_length=3)]
    reviewed: bool
    texts: EditionWording


@cache
def edition_texts(code: str) -> EditionTexts:
    """The translation of edition `code` (a key of domain.editions.EDITIONS); FileNotFoundError
    for a code without a file, which the callers have validated against that table."""
    path = EDITIONS_DIR / f"{code}.yaml"
    texts = EditionTexts.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    if texts.language != code:
        raise ValueError(f"{path.name} declares language {texts.language!r}")
    return texts
