"""Temporal activities: all I/O of a case and its referrals (routing by the rules, partner
resolution, rendering and archiving the agreement, projecting events to the read model,
archiving partners' notes)."""
