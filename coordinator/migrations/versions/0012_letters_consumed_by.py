"""Who owns an organisation's mailbox.

* ``organisation.letters_consumed_by``: ``system`` (its case system, through its adapter,
  fetches and acknowledges its letters: what every organisation did before) or ``people``
  (its caseworkers, in the terminal app). Existing organisations keep ``system``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(
            sa.Column(
                "letters_consumed_by",
                sa.String(length=8),
                nullable=False,
                server_default="system",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("letters_consumed_by")
