"""Trust between partners: verified and attested consents, disputes, notifications to data
owners, operators' reasons, certificates revoked on their own.

* ``index_consent``: ``verification`` (``attested`` for every consent recorded so far: a
  caseworker's word), the signed document and its unique id for a ``verified`` one, and the
  named organisations (GLNs) a consent covers besides its sectors; an index for the
  per-organisation count of attested consents per day;
* ``index_consent_dispute``: a data owner's dispute of an attested consent;
* ``index_notification``: what a data owner is told beside the views of its data (an
  attested consent that opened it, a new partner, a dispute of its consent);
* ``index_access_log.reason``: an operator's stated reason for reading a child's access log;
* ``index_case``: an index for the per-organisation count of new children per day;
* ``revoked_certificate``: client certificates revoked by serial number.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coordinator.sqltypes import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("index_consent") as batch:
        batch.add_column(
            sa.Column(
                "verification", sa.String(length=16), nullable=False, server_default="attested"
            )
        )
        batch.add_column(sa.Column("document_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("document", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("organisations", sa.String(length=1400), nullable=False, server_default="")
        )
        batch.create_unique_constraint("uq_index_consent_document_id", ["document_id"])
    op.create_index(
        "ix_index_consent_recorder", "index_consent", ["recorded_by_org", "recorded_at"]
    )
    op.create_table(
        "index_consent_dispute",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("cpr", sa.String(length=10), nullable=False),
        sa.Column("org_gln", sa.String(length=13), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["consent_id"], ["index_consent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consent_id", "org_gln", name="uq_index_consent_dispute"),
    )
    op.create_index("ix_index_consent_dispute_consent_id", "index_consent_dispute", ["consent_id"])
    op.create_index("ix_index_consent_dispute_cpr", "index_consent_dispute", ["cpr"])
    op.create_table(
        "index_notification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_org", sa.String(length=13), nullable=False),
        sa.Column("cpr", sa.String(length=10), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("about_org", sa.String(length=13), nullable=False),
        sa.Column("consent_id", sa.Uuid(), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_role", sa.String(length=100), nullable=True),
        sa.Column("contact_phone", sa.String(length=40), nullable=True),
        sa.Column("contact_email", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "owner_org", "kind", "consent_id", "about_org", name="uq_index_notification_once"
        ),
    )
    op.create_index("ix_index_notification_owner", "index_notification", ["owner_org", "at"])
    op.create_index("ix_index_notification_cpr", "index_notification", ["cpr"])
    with op.batch_alter_table("index_access_log") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=500), nullable=True))
    op.create_index("ix_index_case_org_created", "index_case", ["org_gln", "created_at"])
    op.create_table(
        "revoked_certificate",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("org_gln", sa.String(length=13), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["org_gln"], ["organisation.gln"]),
        sa.PrimaryKeyConstraint("serial"),
    )
    op.create_index("ix_revoked_certificate_org_gln", "revoked_certificate", ["org_gln"])


def downgrade() -> None:
    op.drop_index("ix_revoked_certificate_org_gln", table_name="revoked_certificate")
    op.drop_table("revoked_certificate")
    op.drop_index("ix_index_case_org_created", table_name="index_case")
    with op.batch_alter_table("index_access_log") as batch:
        batch.drop_column("reason")
    op.drop_index("ix_index_notification_cpr", table_name="index_notification")
    op.drop_index("ix_index_notification_owner", table_name="index_notification")
    op.drop_table("index_notification")
    op.drop_index("ix_index_consent_dispute_cpr", table_name="index_consent_dispute")
    op.drop_index("ix_index_consent_dispute_consent_id", table_name="index_consent_dispute")
    op.drop_table("index_consent_dispute")
    op.drop_index("ix_index_consent_recorder", table_name="index_consent")
    with op.batch_alter_table("index_consent") as batch:
        batch.drop_constraint("uq_index_consent_document_id", type_="unique")
        batch.drop_column("organisations")
        batch.drop_column("document")
        batch.drop_column("document_id")
        batch.drop_column("verification")
