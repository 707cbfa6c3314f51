"""The packaged model and its fp32 ONNX export, for the tests that run the model itself."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings
from app.embedding.encoder import default_model_path
from app.embedding.onnx_export import export_in_child, onnx_model_file


def fp32_graph() -> tuple[Path, Path]:
    """The packaged model's folder and its fp32 export (made once, as ``scripts/setup`` does)."""
    settings = Settings()
    path = default_model_path()
    graph = onnx_model_file(path, settings.model_cache_dir, settings.embedding_model_name)
    return path, export_in_child(path, graph)
