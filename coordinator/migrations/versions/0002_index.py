"""The shared index: children, cases, appointments, consents, coordinators, the access log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coordinator.sqltypes import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_child",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cpr", sa.String(10), nullable=False),
        sa.Column("born_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cpr"),
    )
    op.create_index("ix_index_child_born_on", "index_child", ["born_on"])
    op.create_table(
        "index_case",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_gln", sa.String(13), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("cpr", sa.String(10), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=False),
        sa.Column("contact_role", sa.String(100), nullable=False),
        sa.Column("contact_phone", sa.String(40), nullable=True),
        sa.Column("contact_email", sa.String(200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_gln"], ["organisation.gln"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_gln", "ref", name="uq_index_case_ref"),
    )
    op.create_index("ix_index_case_cpr", "index_case", ["cpr", "status"])
    op.create_index("ix_index_case_retention", "index_case", ["status", "closed_on"])
    op.create_table(
        "index_appointment",
        sa.Column("starts_at", UtcDateTime(), nullable=False),
        sa.Column("ends_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_gln", sa.String(13), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("cpr", sa.String(10), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=True),
        sa.Column("with_name", sa.String(200), nullable=False),
        sa.Column("with_role", sa.String(100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_gln"], ["organisation.gln"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_gln", "ref", name="uq_index_appointment_ref"),
    )
    op.create_index("ix_index_appointment_cpr", "index_appointment", ["cpr", "starts_at"])
    op.create_index("ix_index_appointment_ends", "index_appointment", ["ends_at"])
    op.create_table(
        "index_consent",
        sa.Column("given_by_name", sa.String(200), nullable=False),
        sa.Column("relation", sa.String(24), nullable=False),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("valid_until", UtcDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cpr", sa.String(10), nullable=False),
        sa.Column("sectors", sa.String(64), nullable=False),
        sa.Column("recorded_by_org", sa.String(13), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_by_org", sa.String(13), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_index_consent_cpr", "index_consent", ["cpr"])
    op.create_table(
        "index_coordinator",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cpr", sa.String(10), nullable=False),
        sa.Column("org_gln", sa.String(13), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=False),
        sa.Column("contact_role", sa.String(100), nullable=False),
        sa.Column("contact_phone", sa.String(40), nullable=True),
        sa.Column("contact_email", sa.String(200), nullable=True),
        sa.Column("named_by_org", sa.String(13), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_gln"], ["organisation.gln"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cpr"),
    )
    op.create_table(
        "index_access_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cpr", sa.String(10), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("viewer_org", sa.String(13), nullable=False),
        sa.Column("viewer_person", sa.String(200), nullable=False),
        sa.Column("viewer_credential", sa.Uuid(), nullable=False),
        sa.Column("on_behalf_of", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_index_access_log_cpr", "index_access_log", ["cpr", "at"])
    op.create_table(
        "index_disclosure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("access_id", sa.Uuid(), nullable=False),
        sa.Column("owner_org", sa.String(13), nullable=False),
        sa.Column("cpr", sa.String(10), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["access_id"], ["index_access_log.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_index_disclosure_access_id", "index_disclosure", ["access_id"])
    op.create_index("ix_index_disclosure_owner", "index_disclosure", ["owner_org", "at"])


def downgrade() -> None:
    op.drop_table("index_disclosure")
    op.drop_table("index_access_log")
    op.drop_table("index_coordinator")
    op.drop_table("index_consent")
    op.drop_table("index_appointment")
    op.drop_table("index_case")
    op.drop_table("index_child")
