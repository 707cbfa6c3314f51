"""Packaged GGUF models are joined from their parts only when the joined bytes hash right."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import pytest

from app.answering.citations import says_not_found
from app.answering.llm import models
from app.answering.prompts import NOT_IN_SOURCES, SYSTEM_PROMPT


def _install_parts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, blobs: list[bytes]) -> None:
    for i, blob in enumerate(blobs, start=1):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(blob)
        module = types.ModuleType(f"fake_model_part{i}")
        module.get_part_path = lambda path=path: str(path)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, f"fake_model_part{i}", module)


def _model(sha: str) -> models.PackagedModel:
    return models.PackagedModel("fake.gguf", ("fake_model_part1", "fake_model_part2"), sha, True)


def test_parts_are_joined_and_verified(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _install_parts(monkeypatch, tmp_path, [b"GGUF-first-", b"second"])
    sha = hashlib.sha256(b"GGUF-first-second").hexdigest()
    monkeypatch.setitem(models.PACKAGED, "fake", _model(sha[:12]))
    path = models.packaged_gguf_path("fake", tmp_path / "out")
    assert path.read_bytes() == b"GGUF-first-second"
    assert models.packaged_gguf_path("fake", tmp_path / "out") == path  # verified: reused


def test_a_wrong_hash_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _install_parts(monkeypatch, tmp_path, [b"GGUF-first-", b"tampered"])
    monkeypatch.setitem(models.PACKAGED, "fake", _model("0" * 64))
    with pytest.raises(models.ModelFileError):
        models.packaged_gguf_path("fake", tmp_path / "out")
    assert not (tmp_path / "out" / "fake.gguf").exists()


def test_the_prompt_says_what_to_reply_when_the_sources_are_silent() -> None:
    assert NOT_IN_SOURCES in SYSTEM_PROMPT.replace(" \\\n", " ").replace("\n", " ")
    assert says_not_found(NOT_IN_SOURCES)
