"""Smoothing of the products that read a layer norm's output, before int8 quantisation (see
:mod:`app.embedding.onnx_quantize`): each channel ``c`` of the norm's output is divided by
``s[c]`` (one ``Mul`` node before the products) and row ``c`` of each product's weight
multiplied by it, so the graph computes the same in fp32 while its activations are as even as
its weights. The residual connection still reads the norm's output unchanged."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from app.embedding.calibration import TEXTS

# How much of a channel's range moves from the activations into the weights (the even split).
ALPHA = 0.5


def products_after_layer_norm(model: Any) -> dict[str, list[Any]]:
    """The MatMul nodes with a constant weight that read each layer norm's output, by output."""
    weights = {w.name for w in model.graph.initializer}
    norms = {out for n in model.graph.node if n.op_type == "LayerNormalization" for out in n.output}
    found: dict[str, list[Any]] = {}
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[0] in norms and node.input[1] in weights:
            found.setdefault(node.input[0], []).append(node)
    return found


Feeds = dict[str, np.ndarray]


def smooth(model: Any, feeds: Iterable[Feeds], alpha: float = ALPHA) -> int:
    """Smooth ``model`` in place, the channels' ranges read by running it on ``feeds``;
    returns how many layer norms' products were smoothed."""
    from onnx import helper, numpy_helper

    products = products_after_layer_norm(model)
    if not products:
        return 0
    ranges = _ranges(model, feeds, list(products))
    weights = {w.name: w for w in model.graph.initializer}
    order = list(model.graph.node)
    for name, nodes in products.items():
        matrices = [numpy_helper.to_array(weights[n.input[1]]) for n in nodes]
        weight_range = np.max([np.abs(m).max(axis=1) for m in matrices], axis=0)
        factor = ranges[name] ** alpha / np.maximum(weight_range, 1e-5) ** (1 - alpha)
        factor = np.clip(factor, 1e-3, None).astype(np.float32)
        inverse = numpy_helper.from_array((1 / factor).astype(np.float32), f"{name}/smooth_inv")
        model.graph.initializer.append(inverse)
        smoothed = f"{name}/smoothed"
        mul = helper.make_node("Mul", [name, inverse.name], [smoothed], name=f"{name}/smooth")
        for node, matrix in zip(nodes, matrices, strict=True):
            scaled = (matrix * factor[:, None]).astype(np.float32)
            weights[node.input[1]].CopyFrom(numpy_helper.from_array(scaled, node.input[1]))
            node.input[0] = smoothed
        # Right after the norm that makes its input, so the nodes stay in topological order.
        at = next(i for i, n in enumerate(order) if name in n.output)
        order.insert(at + 1, mul)
    del model.graph.node[:]
    model.graph.node.extend(order)
    return len(products)


def text_feeds(model: Any, tokenizer_file: Path) -> list[Feeds]:
    """The calibration texts as inputs of a text model, one text per run (no padding), then
    two runs of them joined, as long as a document chunk gets."""
    from tokenizers import Tokenizer

    inputs = {i.name for i in model.graph.input}
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(256)
    feeds = []
    for text in (*TEXTS, " ".join(TEXTS), " ".join(TEXTS[len(TEXTS) // 2 :])):
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        feeds.append(feed)
    return feeds


def _ranges(model: Any, feeds: Iterable[Feeds], names: list[str]) -> dict[str, np.ndarray]:
    """The largest magnitude of each channel of the ``names`` outputs over ``feeds``."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in names:
        probe.graph.output.append(
            onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
        )
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    ranges: dict[str, np.ndarray] = {}
    for feed in feeds:
        for name, out in zip(names, session.run(names, feed), strict=True):
            seen = np.abs(out.reshape(-1, out.shape[-1])).max(axis=0)
            ranges[name] = seen if name not in ranges else np.maximum(ranges[name], seen)
    return ranges
