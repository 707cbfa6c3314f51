"""Initial schema: properties, index versions, documents and chunks with 384-d embeddings.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute("""
    CREATE TABLE properties (
        id           text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
        name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        live_version bigint,
        -- bumped on every change to the live content; part of the answer-cache key
        revision     bigint NOT NULL DEFAULT 0,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now()
    )
    """)
    op.execute("""
    CREATE TABLE index_versions (
        id           bigserial PRIMARY KEY,
        property_id  text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
        state        text NOT NULL CHECK (state IN ('building', 'live', 'retired', 'failed')),
        model        text NOT NULL,
        dim          integer NOT NULL CHECK (dim > 0),
        chunking     jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at   timestamptz NOT NULL DEFAULT now(),
        activated_at timestamptz
    )
    """)
    op.execute("CREATE INDEX index_versions_property_idx ON index_versions (property_id, state)")
    op.execute("""
    ALTER TABLE properties
        ADD CONSTRAINT properties_live_version_fkey
        FOREIGN KEY (live_version) REFERENCES index_versions (id)
        ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED
    """)
    op.execute("""
    CREATE TABLE documents (
        id           bigserial PRIMARY KEY,
        property_id  text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
        version_id   bigint NOT NULL REFERENCES index_versions (id) ON DELETE CASCADE,
        doc_key      text NOT NULL CHECK (length(doc_key) BETWEEN 1 AND 512),
        title        text NOT NULL,
        source       text,
        metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
        content_hash text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        UNIQUE (version_id, doc_key)
    )
    """)
    op.execute("CREATE INDEX documents_property_idx ON documents (property_id)")
    op.execute("""
    CREATE TABLE chunks (
        id           bigserial PRIMARY KEY,
        document_id  bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        property_id  text NOT NULL,
        version_id   bigint NOT NULL,
        ord          integer NOT NULL,
        heading      text NOT NULL DEFAULT '',
        text         text NOT NULL,
        content_hash text NOT NULL,
        embedding    vector(384) NOT NULL,
        tsv          tsvector GENERATED ALWAYS AS (
                         setweight(to_tsvector('english', heading), 'A') ||
                         setweight(to_tsvector('english', text), 'B')
                     ) STORED,
        UNIQUE (document_id, ord)
    )
    """)
    # Hot-path filters: the live version of one property (exact search and scoping), ANN, full text.
    op.execute("CREATE INDEX chunks_version_idx ON chunks (version_id)")
    op.execute("CREATE INDEX chunks_property_idx ON chunks (property_id)")
    op.execute("""
    CREATE INDEX chunks_embedding_hnsw ON chunks
        USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)
    """)
    op.execute("CREATE INDEX chunks_tsv_gin ON chunks USING gin (tsv)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS chunks")
    op.execute("DROP TABLE IF EXISTS documents")
    op.execute("ALTER TABLE properties DROP CONSTRAINT IF EXISTS properties_live_version_fkey")
    op.execute("DROP TABLE IF EXISTS index_versions")
    op.execute("DROP TABLE IF EXISTS properties")
