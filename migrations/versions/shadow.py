"""Shadow mode: a candidate index version answers a sample of live questions beside the live
one, and both outcomes are kept for comparison.

Revision ID: shadow
Revises: facts
Create Date: 2026-11-30
"""

from alembic import op

revision = "shadow"
down_revision = "facts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE index_versions DROP CONSTRAINT index_versions_state_check")
    op.execute("""
    ALTER TABLE index_versions ADD CONSTRAINT index_versions_state_check
        CHECK (state IN ('building', 'live', 'retired', 'failed', 'candidate'))
    """)
    op.execute("""
    CREATE TABLE shadow_runs (
        id                bigserial PRIMARY KEY,
        property_id       text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
        live_version      bigint,
        candidate_version bigint NOT NULL,
        question          text NOT NULL CHECK (length(question) <= 4000),
        language          text NOT NULL DEFAULT 'en',
        live_sources      text[] NOT NULL,
        candidate_sources text[] NOT NULL,
        live_answer       text NOT NULL,
        candidate_answer  text NOT NULL,
        live_escalate     boolean NOT NULL,
        candidate_escalate boolean NOT NULL,
        live_ms           real NOT NULL,
        candidate_ms      real NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT now()
    )
    """)
    op.execute("CREATE INDEX shadow_runs_property_idx ON shadow_runs (property_id, id)")


def downgrade() -> None:
    op.execute("DROP TABLE shadow_runs")
    op.execute("DELETE FROM index_versions WHERE state = 'candidate'")
    op.execute("ALTER TABLE index_versions DROP CONSTRAINT index_versions_state_check")
    op.execute("""
    ALTER TABLE index_versions ADD CONSTRAINT index_versions_state_check
        CHECK (state IN ('building', 'live', 'retired', 'failed'))
    """)
