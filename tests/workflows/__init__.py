"""Tests of workflows/ and the activities they call: AgreementWorkflow and ReferralWorkflow on
Temporal's test and dev servers, saved histories replayed, patches, containment of errors, the
projection loop, bounded state, and determinism of the workflow code."""
