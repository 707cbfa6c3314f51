"""The int8 form of the exported graph, for CPUs with integer dot-product instructions.

Every weight matrix becomes a ``MatMulNBits`` node: signed 8-bit weights with one scale per
block of 128 inputs, and (accuracy level 4) activations quantised to 8 bits per row and block
when the product runs, so the products are integer dot products (AVX-512 VNNI, AVX-VNNI).

A few channels of a layer norm's output run far larger than the rest (up to fifteen times the
median), and in a block of 128 one of them would leave the others only a few of the 256 levels.
So the products that read a layer norm's output are smoothed first: each such channel is divided
by a factor before the product and the weight's matching row multiplied by it, which computes
the same thing in fp32, with a factor of ``sqrt(max|x| / max|w|)`` per channel (SmoothQuant's
even split), the ranges ``max|x|`` read by running the fp32 graph over
:mod:`app.embedding.calibration`'s texts. The activations are then about as even as the
weights, and blocks of 128 keep both precise. On 800 bench questions the vectors sit at a mean
cosine of 0.99967 (lowest 0.9992) to the fp32 graph's; the former recipe (blocks of 32 for those
products, no smoothing) reached 0.99960 (0.9991), and blocks of 128 without smoothing 0.9991
(0.9973), which moved the multilingual set's Spanish nDCG and the classifier's borderline
messages. A question costs about a tenth less CPU than with blocks of 32.

Quantising needs the ``onnx`` package (the export extra). It is done once, next to the fp32
graph, atomically and under a file lock, like the export; a served-model folder carries both
graphs so the runtime never needs ``onnx``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.embedding.onnx_export import build_once
from app.embedding.onnx_smooth import products_after_layer_norm, smooth, text_feeds

log = logging.getLogger(__name__)

# Bump when the quantisation recipe changes, so stale graphs are not reused.
INT8_FORMAT = "int8-smooth-b128"
# Weights and activations share one scale per run of this many values along the inner dimension.
BLOCK = 128
PRECISIONS = ("int8", "fp32")


def graph_for(fp32_graph: Path, precision: str) -> Path:
    """The graph file of ``precision`` made from ``fp32_graph`` (itself for fp32)."""
    if precision == "fp32":
        return fp32_graph
    if precision == "int8":
        return fp32_graph.with_name(f"{fp32_graph.stem}-{INT8_FORMAT}{fp32_graph.suffix}")
    raise ValueError(f"unknown embedding precision {precision!r}")


def quantize_onnx(fp32_graph: Path, target: Path, tokenizer: Path | None = None) -> Path:
    """Write the int8 graph of ``fp32_graph`` to ``target`` unless it exists (safe to call
    concurrently). ``tokenizer`` (the model's ``tokenizer.json``) reads the calibration texts;
    a graph with products after a layer norm needs it."""
    if build_once(target, lambda partial: _quantize(fp32_graph, partial, tokenizer)):
        log.info("quantised %s to %s", fp32_graph, target)
    return target


def quantize_in_child(
    fp32_graph: Path, target: Path, model_path: Path, timeout_s: float = 600.0
) -> Path:
    """Run :func:`quantize_onnx` in a child process, keeping ``onnx`` out of this one
    (``model_path``: the model folder, whose tokenizer reads the calibration texts)."""
    if target.exists():
        return target
    command = [sys.executable, "-m", "app", "export-model", "--precision", "int8"]
    command += ["--model", str(model_path), "--graph", str(fp32_graph), "--out", str(target)]
    subprocess.run(command, check=True, timeout=timeout_s)
    return target


def quantizer_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnx_ir"))


def _quantize(source: Path, out: Path, tokenizer: Path | None) -> None:
    import onnx

    model = onnx.load(str(source))
    if products_after_layer_norm(model):
        if tokenizer is None:
            raise ValueError("quantising this graph needs the model's tokenizer")
        smooth(model, text_feeds(model, tokenizer))
    model = _quantize_pass(model, BLOCK, [])
    onnx.save(model, str(out))


def _quantize_pass(model: Any, block: int, exclude: list[str]) -> Any:
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    options = {"bits": 8, "block_size": block, "is_symmetric": True, "accuracy_level": 4}
    quantizer = MatMulNBitsQuantizer(
        model,
        algo_config=DefaultWeightOnlyQuantConfig(**options),  # type: ignore[arg-type]
        nodes_to_exclude=exclude,
        **options,  # type: ignore[arg-type]
    )
    # The quantiser reports every tensor it visits through the root logger.
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        quantizer.process()
    finally:
        root.setLevel(level)
    return quantizer.model.model
