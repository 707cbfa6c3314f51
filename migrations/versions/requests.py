"""Staff tasks from guest requests, hand-overs and feedback, staff tokens, audit rows, and the
examples a property adds to the message classifier.

Revision ID: requests
Revises: 0003
Create Date: 2026-11-30
"""

from alembic import op

revision = "requests"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE tasks (
        id              bigserial PRIMARY KEY,
        ref             text NOT NULL UNIQUE,
        property_id     text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
        kind            text NOT NULL CHECK (kind IN ('service_request', 'complaint', 'safety')),
        category        text NOT NULL CHECK (length(category) BETWEEN 1 AND 32),
        priority        text NOT NULL CHECK (priority IN ('urgent', 'high', 'normal')),
        guest_text      text NOT NULL CHECK (length(guest_text) BETWEEN 1 AND 4000),
        room            text CHECK (length(room) BETWEEN 1 AND 16),
        guest_name      text CHECK (length(guest_name) BETWEEN 1 AND 100),
        session_id      text CHECK (length(session_id) <= 128),
        -- one active task per (property, session, category): a repeat updates it instead
        dedupe_key      text NOT NULL,
        repeats         integer NOT NULL DEFAULT 0,
        status          text NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'acknowledged', 'done', 'cancelled')),
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        acknowledged_at timestamptz,
        closed_at       timestamptz,
        updated_by      text
    )
    """)
    op.execute(
        "CREATE UNIQUE INDEX tasks_active_dedupe_idx ON tasks (property_id, dedupe_key) "
        "WHERE status IN ('open', 'acknowledged')"
    )
    op.execute("CREATE INDEX tasks_property_status_idx ON tasks (property_id, status, id DESC)")
    op.execute("""
    CREATE TABLE guest_signals (
        id           bigserial PRIMARY KEY,
        property_id  text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
        kind         text NOT NULL CHECK (kind IN ('handover', 'thumbs_up', 'thumbs_down')),
        reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 32),
        -- personal data masked before it is written
        question     text NOT NULL CHECK (length(question) <= 1000),
        answer       text CHECK (length(answer) <= 2000),
        request_id   text CHECK (length(request_id) <= 128),
        embedding    real[],
        created_at   timestamptz NOT NULL DEFAULT now()
    )
    """)
    op.execute("CREATE INDEX guest_signals_property_idx ON guest_signals (property_id, created_at)")
    op.execute("CREATE INDEX guest_signals_created_idx ON guest_signals (created_at)")
    # One vote per answer: a second click changes it.
    op.execute(
        "CREATE UNIQUE INDEX guest_signals_vote_idx ON guest_signals (request_id) "
        "WHERE kind IN ('thumbs_up', 'thumbs_down')"
    )
    op.execute("""
    CREATE TABLE staff_tokens (
        id          bigserial PRIMARY KEY,
        name        text NOT NULL CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$'),
        token_hash  bytea NOT NULL UNIQUE,
        role        text NOT NULL CHECK (role IN ('staff', 'admin')),
        properties  text[] NOT NULL DEFAULT '{}',
        created_at  timestamptz NOT NULL DEFAULT now(),
        revoked_at  timestamptz
    )
    """)
    op.execute(
        "CREATE UNIQUE INDEX staff_tokens_active_name_idx ON staff_tokens (name) "
        "WHERE revoked_at IS NULL"
    )
    op.execute("""
    CREATE TABLE audit_log (
        id           bigserial PRIMARY KEY,
        at           timestamptz NOT NULL DEFAULT now(),
        actor        text NOT NULL,
        action       text NOT NULL,
        property_id  text,
        target       text,
        details      jsonb NOT NULL DEFAULT '{}'::jsonb,
        request_id   text
    )
    """)
    op.execute("CREATE INDEX audit_log_at_idx ON audit_log (at)")
    op.execute("""
    CREATE TABLE classifier_examples (
        id           bigserial PRIMARY KEY,
        property_id  text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
        text         text NOT NULL CHECK (length(text) BETWEEN 1 AND 500),
        kind         text NOT NULL,
        category     text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        UNIQUE (property_id, text)
    )
    """)


def downgrade() -> None:
    for table in ("classifier_examples", "audit_log", "staff_tokens", "guest_signals", "tasks"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
