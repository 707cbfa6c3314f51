"""The bench's report names what decides the model's speed: the CPU's vector instructions, its
8-bit dot products, and the graph the service served."""

from __future__ import annotations

from benchlib import report
from benchlib.cli import machine

from app.embedding.cpu_features import this_cpu_has_dot_products


def test_the_machine_record_holds_this_cpus_vector_instructions() -> None:
    found = machine()
    assert found["vectors"] in ("avx512f", "avx2", "asimd", "other")
    assert found["dot_products"] is this_cpu_has_dot_products()


def test_the_report_line_says_the_instructions_and_the_graph() -> None:
    zen3 = {"vectors": "avx2", "dot_products": False}
    zen5 = {"vectors": "avx512f", "dot_products": True}
    assert report._isa(zen3) == " (AVX2, no 8-bit dot products)"
    assert report._isa(zen5) == " (AVX512F, with 8-bit dot products)"
    assert report._isa({}) == ""  # a run recorded before these were kept
    assert report._graph({"backend": "onnx", "graph": "fp32"}) == " (fp32 graph)"
    assert report._graph({"backend": "torch"}) == ""
