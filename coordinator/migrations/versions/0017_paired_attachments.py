"""Paired attachments: the XBIN01 a FHIR receiver's letter carries knows its letter.

* ``message.paired_with``: set on an XBIN01 whose data went inside its XDIS91's
  CareCommunication (C10): that XDIS91's id. Such an XBIN01 is never released on its own,
  whatever the age of its conversion record, and its status follows its letter's (fetched,
  acknowledged, expired), so it leaves the hub with it. Null for every other message.
  Filled here for the XBIN01 already paired (known from their conversion records).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_BACKFILL = sa.text(
    """
    UPDATE message SET paired_with = (
        SELECT letter.id FROM message_conversion c
        JOIN message letter
          ON letter.sender_gln = c.oioxml_gln AND letter.receiver_gln = c.fhir_gln
         AND letter.envelope_id = c.letter_envelope_id AND letter.letter_id = c.letter_id
        WHERE c.oioxml_gln = message.sender_gln AND c.fhir_gln = message.receiver_gln
          AND c.binary_envelope_id = message.envelope_id
          AND c.binary_letter_id = message.letter_id
    )
    WHERE type = 'XBIN01' AND in_inbox = :no AND sent_as = 'oioxml'
    """
).bindparams(no=False)


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("paired_with", sa.Uuid(), nullable=True))
        batch.create_index("ix_message_paired", ["paired_with"])
    op.execute(_BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_index("ix_message_paired")
        batch.drop_column("paired_with")
