"""Referrals to a counselling centre ("Vermittlungen an eine Beratungsstelle"): a partner agency
(Jobcenter, Ausländerbehörde, ...) asks a centre of its municipality to take on a client. The
payloads a partner and a counsellor send, and the three statuses such a referral passes.

An inbound referral is no workflow: it waits for one decision, and accepting it opens a case,
which is one (the case's own workflow, started as `POST /cases` starts it). Its row lives in
the store (`store.models.InboundReferral`); this module holds only what both front doors and
the store must agree on. No I/O, no clock.
"""

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from domain.case import ClientName
from domain.fields import Code, EmailAddress, PhoneNumber, Text
from domain.profile import StrictModel


class InboundStatus(StrEnum):
    """open → accepted (a case was opened) or declined (with a reason). Both are final."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"


def consented(value: bool) -> bool:
    if value is True:
        return value
    raise PydanticCustomError(
        "consent_missing",
        "Ohne Einwilligung der Klientin / des Klienten ist keine Vermittlung möglich.",
    )


# Strict: only the JSON literal true counts as consent, not 1, "yes" or "on".
Consent = Annotated[
    bool, Field(strict=True, json_schema_extra={"const": True}), AfterValidator(consented)
]


class Contact(StrictModel):
    """How the centre reaches the client; both are optional, empty when not given (a partner
    may only have handed over the centre's address)."""

    phone: PhoneNumber = ""
    email: EmailAddress = ""


class InboundReferralRequest(StrictModel):
    """`POST /inbound-referrals`: whom the partner refers to which centre, and why. The partner
    and its municipality come from the caller."""

    centre_id: Code
    client: ClientName
    contact: Contact = Field(default_factory=Contact)
    reason: Text
    client_consents: Consent


class InboundDecline(StrictModel):
    """`POST /inbound-referrals/{id}/decline`: the reason, which the referring partner reads."""

    reason: Text
