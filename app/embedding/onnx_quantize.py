"""The int8 form of the exported graph, for CPUs with integer dot-product instructions.

Every weight matrix becomes a ``MatMulNBits`` node: signed 8-bit weights with one scale per
block of inputs, and (accuracy level 4) activations quantised to 8 bits per row and block when
the product runs, so the products are integer dot products (AVX-512 VNNI, AVX-VNNI). The
products that read a layer norm's output (query, key, value and the feed-forward expansion)
use blocks of 32: a few channels of a layer norm's output are far larger than the rest, and in
a block of 128 one of them leaves the others only a few of the 256 levels. The attention output
and feed-forward contraction keep blocks of 128. On the evaluation questions the vectors sit at
a mean cosine of 0.9996 to the fp32 graph's (0.9991 with blocks of 128 everywhere, which moved
the multilingual set's Spanish nDCG and the classifier's borderline messages; one activation
scale per tensor, ``quantize_dynamic``, reached only 0.99 to 0.995). A single question costs
about half the CPU time of the fp32 graph, a batch of eight about three quarters.

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

log = logging.getLogger(__name__)

# Bump when the quantisation recipe changes, so stale graphs are not reused.
INT8_FORMAT = "int8-ln32-b128"
# Weights and activations share one scale per run of this many values along the inner dimension:
# NORM_BLOCK for the products that read a layer norm's output, BLOCK for the others.
BLOCK = 128
NORM_BLOCK = 32
PRECISIONS = ("int8", "fp32")


def graph_for(fp32_graph: Path, precision: str) -> Path:
    """The graph file of ``precision`` made from ``fp32_graph`` (itself for fp32)."""
    if precision == "fp32":
        return fp32_graph
    if precision == "int8":
        return fp32_graph.with_name(f"{fp32_graph.stem}-{INT8_FORMAT}{fp32_graph.suffix}")
    raise ValueError(f"unknown embedding precision {precision!r}")


def quantize_onnx(fp32_graph: Path, target: Path) -> Path:
    """Write the int8 graph of ``fp32_graph`` to ``target`` unless it exists (safe to call
    concurrently)."""
    if build_once(target, lambda partial: _quantize(fp32_graph, partial)):
        log.info("quantised %s to %s", fp32_graph, target)
    return target


def quantize_in_child(fp32_graph: Path, target: Path, timeout_s: float = 600.0) -> Path:
    """Run :func:`quantize_onnx` in a child process, keeping ``onnx`` out of this one."""
    if target.exists():
        return target
    command = [sys.executable, "-m", "app", "export-model", "--precision", "int8"]
    subprocess.run(
        [*command, "--graph", str(fp32_graph), "--out", str(target)], check=True, timeout=timeout_s
    )
    return target


def quantizer_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnx_ir"))


def _quantize(source: Path, out: Path) -> None:
    import onnx

    model = onnx.load(str(source))
    after_norm = _products_after_layer_norm(model)
    weighted = {
        node.name
        for node in model.graph.node
        if node.op_type == "MatMul" and node.input[1] in {w.name for w in model.graph.initializer}
    }
    # Two passes: the products after a layer norm first (the others held back), then the rest.
    model = _quantize_pass(model, NORM_BLOCK, sorted(weighted - after_norm))
    model = _quantize_pass(model, BLOCK, [])
    onnx.save(model, str(out))


def _products_after_layer_norm(model: Any) -> set[str]:
    """Names of the MatMul nodes whose activation input is a LayerNormalization's output."""
    norm_outputs = {
        name
        for node in model.graph.node
        if node.op_type == "LayerNormalization"
        for name in node.output
    }
    return {
        node.name
        for node in model.graph.node
        if node.op_type == "MatMul" and node.input[0] in norm_outputs
    }


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
