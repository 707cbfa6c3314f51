"""Chunks partitioned by property: each property's chunks in their own table and indexes.

A scoped search on one HNSW index over every property's chunks had to scan past the other
properties' neighbours (the filter is applied after the index scan), so its cost grew with
the share of the table a property did *not* hold: tens of milliseconds for a property with
2% of 100k chunks. With one partition per property the HNSW index, the full-text index and
the version index of a search hold only that property's rows, whatever the other properties'
size.

Partitions are created by a trigger on ``properties`` (so the schema still belongs to the
migrations and no application code issues DDL); the partitioned indexes defined here are
cloned onto each new partition by PostgreSQL. A deleted property leaves an empty partition,
which a property created again under the same id reuses. Keys now include ``property_id``
(PostgreSQL requires the partition key in every unique index); ids still come from one
sequence, so they stay unique across properties.

Revision ID: partitioned_chunks
Revises: follow_up_sessions
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "partitioned_chunks"
down_revision = "follow_up_sessions"
branch_labels = None
depends_on = None

_COLUMNS = "id, document_id, property_id, version_id, ord, heading, text, content_hash, embedding"
_OLD_INDEXES = (
    "chunks_version_idx",
    "chunks_property_idx",
    "chunks_embedding_hnsw",
    "chunks_tsv_gin",
    "chunks_property_hash_idx",
)


def _dimension() -> int:
    dim = op.get_bind().execute(
        sa.text(
            "SELECT atttypmod FROM pg_attribute "
            "WHERE attrelid = 'chunks'::regclass AND attname = 'embedding'"
        )
    )
    return int(dim.scalar_one())


def _table(partitioned: bool, dim: int) -> str:
    keys = (
        "PRIMARY KEY (id, property_id), UNIQUE (document_id, ord, property_id)"
        if partitioned
        else "PRIMARY KEY (id), UNIQUE (document_id, ord)"
    )
    return f"""
    CREATE TABLE chunks (
        id           bigint NOT NULL DEFAULT nextval('chunks_id_seq'),
        document_id  bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        property_id  text NOT NULL,
        version_id   bigint NOT NULL,
        ord          integer NOT NULL,
        heading      text NOT NULL DEFAULT '',
        text         text NOT NULL,
        content_hash text NOT NULL,
        embedding    vector({dim}) NOT NULL,
        tsv          tsvector GENERATED ALWAYS AS (
                         setweight(to_tsvector('english', heading), 'A') ||
                         setweight(to_tsvector('english', text), 'B')
                     ) STORED,
        {keys}
    ){" PARTITION BY LIST (property_id)" if partitioned else ""}
    """


def _set_aside() -> None:
    """Rename the current chunks table out of the way, keeping its rows and its sequence."""
    for name in _OLD_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("ALTER TABLE chunks RENAME TO chunks_previous")
    op.execute("ALTER TABLE chunks_previous RENAME CONSTRAINT chunks_pkey TO chunks_previous_pkey")
    op.execute("ALTER SEQUENCE chunks_id_seq OWNED BY NONE")


def _move_rows() -> None:
    op.execute(f"INSERT INTO chunks ({_COLUMNS}) SELECT {_COLUMNS} FROM chunks_previous")
    op.execute("DROP TABLE chunks_previous")
    op.execute("ALTER SEQUENCE chunks_id_seq OWNED BY chunks.id")
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE PLAIN")


def upgrade() -> None:
    dim = _dimension()
    _set_aside()
    # The old unique constraint's index name would clash with the new one's.
    op.execute(
        "ALTER TABLE chunks_previous RENAME CONSTRAINT chunks_document_id_ord_key "
        "TO chunks_previous_document_id_ord_key"
    )
    op.execute(_table(partitioned=True, dim=dim))
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE PLAIN")
    op.execute("""
    CREATE FUNCTION chunk_partition(property text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT 'chunks_' || substr(md5(property), 1, 24) $$
    """)
    op.execute("""
    CREATE FUNCTION create_chunk_partition(property text) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        IF to_regclass(chunk_partition(property)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF chunks FOR VALUES IN (%L)',
                           chunk_partition(property), property);
        END IF;
    END $$
    """)
    op.execute("""
    CREATE FUNCTION properties_chunk_partition() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM create_chunk_partition(NEW.id);
        RETURN NULL;
    END $$
    """)
    op.execute("""
    CREATE TRIGGER properties_chunk_partition AFTER INSERT ON properties
        FOR EACH ROW EXECUTE FUNCTION properties_chunk_partition()
    """)
    op.execute("""
    SELECT create_chunk_partition(id)
    FROM (SELECT id FROM properties UNION SELECT DISTINCT property_id FROM chunks_previous) p
    """)
    _move_rows()
    # Per partition: the live version (exact search), ANN, full text, reuse by content hash.
    op.execute("CREATE INDEX chunks_version_idx ON chunks (version_id)")
    op.execute("""
    CREATE INDEX chunks_embedding_hnsw ON chunks
        USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)
    """)
    op.execute("CREATE INDEX chunks_tsv_gin ON chunks USING gin (tsv)")
    op.execute("CREATE INDEX chunks_hash_idx ON chunks (content_hash)")
    op.execute("ANALYZE chunks")


def downgrade() -> None:
    dim = _dimension()
    for name in (
        "chunks_version_idx",
        "chunks_embedding_hnsw",
        "chunks_tsv_gin",
        "chunks_hash_idx",
    ):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP TRIGGER IF EXISTS properties_chunk_partition ON properties")
    op.execute("ALTER TABLE chunks RENAME TO chunks_previous")
    op.execute("ALTER TABLE chunks_previous RENAME CONSTRAINT chunks_pkey TO chunks_previous_pkey")
    op.execute(
        "ALTER TABLE chunks_previous RENAME CONSTRAINT chunks_document_id_ord_property_id_key "
        "TO chunks_previous_document_id_ord_key"
    )
    op.execute("ALTER SEQUENCE chunks_id_seq OWNED BY NONE")
    op.execute(_table(partitioned=False, dim=dim))
    _move_rows()
    op.execute("DROP FUNCTION IF EXISTS properties_chunk_partition()")
    op.execute("DROP FUNCTION IF EXISTS create_chunk_partition(text)")
    op.execute("DROP FUNCTION IF EXISTS chunk_partition(text)")
    op.execute("CREATE INDEX chunks_version_idx ON chunks (version_id)")
    op.execute("CREATE INDEX chunks_property_idx ON chunks (property_id)")
    op.execute("""
    CREATE INDEX chunks_embedding_hnsw ON chunks
        USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)
    """)
    op.execute("CREATE INDEX chunks_tsv_gin ON chunks USING gin (tsv)")
    op.execute("CREATE INDEX chunks_property_hash_idx ON chunks (property_id, content_hash)")
    op.execute("ANALYZE chunks")
