"""Inbox threads and the kind of each logged view.

* ``message.patient_cpr``: the CPR of the child an XDIS91 is about (only a real CPR; never
  shown in an inbox entry), so the inbox can offer the receiver to register a case
  (``suggested_case``) while it has no active one for that child;
* ``message.subject``: the XDIS91's ``AdditionalInformation/Subject``, for the inbox;
* ``index_access_log.kind``: which read disclosed the entries (``overview``, ``consents``
  or ``access-log``); the views logged before this revision were all overviews.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("patient_cpr", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("subject", sa.String(length=70), nullable=True))
    with op.batch_alter_table("index_access_log") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="overview")
        )


def downgrade() -> None:
    with op.batch_alter_table("index_access_log") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("subject")
        batch.drop_column("patient_cpr")
