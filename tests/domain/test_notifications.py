"""The notice and its German text (domain/notifications.py): every kind renders in German with
its ids, deadline and link and no placeholder left; HTML is escaped; a notice refuses text
fields, a wrong addressee and missing ids."""

import re
from datetime import date

import pytest
from pydantic import ValidationError

from domain.notifications import (
    ADDRESSEE_OF,
    Addressee,
    AddresseeKind,
    Notice,
    NoticeKind,
    event_key,
    facts,
    german_date,
    render_mail,
)

CASE = "case-0b6c1a52-3f0e-4d0b-9a57-1c2d3e4f5a6b"
REFERRAL = f"{CASE}-ref-2"
INBOUND = "inbound-7f3a"
BASE = "https://lotse.example.org"
ADDRESSEES = {
    AddresseeKind.PARTNER: Addressee.partner("sprachschule-musterstadt"),
    AddresseeKind.COUNSELLOR: Addressee.counsellor("berater1"),
    AddresseeKind.SUPERVISORS: Addressee.supervisors("musterstadt"),
    AddresseeKind.CENTRE: Addressee.centre("mbe-mitte"),
}
# Words of English templates, and anything that looks like a placeholder left unfilled.
ENGLISH = re.compile(r"\b(the|your|referral|case|review|deadline|hello|please)\b", re.I)
PLACEHOLDER = re.compile(r"\{[^}]*\}|\$\{|%\(|%s|None|null|undefined")


def notice(kind: NoticeKind, **fields: object) -> Notice:
    values: dict[str, object] = {
        "event_key": event_key(CASE, 12, kind),
        "kind": kind,
        "to": ADDRESSEES[ADDRESSEE_OF[kind]],
        "case_id": CASE,
        "referral_id": REFERRAL,
        "inbound_referral_id": INBOUND,
        "deadline": date(2026, 12, 8),
        "count": 3,
    }
    values.update(fields)
    return Notice.model_validate(values)


@pytest.mark.parametrize("kind", list(NoticeKind), ids=lambda k: k.value)
def test_every_kind_renders_in_german_without_a_placeholder(kind: NoticeKind) -> None:
    mail = render_mail(notice(kind), BASE)
    assert mail.subject.startswith("Lotse: ")
    for text in (mail.subject, mail.text, mail.html):
        assert not PLACEHOLDER.search(text), text
    for text in (mail.subject, mail.text):
        assert not ENGLISH.search(text.replace(CASE, "").replace(REFERRAL, "")), text
    assert "Guten Tag" in mail.text and "8. Dezember 2026" in mail.text
    assert f"{BASE}/" in mail.text and f'href="{BASE}/' in mail.html
    said = facts(kind, case_id=CASE, referral_id=REFERRAL, inbound_referral_id=INBOUND)
    # The ids it needs are named in the text, the link leads to the object's page.
    for _, value in said.ids:
        assert value in mail.text and value in mail.html
    assert said.path in mail.text


def test_the_links_lead_to_each_role_s_page() -> None:
    assert facts(NoticeKind.REFERRAL_NEW, referral_id=REFERRAL).path == f"/eingang/{REFERRAL}"
    assert facts(NoticeKind.REFERRAL_DECLINED, case_id=CASE).path == f"/faelle/{CASE}"
    assert facts(NoticeKind.ESCALATION, case_id=CASE).path == f"/aufsicht/faelle/{CASE}"
    assert facts(NoticeKind.DAILY_DIGEST, count=4).what.startswith("Ihre tägliche Übersicht: 4 ")


def test_german_dates() -> None:
    assert german_date(date(2026, 12, 8)) == "8. Dezember 2026"
    assert german_date(date(2027, 3, 1)) == "1. März 2027"


def test_a_notice_takes_no_free_text() -> None:
    with pytest.raises(ValidationError) as refused:
        notice(NoticeKind.REFERRAL_DECLINED, client_name="Amina Karimi")
    assert refused.value.errors()[0]["type"] == "extra_forbidden"
    # Its ids have our alphabets: a name cannot pass as one.
    for field, value in (
        ("case_id", "Amina Karimi"),
        ("referral_id", "Amina"),
        ("inbound_referral_id", "Amina Karimi"),
        ("event_key", "Amina Karimi 1990-05-17"),
    ):
        with pytest.raises(ValidationError):
            notice(NoticeKind.REFERRAL_DECLINED, **{field: value})


def test_a_notice_goes_to_the_addressee_its_kind_names_and_has_the_ids_it_needs() -> None:
    with pytest.raises(ValidationError, match="geht an 'counsellor'"):
        notice(NoticeKind.REFERRAL_DECLINED, to=Addressee.partner("jobcenter"))
    with pytest.raises(ValidationError, match="braucht referral_id"):
        notice(NoticeKind.REFERRAL_NEW, referral_id=None)
    with pytest.raises(ValidationError, match="braucht count"):
        notice(NoticeKind.DAILY_DIGEST, count=None)
    with pytest.raises(ValidationError):
        notice(NoticeKind.REVIEW_OVERDUE, deadline=date(1800, 1, 1))


def test_html_is_escaped() -> None:
    mail = render_mail(notice(NoticeKind.REFERRAL_NEW), 'https://x.example/"><script>')
    assert "<script>" not in mail.html and "&quot;&gt;&lt;script&gt;" in mail.html


def test_the_event_key_names_subject_sequence_and_kind() -> None:
    assert event_key(CASE, 7, NoticeKind.ESCALATION) == f"{CASE}:7:escalation"
