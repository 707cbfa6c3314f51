"""The 8-bit forms of the exported graph: ``int8`` for CPUs with integer dot-product
instructions, ``mixed`` for x86 CPUs with AVX2 but without them.

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

Without dot-product instructions (AVX2 only) the blocks' products cost more than fp32's. The
``mixed`` graph quantises only the smoothed products (query, key, value and the feed-forward
expansion, 58% of the model's multiplications) with ONNX Runtime's dynamic quantisation: 8-bit
weights per output channel (7 bits of range, so the AVX2 kernel's pairwise 16-bit sums never
saturate) and the activations quantised per tensor as the product runs. The products that read
the attention's output and the feed-forward activation keep fp32: quantised per tensor, their
few large channels cost the vectors most of their precision (mean cosine 0.9956 to fp32's with
every product quantised, 0.9991 with these kept). On an AVX2 CPU (AMD Zen 3) it costs about a
sixth less model CPU than fp32 in batches and a quarter less for one question.

Quantising needs the ``onnx`` package (the export extra). It is done once, next to the fp32
graph, atomically and under a file lock, like the export; a served-model folder carries all
three graphs so the runtime never needs ``onnx``.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.embedding.onnx_export import build_once
from app.embedding.onnx_smooth import products_after_layer_norm, smooth, text_feeds

log = logging.getLogger(__name__)

# Bump when the quantisation recipe changes, so stale graphs are not reused.
INT8_FORMAT = "int8-smooth-b128"
MIXED_FORMAT = "mixed-smooth-u8s7"
# Weights and activations share one scale per run of this many values along the inner dimension.
BLOCK = 128
_FORMATS = {"int8": INT8_FORMAT, "mixed": MIXED_FORMAT}


def graph_for(fp32_graph: Path, precision: str) -> Path:
    """The graph file of ``precision`` made from ``fp32_graph`` (itself for fp32)."""
    if precision == "fp32":
        return fp32_graph
    if precision not in _FORMATS:
        raise ValueError(f"unknown embedding precision {precision!r}")
    return fp32_graph.with_name(f"{fp32_graph.stem}-{_FORMATS[precision]}{fp32_graph.suffix}")


def graph_precision(graph_name: str) -> str:
    """The precision of a graph file named by :func:`graph_for`."""
    return next((p for p, form in _FORMATS.items() if f"-{form}." in graph_name), "fp32")


def quantize_onnx(
    fp32_graph: Path, target: Path, tokenizer: Path | None = None, precision: str = "int8"
) -> Path:
    """Write the ``precision`` graph (int8 or mixed) of ``fp32_graph`` to ``target`` unless it
    exists (safe to call concurrently). ``tokenizer`` (the model's ``tokenizer.json``) reads
    the calibration texts; a graph with products after a layer norm needs it."""
    if precision not in _FORMATS:
        raise ValueError(f"{precision!r} is not a quantised precision")
    if build_once(target, lambda partial: _quantize(fp32_graph, partial, tokenizer, precision)):
        log.info("quantised %s to %s (%s)", fp32_graph, target, precision)
    return target


def quantize_in_child(
    fp32_graph: Path,
    target: Path,
    model_path: Path,
    precision: str = "int8",
    timeout_s: float = 600.0,
) -> Path:
    """Run :func:`quantize_onnx` in a child process, keeping ``onnx`` out of this one
    (``model_path``: the model folder, whose tokenizer reads the calibration texts)."""
    if target.exists():
        return target
    command = [sys.executable, "-m", "app", "export-model", "--precision", precision]
    command += ["--model", str(model_path), "--graph", str(fp32_graph), "--out", str(target)]
    subprocess.run(command, check=True, timeout=timeout_s)
    return target


def quantizer_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnx_ir"))


def _quantize(source: Path, out: Path, tokenizer: Path | None, precision: str) -> None:
    import onnx

    model = onnx.load(str(source))
    products = products_after_layer_norm(model)
    if products:
        if tokenizer is None:
            raise ValueError("quantising this graph needs the model's tokenizer")
        smooth(model, text_feeds(model, tokenizer))
    if precision == "mixed":
        _quantize_dynamic(model, [n.name for nodes in products.values() for n in nodes], out)
        return
    model = _quantize_pass(model, BLOCK, [])
    onnx.save(model, str(out))


def _quantize_dynamic(model: Any, nodes: list[str], out: Path) -> None:
    """Write ``model`` to ``out`` with the products named ``nodes`` in 8 bits (weights per
    output channel in 7 bits of range, activations per tensor when the product runs); every
    other product stays fp32. No product named: the graph is written as it is."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if not nodes:
        onnx.save(model, str(out))
        return
    with _quiet_root_logger():
        quantize_dynamic(
            model,
            out,
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            nodes_to_quantize=nodes,
        )


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
    with _quiet_root_logger():
        quantizer.process()
    return quantizer.model.model


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """ONNX Runtime's quantisers report every tensor they visit, and advice, through the root
    logger: only errors get through meanwhile."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)
