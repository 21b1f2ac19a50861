"""MedCom FHIR beside OIOXML: each organisation's format, both forms of a converted
letter, and the conversion records.

* ``organisation.format``: ``oioxml`` (the default: every organisation registered before)
  or ``fhir``: the letter format its system speaks; the hub converts for it.
* ``message``: ``sent_as`` (the sender's format), ``body_type`` (the media type of
  ``body``, what the receiver fetches), ``original`` (the sender's bytes when the hub
  converted them), ``fhir_bundle_id`` and ``fhir_message_id`` (Bundle.id and
  MessageHeader.id, the FHIR side's identifiers).
* ``message_conversion``: one converted letter (MedCom's conversion record, kept three
  months): its FHIR MessageHeader.id and OIOXML identifiers, the identifiers and parties
  its receipts need, and the XCTL receipts gathered until both have come.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coordinator.sqltypes import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(
            sa.Column("format", sa.String(length=8), nullable=False, server_default="oioxml")
        )
    with op.batch_alter_table("message") as batch:
        batch.add_column(
            sa.Column("sent_as", sa.String(length=8), nullable=False, server_default="oioxml")
        )
        batch.add_column(
            sa.Column(
                "body_type",
                sa.String(length=32),
                nullable=False,
                server_default="application/xml",
            )
        )
        batch.add_column(sa.Column("original", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("fhir_bundle_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("fhir_message_id", sa.String(length=64), nullable=True))
    op.create_table(
        "message_conversion",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fhir_gln", sa.String(length=20), nullable=False),
        sa.Column("oioxml_gln", sa.String(length=20), nullable=False),
        sa.Column("fhir_message_id", sa.String(length=64), nullable=False),
        sa.Column("letter_envelope_id", sa.String(length=14), nullable=False),
        sa.Column("letter_id", sa.String(length=14), nullable=False),
        sa.Column("binary_envelope_id", sa.String(length=14), nullable=True),
        sa.Column("binary_letter_id", sa.String(length=14), nullable=True),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("letter_receipt", sa.LargeBinary(), nullable=True),
        sa.Column("binary_receipt", sa.LargeBinary(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_message_conversion_fhir", "message_conversion", ["fhir_gln", "fhir_message_id"]
    )
    op.create_index("ix_message_conversion_letter", "message_conversion", ["fhir_gln", "letter_id"])
    op.create_index("ix_message_conversion_created", "message_conversion", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_message_conversion_created", table_name="message_conversion")
    op.drop_index("ix_message_conversion_letter", table_name="message_conversion")
    op.drop_index("ix_message_conversion_fhir", table_name="message_conversion")
    op.drop_table("message_conversion")
    with op.batch_alter_table("message") as batch:
        for column in ("fhir_message_id", "fhir_bundle_id", "original", "body_type", "sent_as"):
            batch.drop_column(column)
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("format")
