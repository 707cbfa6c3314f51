"""The embedded server's settings file: written once, included once, nothing before initdb."""

from __future__ import annotations

from pathlib import Path

from app.db.server import configure


def test_settings_are_written_and_included_once(tmp_path: Path) -> None:
    conf = tmp_path / "postgresql.conf"
    conf.write_text("max_connections = 100\n")
    conf.chmod(0o600)
    configure(tmp_path, 384)
    configure(tmp_path, 384)
    assert (tmp_path / "concierge.conf").read_text() == "shared_buffers = '384MB'\n"
    assert conf.read_text() == "max_connections = 100\ninclude_if_exists = 'concierge.conf'\n"
    assert (tmp_path / "concierge.conf").stat().st_mode & 0o777 == 0o600
    configure(tmp_path, 256)
    assert (tmp_path / "concierge.conf").read_text() == "shared_buffers = '256MB'\n"
    assert conf.read_text().count("include_if_exists") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["concierge.conf", "postgresql.conf"]


def test_a_data_folder_not_initialised_is_left_alone(tmp_path: Path) -> None:
    configure(tmp_path, 384)
    assert list(tmp_path.iterdir()) == []
