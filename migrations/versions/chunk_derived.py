"""Chunks keep what the answer writer reads from them: their words and their sentences.

The composed answer read every retrieved chunk's text again at each question (its words for
the lookups of typos and sound-alikes, its sentences), about half of its CPU time where
questions keep meeting new chunks. Ingestion now derives both once and writes them in
``chunks.derived`` (see ``app/reading.py``). Existing rows keep NULL: the writer
reads their text at each question, as before, until they are written again
(``scripts/ingest derive`` fills them).

Revision ID: chunk_derived
Revises: denser_hnsw
Create Date: 2026-12-01
"""

from alembic import op

revision = "chunk_derived"
down_revision = "denser_hnsw"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable without a default: only the catalog changes, no row is written.
    op.execute("ALTER TABLE chunks ADD COLUMN derived text")


def downgrade() -> None:
    op.execute("ALTER TABLE chunks DROP COLUMN derived")
