"""The int8 and mixed graphs: where they live, when they are made, that their vectors are told
apart from the fp32 graph's, and that they stay close to them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from app.embedding import encoder as encoder_module
from app.embedding.encoder import vectors_identity
from app.embedding.onnx_encoder import OnnxEncoder
from app.embedding.onnx_quantize import (
    INT8_FORMAT,
    MIXED_FORMAT,
    graph_for,
    graph_precision,
    quantize_onnx,
)
from app.tasks.seed_cache import SeedCache
from tests.packaged_model import fp32_graph


def test_the_int8_graph_sits_beside_the_fp32_graph_under_its_own_name(tmp_path: Path) -> None:
    fp32 = tmp_path / "all-MiniLM-L6-v2-0123456789abcdef.onnx"
    assert graph_for(fp32, "fp32") == fp32
    int8 = graph_for(fp32, "int8")
    assert int8.parent == tmp_path
    assert int8 != fp32
    assert INT8_FORMAT in int8.name
    assert int8.suffix == ".onnx"
    mixed = graph_for(fp32, "mixed")
    assert mixed.parent == tmp_path
    assert MIXED_FORMAT in mixed.name
    assert len({fp32, int8, mixed}) == 3
    for precision in ("int8", "mixed", "fp32"):
        assert graph_precision(graph_for(fp32, precision).name) == precision
    with pytest.raises(ValueError, match="unknown embedding precision"):
        graph_for(fp32, "fp16")


def test_the_kept_classifier_vectors_of_int8_and_fp32_are_other_files(tmp_path: Path) -> None:
    fp32 = SimpleNamespace(name="all-MiniLM-L6-v2", graph="m-0123.onnx")
    int8 = SimpleNamespace(
        name="all-MiniLM-L6-v2", graph=graph_for(Path("m-0123.onnx"), "int8").name
    )
    plain = SimpleNamespace(name="all-MiniLM-L6-v2")  # torch or e5: no graph file
    identities = {vectors_identity(e) for e in (fp32, int8, plain)}  # type: ignore[arg-type]
    assert len(identities) == 3
    assert vectors_identity(plain) == "all-MiniLM-L6-v2"  # type: ignore[arg-type]
    texts = ["I need more towels"]
    paths = {SeedCache(tmp_path, identity, str).path(texts) for identity in identities}
    assert len(paths) == 3


def test_a_missing_int8_graph_is_refused_clearly_where_it_cannot_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.embedding import onnx_quantize

    fp32 = tmp_path / "m-0123.onnx"
    fp32.write_bytes(b"graph")
    assert encoder_module._graph_of_precision(fp32, "fp32", tmp_path) == fp32
    monkeypatch.setattr(onnx_quantize, "quantizer_installed", lambda: False)
    with pytest.raises(RuntimeError, match="RAG_EMBEDDING_PRECISION=fp32"):
        encoder_module._graph_of_precision(fp32, "int8", tmp_path)
    # One already made is used as it is, without the quantiser.
    graph_for(fp32, "int8").write_bytes(b"int8 graph")
    assert encoder_module._graph_of_precision(fp32, "int8", tmp_path) == graph_for(fp32, "int8")


def _tiny_graph(path: Path) -> np.ndarray:
    """A one-MatMul ONNX graph with a constant weight; returns the weight."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(7).standard_normal((16, 8)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="dense/MatMul")],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return weight


def test_quantising_writes_a_working_int8_graph_once(tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    source = tmp_path / "tiny.onnx"
    weight = _tiny_graph(source)
    target = graph_for(source, "int8")
    assert quantize_onnx(source, target) == target
    ops = {node.op_type for node in onnx.load(str(target)).graph.node}
    assert "MatMulNBits" in ops
    assert "MatMul" not in ops
    x = np.random.default_rng(8).standard_normal((4, 16)).astype(np.float32)
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (y,) = session.run(["y"], {"x": x})
    expected = x @ weight
    assert np.abs(y - expected).max() < 0.05 * np.abs(expected).max()
    # A second call keeps the graph already there.
    made = target.stat().st_mtime_ns
    target.write_bytes(target.read_bytes())
    kept = target.stat().st_mtime_ns
    assert quantize_onnx(source, target) == target
    assert target.stat().st_mtime_ns == kept >= made
    assert not list(tmp_path.glob("*.partial"))


def _normed_graph(width: int) -> Any:
    """A layer norm whose channel 3 runs ten times the others, read by a product and by a
    residual sum, as in a transformer block."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(9)
    scale = np.ones(width, dtype=np.float32)
    scale[3] = 10.0
    weights = [
        numpy_helper.from_array(scale, "scale"),
        numpy_helper.from_array(rng.standard_normal(width).astype(np.float32) * 0.1, "bias"),
        numpy_helper.from_array(rng.standard_normal((width, width)).astype(np.float32), "w"),
    ]
    graph = helper.make_graph(
        [
            helper.make_node("LayerNormalization", ["x", "scale", "bias"], ["n"], name="norm"),
            helper.make_node("MatMul", ["n", "w"], ["h"], name="after_norm/MatMul"),
            helper.make_node("Add", ["n", "h"], ["y"], name="residual"),
        ],
        "normed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", width])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _outputs(model: Any, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["y"], {"x": x})[0])


def test_smoothing_computes_the_same_and_quantises_closer() -> None:
    from app.embedding import onnx_quantize, onnx_smooth

    width = 2 * onnx_quantize.BLOCK
    rng = np.random.default_rng(10)
    calibration = [{"x": rng.standard_normal((4, width)).astype(np.float32)} for _ in range(8)]
    x = rng.standard_normal((32, width)).astype(np.float32)
    plain = _normed_graph(width)
    exact = _outputs(plain, x)
    smoothed = _normed_graph(width)
    assert onnx_smooth.smooth(smoothed, calibration) == 1
    # The same function in fp32; the residual sum still reads the norm's own output.
    assert np.allclose(_outputs(smoothed, x), exact, rtol=1e-4, atol=1e-4)
    residual = next(n for n in smoothed.graph.node if n.name == "residual")
    assert residual.input[0] == "n"
    # Quantised, the smoothed graph is the closer to fp32.
    unsmoothed_error = np.abs(_outputs(onnx_quantize._quantize_pass(plain, 128, []), x) - exact)
    smoothed_error = np.abs(_outputs(onnx_quantize._quantize_pass(smoothed, 128, []), x) - exact)
    assert smoothed_error.mean() < 0.8 * unsmoothed_error.mean()


def test_the_mixed_graph_quantises_only_the_products_it_names(tmp_path: Path) -> None:
    import onnx

    from app.embedding import onnx_quantize, onnx_smooth

    width = 256
    rng = np.random.default_rng(11)
    calibration = [{"x": rng.standard_normal((4, width)).astype(np.float32)} for _ in range(8)]
    x = rng.standard_normal((32, width)).astype(np.float32)
    exact = _outputs(_normed_graph(width), x)
    smoothed = _normed_graph(width)
    onnx_smooth.smooth(smoothed, calibration)
    onnx_quantize._quantize_dynamic(smoothed, ["after_norm/MatMul"], tmp_path / "mixed.onnx")
    mixed = onnx.load(str(tmp_path / "mixed.onnx"))
    onnx_quantize._quantize_dynamic(_normed_graph(width), [], tmp_path / "none.onnx")
    kept = onnx.load(str(tmp_path / "none.onnx"))
    ops = [node.op_type for node in mixed.graph.node]
    assert "MatMulInteger" in ops
    assert "MatMul" not in ops
    error = np.abs(_outputs(mixed, x) - exact)
    assert error.max() < 0.05 * np.abs(exact).max()
    assert error.max() > 0  # it is quantised, not the fp32 graph again
    # No product named: the graph is written as it was.
    assert [node.op_type for node in kept.graph.node] == ["LayerNormalization", "MatMul", "Add"]


def test_only_a_quantised_precision_is_quantised(tmp_path: Path) -> None:
    source = tmp_path / "tiny.onnx"
    _tiny_graph(source)
    with pytest.raises(ValueError, match="not a quantised precision"):
        quantize_onnx(source, tmp_path / "out.onnx", precision="fp32")
    assert not (tmp_path / "out.onnx").exists()


def test_a_graph_with_products_after_a_norm_needs_the_tokenizer(tmp_path: Path) -> None:
    import onnx

    source = tmp_path / "normed.onnx"
    onnx.save(_normed_graph(256), str(source))
    with pytest.raises(ValueError, match="tokenizer"):
        quantize_onnx(source, graph_for(source, "int8"))


QUESTIONS = [
    "what time is check in",
    "is there parking for electric cars near the hotel?",
    "Can I bring my dog to the spa, the restaurant and the rooftop bar on a Sunday evening?",
    "breakfast hours",
    "I need more towels in room 412",
    "the air conditioning is very loud and does not cool",
    "Help, there is smoke in the corridor!",
    "Frühstück ab 7 Uhr? ¿Hay piscina climatizada?",
    "late " * 400,
]


@pytest.mark.slow
def test_int8_vectors_stay_close_to_the_fp32_graphs(tmp_path: Path) -> None:
    path, fp32_file = fp32_graph()
    int8_file = quantize_onnx(fp32_file, graph_for(fp32_file, "int8"), path / "tokenizer.json")
    fp32 = OnnxEncoder(fp32_file, path, 1, "minilm")
    int8 = OnnxEncoder(int8_file, path, 1, "minilm")
    assert vectors_identity(fp32) != vectors_identity(int8)
    a = fp32.encode(QUESTIONS)
    b = int8.encode(QUESTIONS)
    assert b.shape == a.shape == (len(QUESTIONS), 384)
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    cosine = np.sum(a * b, axis=1)
    assert cosine.min() >= 0.999, cosine
    assert cosine.mean() >= 0.9993, cosine
    # The int8 graph ranks the questions against each other as the fp32 graph does.
    assert np.array_equal(np.argsort(a @ a.T, axis=1)[:, -2], np.argsort(b @ b.T, axis=1)[:, -2])


@pytest.mark.slow
def test_mixed_vectors_stay_close_to_the_fp32_graphs_and_keep_their_order() -> None:
    import onnx

    path, fp32_file = fp32_graph()
    mixed_file = quantize_onnx(
        fp32_file, graph_for(fp32_file, "mixed"), path / "tokenizer.json", "mixed"
    )
    ops = [node.op_type for node in onnx.load(str(mixed_file)).graph.node]
    # Query, key, value and the feed-forward expansion of six layers in 8 bits; the attention's
    # output and the feed-forward contraction in fp32.
    assert ops.count("MatMulInteger") == 24
    assert ops.count("MatMul") >= 12
    fp32 = OnnxEncoder(fp32_file, path, 1, "minilm")
    mixed = OnnxEncoder(mixed_file, path, 1, "minilm")
    assert vectors_identity(mixed) not in (vectors_identity(fp32), "minilm")
    a = fp32.encode(QUESTIONS)
    b = mixed.encode(QUESTIONS)
    assert b.shape == a.shape
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    cosine = np.sum(a * b, axis=1)
    assert cosine.min() >= 0.996, cosine
    assert cosine.mean() >= 0.998, cosine
    assert np.array_equal(np.argsort(a @ a.T, axis=1)[:, -2], np.argsort(b @ b.T, axis=1)[:, -2])


@pytest.mark.slow
def test_a_large_batch_runs_in_length_sorted_parts_and_keeps_its_order() -> None:
    from app.embedding.onnx_encoder import RUN_SIZE

    path, graph = fp32_graph()
    encoder = OnnxEncoder(graph, path, 1, "minilm")
    # Distinct texts of many lengths, the longest truncated to the model's window.
    texts = [f"{q} {'please ' * (i % 4)}(room {i})" for i, q in enumerate(QUESTIONS[:-1] * 3)]
    texts.append(QUESTIONS[-1])
    assert len(texts) > 2 * RUN_SIZE
    together = encoder.encode(texts)
    one_by_one = np.vstack([encoder.encode([t]) for t in texts])
    assert together.shape == (len(texts), 384)
    assert np.all(np.sum(together * one_by_one, axis=1) >= 0.9999)
    # Each row is its own text's, not a neighbour's of another length.
    assert np.all(np.argmax(together @ one_by_one.T, axis=1) == np.arange(len(texts)))


@pytest.mark.slow
def test_a_batch_encoded_on_several_threads_is_the_batch_encoded_on_one() -> None:
    from app.embedding.onnx_encoder import RUN_SIZE

    path, graph = fp32_graph()
    texts = [f"{q} {'please ' * (i % 5)}(room {i})" for i, q in enumerate(QUESTIONS[:-1] * 5)]
    assert len(texts) > 3 * RUN_SIZE
    alone = OnnxEncoder(graph, path, 1, "minilm").encode(texts)
    shared = OnnxEncoder(graph, path, 1, "minilm", runs_at_once=3)
    threads: set[str] = set()
    helpers: set[threading.Thread] = set()
    run = shared._run

    def watched(token_ids: list[list[int]]) -> np.ndarray:
        threads.add(threading.current_thread().name)
        if threading.current_thread().name.startswith("embedder-run"):
            helpers.add(threading.current_thread())
        return run(token_ids)

    shared._run = watched  # type: ignore[method-assign]
    assert np.array_equal(shared.encode(texts), alone)
    assert len(threads) == 3  # the caller's and two helpers
    # Two callers at once (the batcher and a re-index): each gets its own texts' vectors.
    with ThreadPoolExecutor(2) as callers:
        first = callers.submit(shared.encode, texts)
        second = callers.submit(shared.encode, texts[::-1])
        assert np.array_equal(first.result(), alone)
        assert np.array_equal(second.result(), alone[::-1])
    # A batch of one run stays on the caller's thread.
    threads.clear()
    shared.encode(texts[:RUN_SIZE])
    assert threads == {threading.current_thread().name}
    # Closed: the helpers are gone and a batch of several runs is still encoded, on the caller.
    shared.close()
    assert len(helpers) == 2
    assert not any(thread.is_alive() for thread in helpers)
    assert np.array_equal(shared.encode(texts), alone)
    assert threads == {threading.current_thread().name}
