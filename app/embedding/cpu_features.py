"""What this CPU's vector instructions are, which decide the graph the CPU backend serves by
default (:mod:`app.embedding.onnx_quantize`).

The int8 graph's products are cheaper than fp32's only where the CPU multiplies and adds 8-bit
integers in one instruction: x86 with AVX-512 VNNI or AVX-VNNI, ARM with the dot-product
extension. Without them ONNX Runtime emulates those products with wider instructions, and the
int8 graph costs more model CPU per question than the fp32 graph does in a batch (measured with
``scripts/bench_encoder.py`` on an AVX2 CPU without VNNI: 11.2 ms against 6.9 ms per question
in batches of 32, about the same for one question alone). On such an x86 CPU the mixed graph is
served: its 8-bit products run on AVX2's 8-bit multiply-adds (6.3 ms against 5.2 ms in batches
of 32, 11.4 ms against 8.9 ms for one question). Elsewhere (ARM without the dot-product
extension, or an unknown CPU) fp32 is served.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path
from typing import Literal, cast, get_args

# Linux's names for the instructions, in /proc/cpuinfo ("flags" on x86, "Features" on ARM).
DOT_PRODUCT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "asimddp"})
_CPUINFO = Path("/proc/cpuinfo")

Precision = Literal["int8", "mixed", "fp32"]
PRECISIONS: tuple[str, ...] = get_args(Precision)


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The instruction-set flags of Linux's ``cpuinfo`` text (its first "flags" line on x86,
    "Features" on ARM); empty when it has none."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() in ("flags", "features"):
            return frozenset(value.split())
    return frozenset()


@functools.cache
def this_cpu_flags() -> frozenset[str] | None:
    """:func:`cpu_flags` of the CPU this process runs on; None where there is no cpuinfo."""
    try:
        return cpu_flags(_CPUINFO.read_text(errors="replace"))
    except OSError:
        return None


def has_dot_products(flags: frozenset[str] | None, system: str, machine: str) -> bool:
    """Whether a CPU has 8-bit integer dot products: from its Linux ``flags`` where there are
    some, else by platform (every Apple silicon CPU has them; elsewhere they cannot be told,
    and are taken to be missing)."""
    if flags is not None:
        return not DOT_PRODUCT_FLAGS.isdisjoint(flags)
    return system == "Darwin" and machine.lower() in ("arm64", "aarch64")


def this_cpu_has_dot_products() -> bool:
    """:func:`has_dot_products` for the CPU this process runs on."""
    return has_dot_products(this_cpu_flags(), platform.system(), platform.machine())


def precision_for(flags: frozenset[str] | None, system: str, machine: str) -> Precision:
    """The cheapest graph for a CPU of these Linux ``flags`` (None: no cpuinfo) at about the
    same vectors: int8 with 8-bit dot products, mixed on x86 with AVX2 without them, fp32
    elsewhere."""
    if has_dot_products(flags, system, machine):
        return "int8"
    if flags is not None and "avx2" in flags:
        return "mixed"
    return "fp32"


def this_cpu_precision() -> Precision:
    """:func:`precision_for` the CPU this process runs on."""
    return precision_for(this_cpu_flags(), platform.system(), platform.machine())


def served_precision(setting: str) -> Precision:
    """The graph's arithmetic for the ``embedding_precision`` setting: ``auto`` is this CPU's
    :func:`precision_for`; int8, mixed and fp32 are kept as set."""
    if setting in PRECISIONS:
        return cast(Precision, setting)
    if setting != "auto":
        raise ValueError(f"unknown embedding precision {setting!r}")
    return this_cpu_precision()
