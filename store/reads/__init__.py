"""Every read-model and directory query that a page or an API route asks, named by what it
answers, one module per idea. Both front doors (`api/routes/`, `api/ui/`) call these and hold
no SQL of their own:

- `cases`: a centre's case list and a counsellor's open tasks.
- `inbox`: a partner agency's referrals and one referral's row.
- `supervision`: overdue reviews, open referrals, caseload, a case's overview, the evaluation
  counts and the municipality's case list.
- `inbound`: referrals from partners to a centre: a centre's incoming ones, a partner's sent
  ones, a municipality's, and the referring partner.
- `scope`: who owns a case or a referral, which centre an inbound referral is for, the active
  account, a caller's municipality.
- `centres`: a centre's facts, its counsellors, a municipality's centres, the Land.
- `admin`: partner agencies, accounts, the audit trail, the administrators' tasks.
- `operations`: the database's health and the counts behind the metrics.
- `archive`: a signature request from the archived history (the archive's other reads are in
  `store.archive`).
- `notifications`: a user's notifications and unread count, the mails by status (admins).
- `paging`: one page of an ordered query.

Functions take the request's `Session` when a route or page has one (a list is read in the
same session as its audit entry), and the `Engine` when they run outside one.
"""
