"""The graph served by default follows the CPU: int8 where it has 8-bit dot products, mixed on
x86 with AVX2 without them, fp32 elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings
from app.embedding import cpu_features, encoder
from app.embedding.cpu_features import (
    cpu_flags,
    has_dot_products,
    precision_for,
    served_precision,
)
from app.embedding.onnx_quantize import graph_for

ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni vaes vpclmulqdq
"""
ZEN5 = ZEN3.replace("vpclmulqdq", "vpclmulqdq avx512f avx512bw avx512vl avx512_vnni avx512_bf16")
ALDER_LAKE = ZEN3.replace("vpclmulqdq", "vpclmulqdq avx_vnni")
GRAVITON = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp asimddp sve
"""
CORTEX_A72 = GRAVITON.replace(" asimddp", "")


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [(ZEN3, False), (ZEN5, True), (ALDER_LAKE, True), (GRAVITON, True), (CORTEX_A72, False)],
)
def test_linux_flags_tell_whether_the_cpu_has_8_bit_dot_products(
    cpuinfo: str, expected: bool
) -> None:
    assert has_dot_products(cpu_flags(cpuinfo), "Linux", "x86_64") is expected


def test_a_flag_counts_only_as_a_whole_word_of_the_flags_line() -> None:
    # "avx512_vnni" inside another name, or in a line other than the flags, is not the flag.
    odd = "model name\t: avx512_vnni edition\nflags\t\t: avx2 avx512_vnnix\n"
    assert cpu_flags(odd) == {"avx2", "avx512_vnnix"}
    assert not has_dot_products(cpu_flags(odd), "Linux", "x86_64")
    assert cpu_flags("processor\t: 0\n") == frozenset()  # no flags line at all
    assert not has_dot_products(frozenset(), "Linux", "x86_64")


def test_without_cpuinfo_only_apple_silicon_is_known_to_have_them() -> None:
    assert has_dot_products(None, "Darwin", "arm64")
    assert not has_dot_products(None, "Darwin", "x86_64")
    assert not has_dot_products(None, "Windows", "AMD64")


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        (ZEN3, "mixed"),
        (ZEN5, "int8"),
        (ALDER_LAKE, "int8"),
        (GRAVITON, "int8"),
        (CORTEX_A72, "fp32"),
        (ZEN3.replace(" avx2", ""), "fp32"),  # x86 without AVX2
    ],
)
def test_each_cpu_gets_its_cheapest_close_graph(cpuinfo: str, expected: str) -> None:
    assert precision_for(cpu_flags(cpuinfo), "Linux", "x86_64") == expected


def test_without_cpuinfo_apple_silicon_gets_int8_and_other_cpus_fp32() -> None:
    assert precision_for(None, "Darwin", "arm64") == "int8"
    assert precision_for(None, "Darwin", "x86_64") == "fp32"
    assert precision_for(None, "Windows", "AMD64") == "fp32"


def test_auto_serves_the_cpus_graph_and_a_set_precision_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for best in ("int8", "mixed", "fp32"):
        monkeypatch.setattr(cpu_features, "this_cpu_precision", lambda best=best: best)
        assert served_precision("auto") == best
        for setting in ("int8", "mixed", "fp32"):
            assert served_precision(setting) == setting
    with pytest.raises(ValueError, match="unknown embedding precision"):
        served_precision("fp16")


def test_auto_is_the_default_and_reads_this_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().embedding_precision == "auto"
    for cpuinfo, expected in ((ZEN3, "mixed"), (ZEN5, "int8"), (CORTEX_A72, "fp32")):
        monkeypatch.setattr(cpu_features, "this_cpu_flags", lambda c=cpuinfo: cpu_flags(c))
        assert served_precision("auto") == expected


@pytest.mark.parametrize("precision", ["int8", "mixed", "fp32"])
def test_the_encoder_loads_the_graph_auto_chooses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, precision: str
) -> None:
    fp32 = tmp_path / "all-MiniLM-L6-v2-0123456789abcdef.onnx"
    loaded: list[Path] = []

    class FakeOnnxEncoder:
        name, dim, device = "all-MiniLM-L6-v2", 384, "cpu"

        def __init__(self, graph: Path, *args: object) -> None:
            loaded.append(graph)
            self.graph = graph.name

    from app.embedding import onnx_encoder, onnx_export

    monkeypatch.setattr(cpu_features, "this_cpu_precision", lambda: precision)
    monkeypatch.setattr(onnx_export, "onnx_model_file", lambda *args: fp32)
    monkeypatch.setattr(onnx_export, "export_in_child", lambda *args: None)
    monkeypatch.setattr(onnx_encoder, "OnnxEncoder", FakeOnnxEncoder)
    monkeypatch.setattr(encoder, "_graph_of_precision", lambda graph, p, path: graph_for(graph, p))
    settings = Settings(embedding_backend="onnx", model_cache_dir=tmp_path)
    encoder.load_encoder(settings)
    assert loaded == [graph_for(fp32, precision)]
