"""One-time export of the packaged sentence model to ONNX, for the torch-free CPU backend.

The graph includes mean pooling over the attention mask and L2 normalisation, so its output
is the same vector sentence-transformers produces. Exporting needs torch; running does not.
The export is done once (by ``scripts/setup``, or on first use in a child process so that the
server never imports torch) and written atomically under a file lock, so concurrent starters
wait for one export instead of racing.

:func:`export_bundle` writes a served-model folder instead: the graph as ``model.onnx`` beside
the tokenizer and configuration files the ONNX encoder reads, without the weights. Pointed at by
``RAG_EMBEDDING_MODEL_PATH``, it is all a CPU runtime needs: no torch, no model package.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# Bump when the exported graph changes, so stale exports are not reused.
EXPORT_FORMAT = "mean-pool-l2-v1"
OPSET = 17
# The graph inside a served-model folder, and the files of the model folder it keeps.
BUNDLED_GRAPH = "model.onnx"
BUNDLE_FILES = ("config.json", "sentence_bert_config.json", "tokenizer.json")


def model_fingerprint(model_path: Path) -> str:
    """A short hash naming one model folder's weights and configuration."""
    digest = hashlib.sha256(EXPORT_FORMAT.encode())
    for name in ("config.json", "tokenizer.json", "sentence_bert_config.json"):
        file = model_path / name
        if file.exists():
            digest.update(file.read_bytes())
    weights = model_path / "model.safetensors"
    if weights.exists():
        digest.update(str(weights.stat().st_size).encode())
        with weights.open("rb") as handle:
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


def onnx_model_file(model_path: Path, cache_dir: Path, name: str) -> Path:
    """Where the export of ``model_path`` lives: its own graph for a served-model folder, else
    in ``cache_dir``."""
    bundled = model_path / BUNDLED_GRAPH
    if bundled.exists():
        return bundled
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return cache_dir / f"{safe}-{model_fingerprint(model_path)}.onnx"


def build_once(target: Path, build: Callable[[Path], None]) -> bool:
    """Write ``target`` with ``build`` unless it exists, atomically and under a file lock, so
    concurrent callers wait for one build; True when this call built it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.with_suffix(".lock")
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return False
        partial = target.with_suffix(f".{os.getpid()}.partial")
        try:
            build(partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return True


def export_onnx(model_path: Path, target: Path) -> Path:
    """Export ``model_path`` to ``target`` unless it exists (safe to call concurrently)."""
    if build_once(target, lambda partial: _export(model_path, partial)):
        log.info("exported %s to %s", model_path, target)
    return target


def export_bundle(model_path: Path, folder: Path, cache_dir: Path, name: str) -> Path:
    """Write the served-model folder of ``model_path`` into ``folder`` and return its graph.

    An export already in ``cache_dir`` is copied; otherwise the graph is exported straight into
    the folder (a build leaves no second copy behind). The graph is written last, so a folder
    with a graph is complete.
    """
    if not (model_path / "tokenizer.json").exists():
        raise FileNotFoundError(f"{model_path} has no tokenizer.json")
    folder.mkdir(parents=True, exist_ok=True)
    for file_name in BUNDLE_FILES:
        source = model_path / file_name
        if source.exists():
            shutil.copyfile(source, folder / file_name)
    target = folder / BUNDLED_GRAPH
    cached = onnx_model_file(model_path, cache_dir, name)
    if cached.exists() and not target.exists():
        partial = target.with_suffix(f".{os.getpid()}.partial")
        try:
            shutil.copyfile(cached, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return target
    export_onnx(model_path, target)
    target.with_suffix(".lock").unlink(missing_ok=True)
    return target


def export_in_child(model_path: Path, target: Path, timeout_s: float = 600.0) -> Path:
    """Run :func:`export_onnx` in a child process, keeping torch out of this one."""
    if target.exists():
        return target
    command = [sys.executable, "-m", "app", "export-model"]
    subprocess.run(
        [*command, "--model", str(model_path), "--out", str(target)],
        check=True,
        timeout=timeout_s,
    )
    return target


def _export(model_path: Path, out: Path) -> None:
    import warnings

    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()

    class Pooled(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(summed, p=2.0, dim=1)

    example = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(model),
            (example, example, torch.zeros_like(example)),
            str(out),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "embedding": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
