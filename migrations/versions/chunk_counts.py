"""Each index version keeps the number of its chunks.

The property registry chooses exact search or HNSW (and the HNSW's ``ef_search``) by the live
version's chunk count. It counted the chunks of every property at each start and each refresh:
a pass over every partition (100,000 chunks: 26,000 pages, about 60 ms of the database's
time, and 0.1-0.3 s on a server process's first connection), every 30 s in every worker.

``index_versions.chunk_count`` is kept by statement triggers on ``chunks``, which add the rows
a statement inserted and subtract those it deleted, per version (a document's chunks deleted
by cascade included). The admin property list and the shadow runs read it too. Chunks never
move between versions. Writers of one property already take its row first (``FOR NO KEY
UPDATE``), so the version row's update adds no new lock order.

Revision ID: chunk_counts
Revises: partition_lock_order
Create Date: 2026-12-02
"""

from alembic import op

revision = "chunk_counts"
down_revision = "partition_lock_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE index_versions ADD COLUMN chunk_count bigint NOT NULL DEFAULT 0")
    op.execute("""
    CREATE FUNCTION count_chunks_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE index_versions v SET chunk_count = v.chunk_count + n.added
        FROM (SELECT version_id, count(*) AS added FROM added_chunks GROUP BY version_id) n
        WHERE v.id = n.version_id;
        RETURN NULL;
    END $$
    """)
    op.execute("""
    CREATE FUNCTION count_chunks_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE index_versions v SET chunk_count = v.chunk_count - n.removed
        FROM (SELECT version_id, count(*) AS removed FROM removed_chunks GROUP BY version_id) n
        WHERE v.id = n.version_id;
        RETURN NULL;
    END $$
    """)
    op.execute("""
    CREATE TRIGGER chunks_counted_in AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS added_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION count_chunks_added()
    """)
    op.execute("""
    CREATE TRIGGER chunks_counted_out AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS removed_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION count_chunks_removed()
    """)
    # The chunks already stored. Creating the triggers locked ``chunks`` against writes until
    # this migration commits, so no row is counted twice or missed.
    op.execute("""
    UPDATE index_versions v SET chunk_count = c.n
    FROM (SELECT version_id, count(*) AS n FROM chunks GROUP BY version_id) c
    WHERE v.id = c.version_id
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER chunks_counted_out ON chunks")
    op.execute("DROP TRIGGER chunks_counted_in ON chunks")
    op.execute("DROP FUNCTION count_chunks_removed()")
    op.execute("DROP FUNCTION count_chunks_added()")
    op.execute("ALTER TABLE index_versions DROP COLUMN chunk_count")
