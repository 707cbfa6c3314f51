"""The bench's report names what decides the model's speed: the CPU's vector instructions, its
8-bit dot products, and the graph the service served."""

from __future__ import annotations

from benchlib import report
from benchlib.cli import widest_vectors

from app.embedding.cpu_features import cpu_flags

ZEN3_FLAGS = "flags\t\t: fpu sse sse2 fma avx f16c avx2 bmi2 sha_ni vaes\n"


def test_the_widest_vector_instructions_are_named() -> None:
    zen3 = cpu_flags(ZEN3_FLAGS)
    assert widest_vectors(zen3) == "avx2"
    assert widest_vectors(zen3 | {"avx512f", "avx512_vnni"}) == "avx512f"
    assert widest_vectors(cpu_flags("Features\t: fp asimd asimddp\n")) == "asimd"
    assert widest_vectors(frozenset({"sse2"})) == "other"


def test_the_report_line_says_the_instructions_and_the_graph() -> None:
    zen3 = {"vectors": "avx2", "dot_products": False}
    zen5 = {"vectors": "avx512f", "dot_products": True}
    assert report._isa(zen3) == " (AVX2, no 8-bit dot products)"
    assert report._isa(zen5) == " (AVX512F, with 8-bit dot products)"
    assert report._isa({}) == ""  # a run recorded before these were kept
    assert report._graph({"backend": "onnx", "graph": "fp32"}) == " (fp32 graph)"
    assert report._graph({"backend": "torch"}) == ""
