"""The store: the directory (municipalities, centres, partners, users) and the read model (case
summaries, referrals, tasks, reviews, audit events), on SQLite by default and PostgreSQL in
production, schema managed by Alembic.

- `models`, `projections`: the tables; `types`: the column types they share.
- `db`: engines, sessions, migrations (`upgrade`).
- `directory`: the partner directory routing resolves partners from.
- `users`: accounts and password checks. `seed`: the demo data.
- `testing`: throw-away migrated stores on either backend, for tests.

Only activities write the read model and the case archive; the API reads them, and writes only
the audit log (`audit`) and, for administrators, the directory.
"""
