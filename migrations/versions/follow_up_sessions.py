"""Follow-up sessions in the database, so every replica and worker sees a guest's earlier turns.

One row per (property, session): the last standalone questions, oldest first, and when the
session expires. Expired rows are deleted by the service (and ignored until then); the row
count is capped by the service too. The table is unlogged: a turn is written without waiting
for the WAL to reach disk (a logged upsert per question cost a synchronous flush), and what a
crash of PostgreSQL loses is only the context of conversations in progress.

Revision ID: follow_up_sessions
Revises: shadow
Create Date: 2026-11-30
"""

from alembic import op

revision = "follow_up_sessions"
down_revision = "shadow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE UNLOGGED TABLE follow_up_sessions (
        property_id text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
        session_id  text NOT NULL CHECK (length(session_id) BETWEEN 1 AND 128),
        turns       text[] NOT NULL,
        expires_at  timestamptz NOT NULL,
        PRIMARY KEY (property_id, session_id)
    )
    """)
    op.execute("CREATE INDEX follow_up_sessions_expiry_idx ON follow_up_sessions (expires_at)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS follow_up_sessions")
