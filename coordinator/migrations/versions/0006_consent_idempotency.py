"""Idempotent consent recording: a recording organisation's ``Idempotency-Key`` names one
consent, so a retried ``POST /v1/children/{cpr}/consents`` never records it twice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("index_consent") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=128), nullable=True))
        batch.create_unique_constraint(
            "uq_index_consent_key", ["recorded_by_org", "idempotency_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("index_consent") as batch:
        batch.drop_constraint("uq_index_consent_key", type_="unique")
        batch.drop_column("idempotency_key")
