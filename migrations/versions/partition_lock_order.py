"""A new property's chunk partition locks ``documents`` before ``chunks``.

Creating the partition (when a property is inserted) locks ``chunks`` against every other use,
then clones the foreign key to ``documents``, which locks ``documents`` against writes. An
ingestion of another property writes ``documents`` first and ``chunks`` after, in one
transaction: when a property was created between the two, each waited for the other and
PostgreSQL broke the deadlock by failing one of them. Meanwhile every guest's search waited
behind the lock on ``chunks``. The partition now takes the lock on ``documents`` first, the
order an ingestion takes them in: a new property waits for running ingestions to commit while
holding nothing that a search or an ingestion needs.

Revision ID: partition_lock_order
Revises: facility_hours_index
Create Date: 2026-12-02
"""

from alembic import op

revision = "partition_lock_order"
down_revision = "facility_hours_index"
branch_labels = None
depends_on = None


def _create_chunk_partition(lock_documents_first: bool) -> str:
    lock = "LOCK TABLE documents IN SHARE ROW EXCLUSIVE MODE;" if lock_documents_first else ""
    return f"""
    CREATE OR REPLACE FUNCTION create_chunk_partition(property text) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        IF to_regclass(chunk_partition(property)) IS NULL THEN
            {lock}
            EXECUTE format('CREATE TABLE %I PARTITION OF chunks FOR VALUES IN (%L)',
                           chunk_partition(property), property);
        END IF;
    END $$
    """


def upgrade() -> None:
    op.execute(_create_chunk_partition(lock_documents_first=True))


def downgrade() -> None:
    op.execute(_create_chunk_partition(lock_documents_first=False))
