"""Keep chunk embeddings inline in the table row instead of in TOAST.

A 384-d vector is 1.5 KiB; with the chunk's text and tsvector the row passes the TOAST
threshold and PostgreSQL moved the vector out of line, so every row the similarity scan
touched cost an extra lookup in the TOAST table. Stored PLAIN, the vector stays in the row and
the text columns are toasted instead. Existing rows are rewritten so the change applies to
them too.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE PLAIN")
    # A no-op update rewrites every row under the new storage rule (VACUUM FULL cannot run
    # inside the migration's transaction); new rows follow the rule on their own.
    op.execute("UPDATE chunks SET embedding = embedding::text::vector")
    op.execute("ANALYZE chunks")


def downgrade() -> None:
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE EXTERNAL")
