"""No code reaches a reader: every refusal of the two stage machines, for every action in
every stage or status it does not allow, names stages and statuses in German, without an enum
value (`awaiting_signature`, `dispatched`) or a Python repr (`['r1']`, `'intake'`)."""

import re
from datetime import UTC, datetime
from enum import StrEnum

import pytest

from domain.case import Stage
from domain.referral import ReferralStatus
from domain.referral_stages import ACTION_LABELS as PARTNER_ACTIONS
from domain.referral_stages import PartnerAction, ReferralState, WrongStatus, open_referral, require
from domain.rejections import WrongStage, require_allowed
from domain.stage_table import Action
from tests.referral_harness import referral_input
from tests.samples import in_stage

CODES: list[type[StrEnum]] = [Stage, ReferralStatus]
# A list or a quoted code as Python prints them.
REPR = re.compile(r"\[['\"]|['\"]\]|'[a-z_]+'")


def _codes_in(message: str) -> list[str]:
    found = [
        code.value
        for kind in CODES
        for code in kind
        if re.search(rf"(?<![\w-]){re.escape(code.value)}(?![\w-])", message)
    ]
    return found + REPR.findall(message)


def test_the_scan_finds_a_code_and_a_repr() -> None:
    # The scan itself: a message as the old code worded it fails it.
    assert _codes_in("Im Stadium 'awaiting_signature' (Unterschrift) nicht möglich") != []
    assert _codes_in("Die Vorschläge ['r1', 'r2'] sind offen") != []
    assert _codes_in("Im Stadium „Unterschrift“ nicht möglich") == []


CASE_REFUSALS = [(action, stage) for action in Action for stage in Stage]


@pytest.mark.parametrize(("action", "stage"), CASE_REFUSALS)
def test_a_case_refusal_names_no_stage_code(action: Action, stage: Stage) -> None:
    refusal = require_allowed(in_stage(stage), action)
    if refusal is None:
        return
    assert isinstance(refusal, WrongStage)
    assert _codes_in(refusal.message) == [], refusal.message


def _referral(status: ReferralStatus) -> ReferralState:
    opened = open_referral(referral_input("case-1", 1, datetime(2025, 3, 3, 8, tzinfo=UTC)))
    assert isinstance(opened, ReferralState)
    # Only the status matters to the refusal.
    return opened.model_copy(update={"status": status})


@pytest.mark.parametrize("status", list(ReferralStatus))
@pytest.mark.parametrize("action", list(PARTNER_ACTIONS))
def test_a_referral_refusal_names_no_status_code(
    action: PartnerAction, status: ReferralStatus
) -> None:
    refusal = require(_referral(status), action, None)
    if refusal is None:
        return
    assert isinstance(refusal, WrongStatus)
    assert _codes_in(refusal.message) == [], refusal.message
