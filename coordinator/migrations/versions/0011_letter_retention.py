"""Letter retention: what stays of a removed message.

* ``message_removed``: a message the letter retention removed (its body, CPR, subject and
  status history are deleted with its ``message`` row): its id, type, parties, envelope and
  letter identifiers, last status and the times it arrived, last changed and was removed.
  Unique on (sender, letter, envelope): the identity rule's key, so a message sent again
  after it was removed is still a duplicate.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coordinator.sqltypes import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_removed",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("sender_gln", sa.String(length=20), nullable=False),
        sa.Column("receiver_gln", sa.String(length=20), nullable=False),
        sa.Column("envelope_id", sa.String(length=14), nullable=False),
        sa.Column("letter_id", sa.String(length=14), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("removed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "sender_gln", "letter_id", "envelope_id", name="uq_message_removed_identity"
        ),
    )


def downgrade() -> None:
    op.drop_table("message_removed")
