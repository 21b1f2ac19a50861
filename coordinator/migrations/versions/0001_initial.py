"""The hub's first schema: organisations, credentials, messages and their events.

Revision ID: 0001
Revises:
Create Date: 2025-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coordinator.sqltypes import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("gln", sa.String(13), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sector", sa.String(16), nullable=False),
        sa.Column("sor", sa.String(16), nullable=True),
        sa.Column("municipality", sa.String(3), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_poll_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_organisation_gln", "organisation", ["gln"], unique=True)
    op.create_table(
        "credential",
        sa.Column("org_gln", sa.String(13), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_gln"], ["organisation.gln"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_credential_org_gln", "credential", ["org_gln"])
    op.create_table(
        "message",
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("sender_gln", sa.String(20), nullable=False),
        sa.Column("receiver_gln", sa.String(20), nullable=False),
        sa.Column("envelope_id", sa.String(14), nullable=False),
        sa.Column("letter_id", sa.String(14), nullable=False),
        sa.Column("episode_id", sa.String(35), nullable=True),
        sa.Column("ack_requested", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("is_resend", sa.Boolean(), nullable=False),
        sa.Column("resend_of", sa.Uuid(), nullable=True),
        sa.Column("original_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("in_inbox", sa.Boolean(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("receipt_id", sa.Uuid(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_gln", "envelope_id", "letter_id", name="uq_message_identity"),
    )
    op.create_index("ix_message_inbox", "message", ["receiver_gln", "in_inbox", "received_at"])
    op.create_index("ix_message_outbox", "message", ["sender_gln", "received_at"])
    op.create_index("ix_message_letter", "message", ["sender_gln", "letter_id"])
    op.create_index("ix_message_sweep", "message", ["in_inbox", "received_at"])
    op.create_table(
        "message_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_message_event_message_id", "message_event", ["message_id"])


def downgrade() -> None:
    op.drop_table("message_event")
    op.drop_table("message")
    op.drop_table("credential")
    op.drop_table("organisation")
