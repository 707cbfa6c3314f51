"""Closed-loop load from ``wrk``: a C load generator in its own process, so the clients cost
the service's cores little, and what they do cost is measured and reported.

Requests are pre-built (distinct questions, one per line in a file that ``requests.lua``
cycles through, each thread from its own offset). The generator's CPU time comes from the
kernel's accounting of the child (``wait4``), so a reader sees whether it was the limit.
Where ``wrk`` is not installed the harness falls back to its in-process generator.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

SCRIPT = Path(__file__).with_name("requests.lua")
STAGES = ("embed", "search", "answer", "total")


def available() -> bool:
    return shutil.which("wrk") is not None


def request_line(raw: bytes) -> str:
    """``METHOD PATH BODY`` of one raw HTTP/1.1 request (the body must hold no newline)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    method, path, _ = head.split(b"\r\n", 1)[0].split(b" ", 2)
    text = body.decode()
    if "\n" in text:
        raise ValueError("a request body for wrk must be one line")
    return f"{method.decode()} {path.decode()} {text}".rstrip()


async def closed_loop(
    port: int,
    requests: Iterable[bytes],
    clients: int,
    seconds: float,
    *,
    collect: str = "none",
    threads: int = 1,
    timeout_s: float = 10.0,
) -> dict[str, Any]:
    """Drive ``clients`` keep-alive connections for ``seconds``; a summary in the shape of the
    in-process generator's, plus the generator's CPU use and, with ``collect="timings"``, the
    stage timings of the answers."""
    return await asyncio.to_thread(
        _run, port, list(requests), clients, seconds, collect, threads, timeout_s
    )


def _run(
    port: int,
    requests: list[bytes],
    clients: int,
    seconds: float,
    collect: str,
    threads: int,
    timeout_s: float,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        listing = Path(folder) / "requests.txt"
        listing.write_text("\n".join(request_line(r) for r in requests) + "\n")
        prefix = str(Path(folder) / "timings")
        argv = [
            "wrk",
            f"-t{threads}",
            f"-c{max(clients, threads)}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={timeout_s:g}s",
            "-s",
            str(SCRIPT),
            f"http://127.0.0.1:{port}",
            "--",
            str(listing),
            collect,
            prefix,
            str(threads),
        ]
        with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
            proc = subprocess.Popen(argv, stdout=out_file, stderr=err_file)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            out_file.seek(0)
            err_file.seek(0)
            out, err = out_file.read().decode(), err_file.read().decode()
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {err.strip() or out.strip()}")
        data = json.loads(lines[-1])
        stages = _stages(Path(folder).glob("timings.*")) if collect == "timings" else {}
    return _summary(data, clients, usage.ru_utime + usage.ru_stime, stages)


def _summary(
    data: dict[str, Any], clients: int, cpu_s: float, stages: dict[str, Any]
) -> dict[str, Any]:
    seconds = data["duration_us"] / 1e6
    errors = {
        k: data[k]
        for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
        if data[k]
    }
    ok = max(0, data["requests"] - data["status_errors"])
    return {
        "mode": "closed-loop",
        "generator": "wrk",
        "target_rate": None,
        "clients": clients,
        "seconds": round(seconds, 2),
        "requests": data["requests"],
        "ok": ok,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "rps": round(ok / seconds, 1) if seconds else 0.0,
        "p50_ms": round(data["p50_us"] / 1000, 2),
        "p95_ms": round(data["p95_us"] / 1000, 2),
        "p99_ms": round(data["p99_us"] / 1000, 2),
        "max_ms": round(data["max_us"] / 1000, 2),
        "mean_ms": round(data["mean_us"] / 1000, 2),
        "cached_answers": data["cached"],
        "stages": stages,
        "generator_cpu": generator_cpu(cpu_s, seconds, ok),
    }


def generator_cpu(cpu_s: float, seconds: float, requests: int) -> dict[str, float]:
    """The load generator's CPU: seconds, share of one core, and ms per answered request."""
    return {
        "cpu_s": round(cpu_s, 2),
        "core_share": round(cpu_s / seconds, 3) if seconds else 0.0,
        "ms_per_request": round(cpu_s * 1000 / requests, 3) if requests else 0.0,
    }


def _stages(files: Iterable[Path]) -> dict[str, Any]:
    rows = [
        line.split()
        for file in files
        for line in file.read_text().splitlines()
        if len(line.split()) == len(STAGES)
    ]
    if not rows:
        return {}
    values = np.array(rows, dtype=float)
    return {
        name: {
            "p50": round(float(np.percentile(values[:, i], 50)), 2),
            "p99": round(float(np.percentile(values[:, i], 99)), 2),
        }
        for i, name in enumerate(STAGES)
    }
