"""Tests of store/: the engine, migrations and column types, the directory, accounts, demo data, the
projector, the case archive and the read model's indexes, on SQLite and on PostgreSQL."""
