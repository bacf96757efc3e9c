"""`lotse db upgrade` migrates an empty SQLite store in the data dir, and is idempotent."""

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy


def test_db_upgrade_creates_schema_in_data_dir(tmp_path: Path) -> None:
    env = {**os.environ, "LOTSE_DATA_DIR": str(tmp_path)}
    env.pop("LOTSE_DATABASE_URL", None)
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "worker.cli", "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "Schema auf Stand" in result.stdout
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'lotse.sqlite'}")
    tables = set(sqlalchemy.inspect(engine).get_table_names())
    engine.dispose()
    assert {"case_summaries", "referrals", "users", "partners"} <= tables
