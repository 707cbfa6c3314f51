"""Embedding backend selection, and the ONNX Runtime encoder against the torch reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.embedding.encoder import SentenceTransformerEncoder, select_backend
from app.embedding.onnx_encoder import OnnxEncoder
from app.embedding.onnx_export import onnx_model_file
from tests.packaged_model import fp32_graph


def _present() -> bool:
    return True


def _absent() -> bool:
    return False


def test_auto_runs_onnx_on_cpu_and_torch_on_cuda() -> None:
    assert select_backend("auto", "cpu", _present) == "onnx"
    assert select_backend("auto", "cuda", _present) == "torch"


def test_auto_falls_back_to_torch_without_onnxruntime() -> None:
    assert select_backend("auto", "cpu", _absent) == "torch"


def test_explicit_backends_are_honoured_or_refused() -> None:
    assert select_backend("torch", "cpu", _present) == "torch"
    assert select_backend("torch", "cuda", _present) == "torch"
    assert select_backend("onnx", "cpu", _present) == "onnx"
    with pytest.raises(RuntimeError, match="runs on CPU"):
        select_backend("onnx", "cuda", _present)
    with pytest.raises(RuntimeError, match="not installed"):
        select_backend("onnx", "cpu", _absent)
    with pytest.raises(ValueError, match="unknown embedding backend"):
        select_backend("tensorrt", "cpu", _present)


def test_export_file_is_named_by_the_model_contents(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"hidden_size": 384}')
    first = onnx_model_file(model, tmp_path / "cache", "my/model")
    assert first.parent == tmp_path / "cache"
    assert first.name.startswith("my_model-")
    assert onnx_model_file(model, tmp_path / "cache", "my/model") == first
    (model / "config.json").write_text('{"hidden_size": 768}')
    assert onnx_model_file(model, tmp_path / "cache", "my/model") != first


def test_a_served_model_folder_carries_its_own_graph(tmp_path: Path) -> None:
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 384}')
    assert onnx_model_file(folder, tmp_path / "cache", "m").parent == tmp_path / "cache"
    (folder / "model.onnx").write_bytes(b"graph")
    assert onnx_model_file(folder, tmp_path / "cache", "m") == folder / "model.onnx"


TEXTS = [
    "What time is check-out?",
    "Is there parking for electric cars near the hotel?",
    "Hi",
    "Can I bring my dog to the spa, the restaurant and the rooftop bar on a Sunday evening?",
    "Frühstück ab 7 Uhr? ¿Hay piscina climatizada?",
    "late " * 400,  # longer than the model's window: truncated the same way
]


@pytest.mark.slow
def test_onnx_vectors_match_torch() -> None:
    path, model_file = fp32_graph()
    onnx = OnnxEncoder(model_file, path, 1, "minilm")
    torch = SentenceTransformerEncoder(path, "cpu", 1, "minilm")
    assert onnx.dim == torch.dim == 384
    assert onnx.max_tokens == torch.max_tokens
    # One batch mixes lengths: padding must not change any vector.
    a = onnx.encode(TEXTS)
    b = torch.encode(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(a * b, axis=1)
    assert np.all(cosine >= 0.9999), cosine
    single = np.vstack([onnx.encode([t]) for t in TEXTS])
    assert np.all(np.sum(single * a, axis=1) >= 0.9999)
    assert onnx.encode([]).shape == (0, 384)
