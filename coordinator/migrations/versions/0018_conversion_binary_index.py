"""Conversion records found by their XBIN01 too: ``ix_message_conversion_binary``.

An XCTL for a FHIR sender's converted letter finds its conversion record by the letter it
answers: the XDIS91's identifier (``ix_message_conversion_letter``) or the XBIN01's
(``binary_letter_id``, which had no index: the lookup read every record of the FHIR
organisation's three months).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_message_conversion_binary", "message_conversion", ["fhir_gln", "binary_letter_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_message_conversion_binary", table_name="message_conversion")
