"""The opening hours' own index on ``property_id`` goes: the unique constraint's index
(``property_id, doc_key, facility, source_hash``) begins with the same column and serves every
lookup by property, so the second index only cost its upkeep at each ingestion's write.

Revision ID: facility_hours_index
Revises: chunk_derived
Create Date: 2026-12-02
"""

from alembic import op

revision = "facility_hours_index"
down_revision = "chunk_derived"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS facility_hours_property_idx")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS facility_hours_property_idx ON facility_hours (property_id)"
    )
