"""Partner events: the index's change log.

* ``index_change``: one numbered row per change of a case, an appointment or the coordinator
  that partners may be told of (``GET /v1/partner-events``), written in the change's own
  transaction; ``seq`` (never reused) is the feed's cursor and the event's id.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coordinator.sqltypes import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_change",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("cpr", sa.String(length=10), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("owner_org", sa.String(length=13), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("shown", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_index_change_cpr", "index_change", ["cpr", "seq"])
    op.create_index("ix_index_change_at", "index_change", ["at"])


def downgrade() -> None:
    op.drop_index("ix_index_change_at", table_name="index_change")
    op.drop_index("ix_index_change_cpr", table_name="index_change")
    op.drop_table("index_change")
