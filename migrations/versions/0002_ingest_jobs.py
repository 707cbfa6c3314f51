"""Ingestion jobs, document bodies for re-indexing, and chunk-hash lookups for reuse.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The normalised text of each document: a re-index rebuilds a version from the database
    # alone (uploaded documents have no folder to read again).
    op.execute("ALTER TABLE documents ADD COLUMN body text")
    # When a version stopped being live: it is deleted once in-flight requests are done with it.
    op.execute("ALTER TABLE index_versions ADD COLUMN retired_at timestamptz")
    # Embedding reuse: identical chunk text embedded by the same model is never embedded twice.
    op.execute("CREATE INDEX chunks_property_hash_idx ON chunks (property_id, content_hash)")
    op.execute("""
    CREATE TABLE ingest_jobs (
        id           bigserial PRIMARY KEY,
        kind         text NOT NULL CHECK (kind IN ('reindex', 'ingest')),
        property_id  text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
        state        text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
        params       jsonb NOT NULL DEFAULT '{}'::jsonb,
        progress     jsonb NOT NULL DEFAULT '{}'::jsonb,
        -- the version a re-index is building; a retry resumes it
        target_version bigint REFERENCES index_versions (id) ON DELETE SET NULL,
        error        text,
        attempts     integer NOT NULL DEFAULT 0,
        worker       text,
        requested_by text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        started_at   timestamptz,
        heartbeat_at timestamptz,
        finished_at  timestamptz
    )
    """)
    op.execute("CREATE INDEX ingest_jobs_queued_idx ON ingest_jobs (id) WHERE state = 'queued'")
    op.execute("CREATE INDEX ingest_jobs_property_idx ON ingest_jobs (property_id, id)")
    # At most one running job per property: two re-indexes never race on one property.
    op.execute("""
    CREATE UNIQUE INDEX ingest_jobs_one_running ON ingest_jobs (property_id)
        WHERE state = 'running'
    """)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ingest_jobs")
    op.execute("DROP INDEX IF EXISTS chunks_property_hash_idx")
    op.execute("ALTER TABLE index_versions DROP COLUMN IF EXISTS retired_at")
    op.execute("ALTER TABLE documents DROP COLUMN IF EXISTS body")
