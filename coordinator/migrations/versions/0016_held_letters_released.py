"""Held letters: when a letter held for its other half went into its receiver's inbox.

* ``message.released_at``: set when an XDIS91 or XBIN01 held for a FHIR receiver (MedCom's
  60 minutes, C10) goes into the inbox; its ``SAMSPIL_MESSAGE_TTL`` counts from then, so the
  hour it waited is not taken from the receiver's time to fetch it. Null for every other
  letter: its time counts from its arrival (``received_at``).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coordinator.sqltypes import UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("released_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("released_at")
