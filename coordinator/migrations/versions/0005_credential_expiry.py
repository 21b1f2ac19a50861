"""Optional expiry of credentials: a token is refused after ``expires_at`` (NULL: never).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coordinator.sqltypes import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credential") as batch:
        batch.add_column(sa.Column("expires_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credential") as batch:
        batch.drop_column("expires_at")
