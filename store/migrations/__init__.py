"""Alembic migrations of the store (env.py and versions/), shipped inside the package so that
`store.db.upgrade` finds them from any working directory and in a non-editable install."""
