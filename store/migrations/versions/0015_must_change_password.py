"""A password reset forces a new password (issue 16): `users.must_change_password` and
`users.password_changed_at`.

An administrator's reset (`POST /admin/users/{username}/password-reset`) sets a temporary
password and the flag; while it is set, the account's tokens and web session reach nothing
but the change of its own password (`POST /me/password`, the page „Neues Passwort
festlegen“), which clears it. A reset and a change stamp `password_changed_at`: every token
and session issued before is refused from then on. Existing accounts start with neither.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(
            sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_changed_at")
        batch.drop_column("must_change_password")
