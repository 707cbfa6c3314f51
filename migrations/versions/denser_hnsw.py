"""Every partition's HNSW index is built with 32 neighbours per node and a candidate list of 200.

With m 16 and ef_construction 64 the largest property of the 100k bench (18,641 chunks) found
recall@5 0.97 at ``hnsw.ef_search`` 100 and needed 600 to reach 0.99, which cost about 4 ms of
database time per question. The denser graph finds 0.99 at ``ef_search`` 60 and 0.994 at 80 on
the same questions, in about 1 ms. It costs a larger index (38 MB against 36 MB) and slower
single-row inserts (about 6.5 ms a chunk against 1.5 ms into an 18k graph), paid by ingestion.

The planner is told what a distance costs: pgvector costs an HNSW scan as reading the whole
index once ``(levels + 2) * m * ef_search`` passes the partition's rows (below about 19k
chunks at m 32 and ``ef_search`` 150), while a distance counts as one plain operator, so the
planner preferred to compute every chunk's distance and sort them: an exact search, 5-8 ms at
10k chunks where the index answers in 1-2 ms (at m 16 only the largest partition of the bench
was read through its index). At a cost of 1000 operators (2.5 sequential page reads) every
partition above ``RAG_EXACT_SEARCH_MAX_CHUNKS`` is read through its index, as the search
intends; exact searches order by ``distance + 0``, which no index provides, so they are
unchanged.

The partitioned index is dropped and built again: PostgreSQL builds each partition's index
from the new definition and clones it onto every partition created later (a property's
partition is created with the property). Searches wait while it runs: the dropped index
locks the chunks until the new ones are built (under two minutes for 100k chunks on two busy cores).

Revision ID: denser_hnsw
Revises: partitioned_chunks
Create Date: 2026-12-01
"""

from alembic import op

revision = "denser_hnsw"
down_revision = "partitioned_chunks"
branch_labels = None
depends_on = None


def _build(m: int, ef_construction: int) -> None:
    op.execute("DROP INDEX IF EXISTS chunks_embedding_hnsw")
    # A graph built in memory is several times faster to build than one that spills to disk.
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    op.execute(f"""
    CREATE INDEX chunks_embedding_hnsw ON chunks
        USING hnsw (embedding vector_cosine_ops)
        WITH (m = {m}, ef_construction = {ef_construction})
    """)


def _distance_cost(cost: int) -> None:
    # Owned by the extension's owner: a database user that does not own it keeps the default
    # (searches stay right, a partition of a few thousand chunks is then searched exactly).
    op.execute(f"""
    DO $$
    BEGIN
        ALTER FUNCTION cosine_distance(vector, vector) COST {cost};
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'cosine_distance keeps its planner cost: %', SQLERRM;
    END $$
    """)


def upgrade() -> None:
    _build(32, 200)
    _distance_cost(1000)


def downgrade() -> None:
    _distance_cost(1)
    _build(16, 64)
