"""The store: the directory (municipalities, centres, partners, users) with the inbound
referrals between them, the read model (case summaries, referrals, tasks, reviews), the case
archive (events, agreement documents, partners' notes) and the audit log, on SQLite by default
and PostgreSQL in production, schema managed by Alembic.

- `models`, `projections`: the tables; `types`: the column types they share.
- `db`: engines, sessions, migrations (`upgrade`).
- `projector`: case events into the read model; `archive`: what a case no longer carries.
- `facts`, `fact_writer`, `backfill`: the evaluation's facts; `evaluation_cells`,
  `evaluation_cells_build`: its monthly cells, counted again from the facts where marked.
- `reads/`: every query a page or an API route asks.
- `directory`: the partner directory routing resolves partners from;
  `directory_changes`: the administrators' writes to it.
- `inbound`: the writes of referrals from partners to a centre (the API's).
- `notifications`: the in-app notifications, the mail ledger, and whom a notice reaches.
- `users`: accounts and password checks. `audit`: the audit log. `seed`: the demo data.
- `testing`: throw-away migrated stores on either backend, for tests.

Only activities write the read model, the case archive and the notifications; the API reads
them, and writes only the audit log, the inbound referrals, a user's own notifications' read
marks and mail switch, and, for administrators, the directory; and a report counts the
evaluation's stale monthly cells again before it reads them.
"""
