"""Tests of domain/: the stage machines of a case and a referral, payloads and their field rules,
events, working days. Plain pytest, no Temporal."""
