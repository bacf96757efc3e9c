"""Sign-in with the municipality's identity provider (issue 16, store/oidc.py).

- `oidc_links`: an account's identity at the provider, (issuer, subject), one each way.
- `oidc_pending_logins`: sign-ins sent to the provider and not answered yet (hashes of the
  state and of the browser's cookie, the nonce, the PKCE verifier), each taken once.

Follows 0016 (the directory's active flags).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "oidc_links",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("linked_at", INSTANT, nullable=False),
        sa.Column("linked_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"], ["users.username"], name=op.f("fk_oidc_links_username_users")
        ),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_oidc_links")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_oidc_links_issuer_subject")),
    )
    op.create_table(
        "oidc_pending_logins",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_oidc_pending_logins")),
    )
    op.create_index(
        op.f("ix_oidc_pending_logins_created_at"),
        "oidc_pending_logins",
        ["created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_oidc_pending_logins_created_at"), table_name="oidc_pending_logins")
    op.drop_table("oidc_pending_logins")
    op.drop_table("oidc_links")
