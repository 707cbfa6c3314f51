"""Kept files are written whole or not at all."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import BinaryIO

import pytest

from app.files import keyed_path, write_atomically


def test_a_file_is_created_readable_by_others_with_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "models" / "table.bin"
    write_atomically(path, lambda out: out.write(b"rows"))
    assert path.read_bytes() == b"rows"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["table.bin"]


def test_a_failed_write_leaves_the_earlier_file_and_no_partial_one(tmp_path: Path) -> None:
    path = tmp_path / "table.bin"
    path.write_bytes(b"earlier")

    def fail(out: BinaryIO) -> None:
        out.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, fail)
    assert path.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["table.bin"]


def test_a_kept_file_is_named_after_the_package_version_and_the_choices(tmp_path: Path) -> None:
    first = keyed_path(tmp_path, "lists", ".npz", "numpy", 6, "en")
    assert first == keyed_path(tmp_path, "lists", ".npz", "numpy", 6, "en")
    assert first.parent == tmp_path
    assert first.name.startswith("lists-")
    assert first.suffix == ".npz"
    assert first != keyed_path(tmp_path, "lists", ".npz", "numpy", 7, "en")
    assert first != keyed_path(tmp_path, "lists", ".npz", "no-such-package", 6, "en")
