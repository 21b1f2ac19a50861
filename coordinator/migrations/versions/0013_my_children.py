"""My children: an organisation's own active cases by child.

* ``index_case``: ``ix_index_case_org_active`` (organisation, status, child, updated) — the
  index ``GET /v1/children`` reads: an organisation's active cases, grouped by child in index
  order, the newest update per child read from the index alone (at national scale a
  municipality has thousands of active cases among hundreds of thousands closed).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_index_case_org_active", "index_case", ["org_gln", "status", "cpr", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_index_case_org_active", table_name="index_case")
