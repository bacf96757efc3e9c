"""Notifications: what can be announced to whom (`NoticeKind`, `Addressee`), the one input of
a notification (`Notice`), and its German text for the in-app list and for e-mail.

A `Notice` holds ids, a date and a count, and deliberately no free text: whatever a workflow
knows about the client cannot ride along into a mail, a log line or the notifications table.
Its text is rendered from the kind alone: what happened, the case or referral id, the deadline
as a German date („8. Dezember 2026") and a link into Lotse. The link is built from the public
base URL the caller passes in (the domain reads no settings).

`event_key` makes a notice idempotent: the activity writes one in-app row per (event key,
user) and sends one mail per (event key, address), however often it is retried. Build it with
`event_key(subject_id, sequence, kind)`, from the case's or referral's id and the sequence of
the event that caused it (`case-…:12:referral_declined`), so a replayed workflow builds the
same key again.

Pure: no clock, no I/O. Used by the notification activity (activities/notifications.py), the
store (recipients, rows) and the pages (the list's headlines).
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from html import escape
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.fields import PlausibleDate


class NoticeKind(StrEnum):
    """Everything Lotse notifies about (values are stored: never rename one)."""

    # to a partner agency (its contact e-mail; in the app its partner accounts)
    REFERRAL_NEW = "referral_new"
    REFERRAL_REMINDER = "referral_reminder"  # the acknowledgement deadline is reached
    REFERRAL_WITHDRAWN = "referral_withdrawn"
    # to the case's counsellor
    REFERRAL_DECLINED = "referral_declined"
    REFERRAL_COMPLETED = "referral_completed"
    PROGRESS_NOTE = "progress_note"
    REVIEW_DUE_SOON = "review_due_soon"  # 7 days before
    REVIEW_OVERDUE = "review_overdue"
    # to a centre's counsellors
    INBOUND_REFERRAL = "inbound_referral"
    # to a municipality's supervisors
    ESCALATION = "escalation"
    DAILY_DIGEST = "daily_digest"
    # to the partner agency that referred someone to a centre
    INBOUND_ACCEPTED = "inbound_accepted"
    INBOUND_DECLINED = "inbound_declined"


class AddresseeKind(StrEnum):
    PARTNER = "partner"  # id: a partner agency
    COUNSELLOR = "counsellor"  # id: a counsellor's username
    SUPERVISORS = "supervisors"  # id: a municipality: all its active supervisors
    CENTRE = "centre"  # id: a centre: all its active counsellors


# Whom each kind goes to: a notice to anyone else is refused where it is built.
ADDRESSEE_OF: dict[NoticeKind, AddresseeKind] = {
    NoticeKind.REFERRAL_NEW: AddresseeKind.PARTNER,
    NoticeKind.REFERRAL_REMINDER: AddresseeKind.PARTNER,
    NoticeKind.REFERRAL_WITHDRAWN: AddresseeKind.PARTNER,
    NoticeKind.REFERRAL_DECLINED: AddresseeKind.COUNSELLOR,
    NoticeKind.REFERRAL_COMPLETED: AddresseeKind.COUNSELLOR,
    NoticeKind.PROGRESS_NOTE: AddresseeKind.COUNSELLOR,
    NoticeKind.REVIEW_DUE_SOON: AddresseeKind.COUNSELLOR,
    NoticeKind.REVIEW_OVERDUE: AddresseeKind.COUNSELLOR,
    NoticeKind.INBOUND_REFERRAL: AddresseeKind.CENTRE,
    NoticeKind.ESCALATION: AddresseeKind.SUPERVISORS,
    NoticeKind.DAILY_DIGEST: AddresseeKind.SUPERVISORS,
    NoticeKind.INBOUND_ACCEPTED: AddresseeKind.PARTNER,
    NoticeKind.INBOUND_DECLINED: AddresseeKind.PARTNER,
}

# The ids are ours (workflow ids, directory slugs), so their alphabets are narrow: nothing a
# person typed can pass as one.
CASE_ID_PATTERN = r"^case-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
REFERRAL_ID_PATTERN = CASE_ID_PATTERN[:-1] + r"-ref-[1-9][0-9]{0,5}$"
OBJECT_ID_PATTERN = r"^[a-z0-9][a-z0-9_.:-]{0,119}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
EVENT_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$"
EVENT_KEY_LENGTH = 200

CaseId = Annotated[str, Field(pattern=CASE_ID_PATTERN)]
ReferralId = Annotated[str, Field(pattern=REFERRAL_ID_PATTERN)]


def event_key(subject_id: str, sequence: int, kind: NoticeKind) -> str:
    """The idempotency key of a notice: the case's or referral's id, the sequence of the event
    that caused it and the kind (`case-…:12:referral_declined`). One event may cause notices of
    several kinds (a decline to the counsellor, an escalation to the supervisors)."""
    return f"{subject_id}:{sequence}:{kind.value}"


class Addressee(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: AddresseeKind
    id: Annotated[str, Field(pattern=SLUG_PATTERN)]

    @classmethod
    def partner(cls, partner_id: str) -> Self:
        return cls(kind=AddresseeKind.PARTNER, id=partner_id)

    @classmethod
    def counsellor(cls, username: str) -> Self:
        return cls(kind=AddresseeKind.COUNSELLOR, id=username)

    @classmethod
    def supervisors(cls, municipality_id: str) -> Self:
        return cls(kind=AddresseeKind.SUPERVISORS, id=municipality_id)

    @classmethod
    def centre(cls, centre_id: str) -> Self:
        return cls(kind=AddresseeKind.CENTRE, id=centre_id)


class Notice(BaseModel):
    """The whole input of one notification: ids, a date, a count; never text about a person.

    `extra="forbid"`: a field that is not declared here (a name, a note) is refused, not
    silently dropped, so the mistake shows where the notice is built."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_key: Annotated[str, Field(pattern=EVENT_KEY_PATTERN, max_length=EVENT_KEY_LENGTH)]
    kind: NoticeKind
    to: Addressee
    case_id: CaseId | None = None
    referral_id: ReferralId | None = None
    inbound_referral_id: Annotated[str, Field(pattern=OBJECT_ID_PATTERN)] | None = None
    deadline: PlausibleDate | None = None
    # The daily digest's number of open items (a count is no personal data).
    count: Annotated[int, Field(ge=0, le=1_000_000)] | None = None

    @model_validator(mode="after")
    def _fits_its_kind(self) -> Self:
        expected = ADDRESSEE_OF[self.kind]
        if self.to.kind is not expected:
            raise ValueError(
                f"Eine Benachrichtigung '{self.kind.value}' geht an '{expected.value}', "
                f"nicht an '{self.to.kind.value}'."
            )
        missing = [name for name in _TEXTS[self.kind].needs if getattr(self, name) is None]
        if missing:
            raise ValueError(
                f"Eine Benachrichtigung '{self.kind.value}' braucht {', '.join(missing)}."
            )
        return self


@dataclass(frozen=True)
class _Text:
    subject: str
    what: str  # one sentence: what happened
    needs: tuple[str, ...]  # the Notice fields the text and the link need
    link: str  # the page, with {case_id} / {referral_id} filled in
    deadline_label: str = ""  # shown with the deadline, when the notice has one


_PARTNER_REFERRAL = ("referral_id",)
_CASE = ("case_id",)

_TEXTS: dict[NoticeKind, _Text] = {
    NoticeKind.REFERRAL_NEW: _Text(
        "Neue Vermittlung an Ihre Stelle",
        "An Ihre Stelle wurde eine neue Vermittlung geschickt.",
        _PARTNER_REFERRAL,
        "/eingang/{referral_id}",
        "Bitte annehmen oder ablehnen bis",
    ),
    NoticeKind.REFERRAL_REMINDER: _Text(
        "Erinnerung: Vermittlung noch nicht angenommen",
        "Eine Vermittlung an Ihre Stelle ist noch nicht angenommen oder abgelehnt.",
        _PARTNER_REFERRAL,
        "/eingang/{referral_id}",
        "Frist zur Annahme",
    ),
    NoticeKind.REFERRAL_WITHDRAWN: _Text(
        "Vermittlung zurückgezogen",
        "Die Beratungsstelle hat eine Vermittlung an Ihre Stelle zurückgezogen; "
        "bitte unternehmen Sie dazu nichts mehr.",
        _PARTNER_REFERRAL,
        "/eingang/{referral_id}",
    ),
    NoticeKind.REFERRAL_DECLINED: _Text(
        "Vermittlung abgelehnt",
        "Eine Partnerstelle hat eine Vermittlung aus Ihrem Fall abgelehnt.",
        ("case_id", "referral_id"),
        "/faelle/{case_id}",
    ),
    NoticeKind.REFERRAL_COMPLETED: _Text(
        "Vermittlung abgeschlossen",
        "Eine Partnerstelle hat eine Vermittlung aus Ihrem Fall abgeschlossen.",
        ("case_id", "referral_id"),
        "/faelle/{case_id}",
    ),
    NoticeKind.PROGRESS_NOTE: _Text(
        "Neuer Zwischenstand einer Partnerstelle",
        "Eine Partnerstelle hat einen Zwischenstand zu einer Vermittlung aus Ihrem Fall geschickt.",
        ("case_id", "referral_id"),
        "/faelle/{case_id}",
    ),
    NoticeKind.REVIEW_DUE_SOON: _Text(
        "Überprüfung in 7 Tagen fällig",
        "In einem Ihrer Fälle ist in 7 Tagen die Überprüfung der Vereinbarung fällig.",
        _CASE,
        "/faelle/{case_id}",
        "Fällig am",
    ),
    NoticeKind.REVIEW_OVERDUE: _Text(
        "Überprüfung überfällig",
        "In einem Ihrer Fälle ist die Überprüfung der Vereinbarung überfällig.",
        _CASE,
        "/faelle/{case_id}",
        "Fällig war sie am",
    ),
    NoticeKind.INBOUND_REFERRAL: _Text(
        "Neue Zuweisung an Ihre Beratungsstelle",
        "Eine Partnerstelle hat Ihrer Beratungsstelle eine Person zugewiesen.",
        ("inbound_referral_id",),
        "/eingehende-vermittlungen",
        "Bitte annehmen oder ablehnen bis",
    ),
    NoticeKind.ESCALATION: _Text(
        "Eskalation: Vermittlung ohne Antwort",
        "Eine Partnerstelle hat auf eine Vermittlung in Ihrer Kommune nicht rechtzeitig "
        "geantwortet; sie wurde an die Koordination eskaliert.",
        ("case_id", "referral_id"),
        "/aufsicht/faelle/{case_id}",
        "Die Vermittlung verfällt am",
    ),
    NoticeKind.DAILY_DIGEST: _Text(
        "Tagesübersicht der Koordination",
        "Ihre tägliche Übersicht: {count} offene Hinweise in Ihrer Kommune.",
        ("count",),
        "/aufsicht",
        "Stand",
    ),
    NoticeKind.INBOUND_ACCEPTED: _Text(
        "Zuweisung angenommen",
        "Die Beratungsstelle hat Ihre Zuweisung angenommen.",
        ("inbound_referral_id",),
        "/vermittlungen",
    ),
    NoticeKind.INBOUND_DECLINED: _Text(
        "Zuweisung abgelehnt",
        "Die Beratungsstelle hat Ihre Zuweisung abgelehnt.",
        ("inbound_referral_id",),
        "/vermittlungen",
    ),
}

GERMAN_MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
SUBJECT_PREFIX = "Lotse: "
NO_PERSONAL_DATA = (
    "Diese Nachricht enthält keine Angaben zur Person. Alles Weitere sehen Sie nach der "
    "Anmeldung in Lotse."
)
HOW_TO_STOP = "E-Mails abbestellen: in Lotse unter „Benachrichtigungen“."


def german_date(day: date) -> str:
    """„8. Dezember 2026"."""
    return f"{day.day}. {GERMAN_MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class NoticeFacts:
    """What a notice says, line by line, before it becomes a mail or a list entry."""

    headline: str  # the subject without the prefix; the in-app list's title
    what: str
    ids: tuple[tuple[str, str], ...]  # (German label, id)
    deadline: tuple[str, str] | None  # (label, German date)
    path: str  # the page in Lotse, from its root


_ID_LABELS = (
    ("case_id", "Fall"),
    ("referral_id", "Vermittlung"),
    ("inbound_referral_id", "Zuweisung"),
)


def facts(
    kind: NoticeKind,
    *,
    case_id: str | None = None,
    referral_id: str | None = None,
    inbound_referral_id: str | None = None,
    deadline: date | None = None,
    count: int | None = None,
) -> NoticeFacts:
    """The German facts of a notice of `kind` with these ids (a stored row has them, too)."""
    text = _TEXTS[kind]
    values = {
        "case_id": case_id,
        "referral_id": referral_id,
        "inbound_referral_id": inbound_referral_id,
    }
    ids = tuple((label, value) for name, label in _ID_LABELS if (value := values[name]))
    shown_deadline = None
    if deadline is not None:
        shown_deadline = (text.deadline_label or "Frist", german_date(deadline))
    path = text.link.format(case_id=case_id or "", referral_id=referral_id or "")
    what = text.what.format(count=count if count is not None else 0)
    return NoticeFacts(text.subject, what, ids, shown_deadline, path)


def facts_of(notice: Notice) -> NoticeFacts:
    return facts(
        notice.kind,
        case_id=notice.case_id,
        referral_id=notice.referral_id,
        inbound_referral_id=notice.inbound_referral_id,
        deadline=notice.deadline,
        count=notice.count,
    )


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render_mail(notice: Notice, base_url: str) -> RenderedMail:
    """The German mail of `notice`: subject, plain text and HTML (every value escaped), with a
    link to the page under `base_url` (the public address of Lotse, without a trailing slash)."""
    said = facts_of(notice)
    link = base_url.rstrip("/") + said.path
    subject = SUBJECT_PREFIX + said.headline
    lines = ["Guten Tag,", "", said.what, ""]
    lines += [f"{label}: {value}" for label, value in said.ids]
    if said.deadline is not None:
        lines.append(f"{said.deadline[0]}: {said.deadline[1]}")
    lines += ["", f"In Lotse öffnen: {link}", "", NO_PERSONAL_DATA, HOW_TO_STOP]
    rows = "".join(
        f'<tr><th scope="row">{escape(label)}</th><td>{escape(value)}</td></tr>'
        for label, value in (*said.ids, *([said.deadline] if said.deadline else []))
    )
    html = (
        '<!doctype html><html lang="de"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head><body>"
        f"<p>Guten Tag,</p><p>{escape(said.what)}</p>"
        f"<table>{rows}</table>"
        f'<p><a href="{escape(link, quote=True)}">In Lotse öffnen</a></p>'
        f"<p><small>{escape(NO_PERSONAL_DATA)} {escape(HOW_TO_STOP)}</small></p>"
        "</body></html>"
    )
    return RenderedMail(subject=subject, text="\n".join(lines) + "\n", html=html)


class DeliveryStatus(StrEnum):
    """How the mail of a notice to one address went (values are stored)."""

    PENDING = "pending"  # tried, failed, will be tried again
    SENT = "sent"
    FAILED = "failed"  # refused for good, or still failing on the activity's last attempt


class Recipients(BaseModel):
    """Whom a notice reaches, as the directory says: accounts that see it in the app, and the
    addresses that get a mail (an agency's contact address, or staff who keep mail on)."""

    model_config = ConfigDict(frozen=True)

    usernames: tuple[str, ...]
    addresses: tuple[str, ...]
