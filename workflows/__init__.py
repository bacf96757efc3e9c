"""Temporal workflows: deterministic orchestration of cases and referrals (no I/O, no rules
engine, no clock)."""
