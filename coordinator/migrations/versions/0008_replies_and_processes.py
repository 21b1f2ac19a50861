"""Which letter a reply answers, and the running hub processes.

* ``message.in_reply_to``: the letter identifier a Samspil reply answers (its
  ``urn:samspil:letter:<id>`` reference), so the inbox threads a reply without an episode of
  care before it is opened;
* ``hub_process``: one row per running ``samspil serve`` process (host, pid, version, when
  it started and when its heartbeat was last seen), for the operators' summary.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coordinator.sqltypes import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("in_reply_to", sa.String(length=14), nullable=True))
    op.create_table(
        "hub_process",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("seen_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("hub_process")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("in_reply_to")
