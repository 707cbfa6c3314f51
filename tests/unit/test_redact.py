"""Database URLs are printed without their password, however it is written."""

from __future__ import annotations

import pytest

from app.db.server import redact


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://app:s3cret@db:5432/concierge", "postgresql://app:***@db:5432/concierge"),
        ("postgresql://app:p%40ss%3Aw@db/c", "postgresql://app:***@db/c"),
        ("postgresql://app:a@b@db/c", "postgresql://app:***@db/c"),
        (
            "postgresql://app@db/c?sslmode=require&password=s3cret",
            "postgresql://app@db/c?sslmode=require&password=***",
        ),
        (
            "postgresql://postgres:@/postgres?host=/tmp/x",
            "postgresql://postgres:***@/postgres?host=/tmp/x",
        ),
        ("postgresql://app@db/c", "postgresql://app@db/c"),
    ],
)
def test_redact(url: str, expected: str) -> None:
    assert redact(url) == expected
    for secret in ("s3cret", "p%40ss", "a@b"):
        assert secret not in redact(url)
