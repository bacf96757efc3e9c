"""The agreement's editions through the API: `POST /cases/{id}/signature-request` with
`{"language": …}` presents German with the client's language, its hash covering both; a
language without a translation, or a hostile value, is a German 422 naming `language` and
changes nothing; `GET /cases/{id}/agreement.pdf` is the current version as a PDF, with the
signature record once signed (its scope: tests/api/test_authz.py). The signed bilingual case
is recorded as `tests/histories/signature_edition.json` (the update
`request_signature_edition`), which tests/workflows/test_replay.py replays."""

import io
from typing import Any

import pypdf
from temporalio.common import HeaderCodecBehavior
from temporalio.worker import Replayer

from activities.agreement_text import sha256
from tests.api_harness import Lotse
from tests.case_histories import REGENERATE, run_histories, save_histories
from tests.key_harness import session_converter
from tests.samples import draft_body
from workflows.actor_header import ActorInterceptor
from workflows.agreement import AgreementWorkflow
from workflows.referral import ReferralWorkflow

HOSTILE: list[Any] = [
    "xx",
    "de",  # German is the binding text, not an edition
    "AR",
    "<script>alert(1)</script>",
    "ar\x00",
    "x" * 5000,
    7,
    ["ar"],
    {"code": "ar"},
]


async def _drafted(lotse: Lotse) -> str:
    case_id = await lotse.case_in_drafting()
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    body = draft_body(state["routes"])
    await lotse.ok("berater1", "POST", f"/cases/{case_id}/agreement", json=body)
    return case_id


def _pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


async def test_a_hostile_language_is_a_german_422_naming_language_and_changes_nothing(
    lotse: Lotse,
) -> None:
    case_id = await _drafted(lotse)
    path = f"/cases/{case_id}/signature-request"
    for value in HOSTILE:
        for body in ({"language": value}, {"language": "ar", "extra": value}):
            response = await lotse.post("berater1", path, json=body)
            assert response.status_code == 422, (value, response.text)
            answer = response.json()
            fields = {error["field"]: error["message"] for error in answer["errors"]}
            assert ("language" if "extra" not in body else "extra") in fields, answer
            # The refused value is never echoed back.
            if isinstance(value, str) and len(value) > 2:
                assert value not in response.text
    unknown = await lotse.post("berater1", path, json={"language": "xx"})
    assert unknown.json()["errors"] == [
        {
            "field": "language",
            "message": "Sprachfassung: Für diese Sprache gibt es keine Übersetzung der "
            "Vereinbarung. Bitte eine der angebotenen Sprachen wählen oder nur Deutsch.",
        }
    ]
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["stage"] == "drafting" and state["documents"] == []
    # No body at all is German only, as before editions.
    requested = await lotse.ok("berater1", "POST", path)
    document = await lotse.ok("berater1", "GET", f"/cases/{case_id}/agreement")
    assert document["hash"] == requested["document_hash"] and document["language"] is None
    assert "Zweisprachige Fassung" not in document["text"]


async def test_an_arabic_edition_is_signed_and_printed_with_its_signature_record(
    lotse: Lotse,
) -> None:
    case_id = await _drafted(lotse)
    requested = await lotse.ok(
        "berater1", "POST", f"/cases/{case_id}/signature-request", json={"language": "ar"}
    )
    document = await lotse.ok("berater1", "GET", f"/cases/{case_id}/agreement")
    # The hash covers the German text and its translation alike.
    assert document["language"] == "ar" and sha256(document["text"]) == requested["document_hash"]
    assert "4. Einwilligung in die Weitergabe von Daten" in document["text"]
    assert "4. الموافقة على نقل البيانات" in document["text"]
    state = await lotse.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["documents"][-1]["language"] == "ar"

    pdf = await lotse.get("berater1", f"/cases/{case_id}/agreement.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    number = state["number"]
    assert f"vereinbarung-{number}-fassung-1.pdf" in pdf.headers["content-disposition"]
    text = _pdf_text(pdf.content)
    assert f"Fall {number} · Fassung 1" in text and "Amina Karimi" in text
    assert "Verbindlich ist allein der deutsche Text." in text
    assert "النص الألماني هو النص الملزم" in text
    assert text.index("4. Einwilligung") < text.index("يمكنني سحب موافقتي في أي وقت")
    assert "Unterschriftsnachweis" not in text

    for party in ("client", "counsellor"):
        signature = {"party": party, "document_hash": requested["document_hash"]}
        await lotse.ok("berater1", "POST", f"/cases/{case_id}/signatures", json=signature)
    signed = _pdf_text((await lotse.get("berater1", f"/cases/{case_id}/agreement.pdf")).content)
    assert "Unterschriftsnachweis" in signed
    assert "Klientin/Klient (Amina Karimi) hat Fassung 1 am" in signed
    assert f"Unterschrieben wurde der Text mit SHA-256 {requested['document_hash']}" in signed

    # The run replays with the current code, and is kept for tests/workflows/test_replay.py.
    histories = await run_histories(lotse.client, lotse.client.get_workflow_handle(case_id))
    replayer = Replayer(
        workflows=[AgreementWorkflow, ReferralWorkflow],
        data_converter=session_converter(),
        header_codec_behavior=HeaderCodecBehavior.CODEC,
        interceptors=[ActorInterceptor()],
    )
    for history in histories:
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert replayed.replay_failure is None
    if REGENERATE:
        save_histories("signature_edition", histories)
