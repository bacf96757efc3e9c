"""Saved histories replay against the current workflow code: a change that would break a
running case (different commands for the same history) fails here, not in production.

The histories in tests/histories/ are recorded by tests that run a whole case; regenerate them
after an intended, patched change (`workflow.patched`, see workflows/agreement.py) with

    LOTSE_REGENERATE_HISTORIES=1 .venv/bin/pytest tests/workflows/test_agreement_workflow.py \\
        tests/workflows/test_agreement_workflow_devserver.py -k "happy_path or declined_referral"

and keep the old files too while cases recorded by the old code still run: `<name>_v1.json`
were recorded before the patch `parallel-referral-starts`, `<name>_v2.json` before the
projection loop, `<name>_v3.json` before the patches `review-reminder` and `notices`
(test_agreement_patches.py); `referral_progress_v1.json` is a referral
with progress notes from before the patch `referral-notes-archived`, `referral_progress.json`
one after it (recorded by running a referral through acknowledge, two notes and complete);
`referral_withdrawal.json` a case whose counsellor re-routes one referral to a partner she
chose and withdraws another (the updates `reroute_referral` and `withdraw_referral`, recorded
by test_agreement_workflow_devserver.py); `coordination_assignment.json` a case transferred
without a counsellor and then given one by a supervisor of its municipality (`reassign` with a
supervisor's actor and `centre_id`, recorded by tests/api/test_actor_checks.py);
`intake_correction.json` a case whose intake is corrected in drafting (the routing activity
called again, behind the patch `intake-corrections`) and `signature_withdrawal.json` one whose
presented document is withdrawn, the intake corrected and a new version signed (the patches
`signature-request-withdrawal` and `intake-corrections`), both recorded by
tests/workflows/test_agreement_corrections.py;
`own_measure_completion.json` a case whose client's measure is ticked off with its day (the
patch `own-measure-completion`, recorded by tests/workflows/test_own_measures.py, before the
patch `own-measure-follow-ups`); `own_measure_follow_ups.json` one whose client's measure
carries the course proposal and is ticked off, its follow-up dropped (that patch, recorded by
the same module);
`case_number_duplicate.json` a case opened through the API with its number in the input and
closed as `duplicate` in intake (recorded by tests/api/test_lifecycle.py);
`signature_edition.json` a case presented in its Arabic edition (the update
`request_signature_edition`, no patch) and signed by both (recorded by
tests/api/test_agreement_editions.py);
`notices_before_handover.json` a case whose review ends its run while the notices of its last
batch are starting, which the run waits for (the patch `notices-before-handover`, recorded by
tests/workflows/test_notice_handover.py).
"""

import pytest
from temporalio.common import HeaderCodecBehavior
from temporalio.worker import Replayer

from tests.case_histories import (
    HISTORIES,
    load_histories,
)
from tests.key_harness import session_converter
from workflows.actor_header import ActorInterceptor
from workflows.agreement import AgreementWorkflow
from workflows.referral import ReferralWorkflow

RECORDED = sorted(path.stem for path in HISTORIES.glob("*.json"))


def test_the_recorded_histories_are_there() -> None:
    recorded = set(RECORDED)
    assert {
        "happy_path",
        "referral_decline",
        "happy_path_v1",
        "referral_decline_v1",
        "referral_progress",
        "referral_progress_v1",
        "referral_withdrawal",
        "coordination_assignment",
        "happy_path_v3",
        "referral_decline_v3",
        "intake_correction",
        "signature_withdrawal",
        "case_number_duplicate",
        "own_measure_completion",
        "own_measure_follow_ups",
        "signature_edition",
        "notices_before_handover",
    } <= recorded


@pytest.mark.parametrize("name", RECORDED)
async def test_recorded_history_replays_with_the_current_code(name: str) -> None:
    histories = load_histories(name)
    replayer = Replayer(
        workflows=[AgreementWorkflow, ReferralWorkflow],
        data_converter=session_converter(),  # encrypting: a recorded plain payload passes
        interceptors=[ActorInterceptor()],  # as the worker has: updates' actors in headers
        header_codec_behavior=HeaderCodecBehavior.CODEC,  # as the worker's client has
    )
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None, (history.workflow_id, result.replay_failure)
    workflows = {h.workflow_id for h in histories}
    # Case histories hold the case's runs (and children); referral_progress* a referral alone.
    assert any("-ref-" not in workflow_id for workflow_id in workflows) != name.startswith(
        "referral_progress"
    )
