"""The start-up check reads the head revision without importing alembic, and agrees with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db import migrate as schema


def test_quick_head_matches_alembic() -> None:
    assert schema._head_from_sources() == schema._head_from_alembic()


def _script(folder: Path, name: str, revision: str, down: str) -> None:
    (folder / name).write_text(f'"""x"""\n\nrevision = "{revision}"\ndown_revision = {down}\n')


def test_quick_head_follows_the_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    _script(versions, "a.py", "0001", "None")
    _script(versions, "b.py", "0002", '"0001"')
    _script(versions, "c.py", "0003", "'0002'")
    monkeypatch.setattr(schema, "MIGRATIONS_DIR", tmp_path)
    assert schema._head_from_sources() == "0003"
    # Two heads (unmerged branches): the quick path declines and leaves it to alembic.
    _script(versions, "d.py", "0004", '"0002"')
    assert schema._head_from_sources() is None
    # A merge revision lists both parents: one head again.
    _script(versions, "e.py", "0005", '("0003", "0004")')
    assert schema._head_from_sources() == "0005"
