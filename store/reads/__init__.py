"""Every read-model and directory query that a page or an API route asks, named by what it
answers, one module per idea. Both front doors (`api/routes/`, `api/ui/`) call these instead
of writing their own SQL:

- `cases`: a centre's case list and a counsellor's open tasks.
- `inbox`: a partner agency's referrals and one referral's row.
- `supervision`: overdue reviews, open referrals, caseload, a case's overview, the evaluation
  counts and the municipality's case list.
- `centres`: a centre's facts, its counsellors, a municipality's centres, the Land.
- `paging`: one page of an ordered query.

Functions take the request's `Session` when a route or page has one (a list is read in the
same session as its audit entry), and the `Engine` when they run outside one.
"""
