"""An expired letter is not waiting for a receipt: clear its ``overdue`` flag.

The expiry sweep now clears the flag when it expires a letter; letters expired before that
kept it for ever, so ``samspil_overdue_receipts`` never went down. Data only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    message = sa.table("message", sa.column("status", sa.String), sa.column("overdue", sa.Boolean))
    op.execute(
        message.update()
        .where(message.c.status == "expired", message.c.overdue.is_(True))
        .values(overdue=False)
    )


def downgrade() -> None:
    """Nothing to undo: which flags were stale is not kept."""
