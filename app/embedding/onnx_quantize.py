"""The int8 form of the exported graph, for CPUs with integer dot-product instructions.

Every weight matrix becomes a ``MatMulNBits`` node: signed 8-bit weights with one scale per
block of 128 inputs, and (accuracy level 4) activations quantised to 8 bits per row and block
when the product runs, so the products are integer dot products (AVX-512 VNNI, AVX-VNNI).
Scales per block keep the vectors at a cosine of 0.999 to the fp32 graph's on the evaluation
questions; dynamic quantisation with one activation scale per tensor reached only 0.99 to 0.995,
which moved the classifier's nearest examples for non-English messages. A single question costs
about half the CPU time of the fp32 graph, a batch of sixteen about three quarters.

Quantising needs the ``onnx`` package (the export extra). It is done once, next to the fp32
graph, atomically and under a file lock, like the export; a served-model folder carries both
graphs so the runtime never needs ``onnx``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from app.embedding.onnx_export import build_once

log = logging.getLogger(__name__)

# Bump when the quantisation recipe changes, so stale graphs are not reused.
INT8_FORMAT = "int8-b128"
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
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    options = {"bits": 8, "block_size": BLOCK, "is_symmetric": True, "accuracy_level": 4}
    quantizer = MatMulNBitsQuantizer(
        onnx.load(str(source)),
        algo_config=DefaultWeightOnlyQuantConfig(**options),  # type: ignore[arg-type]
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
    quantizer.model.save_model_to_file(str(out), False)
