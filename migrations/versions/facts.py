"""Facts: a property's time zone and locale, opening hours per facility, and menu dishes.

Hours and dishes are extracted at ingestion and linked to the document and chunk (by content
hash) they came from. A staff correction is kept on the row; re-ingestion keeps the row (and
so the correction) while the sentence it came from is unchanged.

Revision ID: facts
Revises: requests
Create Date: 2026-11-30
"""

from alembic import op

revision = "facts"
down_revision = "requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE properties
        ADD COLUMN timezone text NOT NULL DEFAULT 'UTC'
            CHECK (length(timezone) BETWEEN 1 AND 64),
        ADD COLUMN locale text NOT NULL DEFAULT 'en'
            CHECK (locale ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$')
    """)
    op.execute("""
    CREATE TABLE facility_hours (
        id           bigserial PRIMARY KEY,
        property_id  text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
        doc_key      text NOT NULL,
        chunk_hash   text NOT NULL,
        facility     text NOT NULL CHECK (length(facility) BETWEEN 1 AND 200),
        hours        text NOT NULL,
        source_text  text NOT NULL CHECK (length(source_text) <= 2000),
        source_hash  text NOT NULL,
        corrected    text,
        corrected_by text,
        corrected_at timestamptz,
        updated_at   timestamptz NOT NULL DEFAULT now(),
        UNIQUE (property_id, doc_key, facility, source_hash)
    )
    """)
    op.execute("CREATE INDEX facility_hours_property_idx ON facility_hours (property_id)")
    op.execute("""
    CREATE TABLE dishes (
        id           bigserial PRIMARY KEY,
        property_id  text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
        doc_key      text NOT NULL,
        chunk_hash   text NOT NULL,
        section      text NOT NULL DEFAULT '',
        name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
        price_cents  integer CHECK (price_cents >= 0),
        currency     text,
        diets        text[] NOT NULL DEFAULT '{}',
        contains     text[] NOT NULL DEFAULT '{}',
        may_contain  text[] NOT NULL DEFAULT '{}',
        source_text  text NOT NULL CHECK (length(source_text) <= 2000)
    )
    """)
    op.execute("CREATE INDEX dishes_property_idx ON dishes (property_id, doc_key)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS dishes")
    op.execute("DROP TABLE IF EXISTS facility_hours")
    op.execute("ALTER TABLE properties DROP COLUMN IF EXISTS locale")
    op.execute("ALTER TABLE properties DROP COLUMN IF EXISTS timezone")
