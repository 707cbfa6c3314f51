"""``scripts/gpu-check``: the CUDA fp16 encoder swept over batch sizes, then ``/ask`` under
load with the GPU encoder, in one table. Skips cleanly (exit 0) where no CUDA device is."""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.config import PROJECT_ROOT, Settings
from app.embedding.encoder import (
    SentenceTransformerEncoder,
    default_model_path,
    load_encoder,
    torch_cuda_available,
)
from benchlib.corpus_text import questions

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/gpu-check", description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per batch size")
    parser.add_argument("--no-load", action="store_true", help="skip the /ask load test")
    parser.add_argument("--smoke", action="store_true", help="a tiny /ask load test")
    parser.add_argument("--json", type=Path, help="write every figure here as JSON")
    return parser.parse_args(argv)


def sweep(encoder: Any, texts: list[str], seconds: float) -> list[dict[str, Any]]:
    """Throughput and per-batch latency of ``encoder.encode`` at each batch size."""
    rows = []
    for size in BATCHES:
        batch_texts = itertools.cycle(texts)
        for _ in range(3):  # kernels chosen, memory pools grown
            encoder.encode([next(batch_texts) for _ in range(size)])
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(latencies) < 5:
            batch = [next(batch_texts) for _ in range(size)]
            began = time.perf_counter()
            encoder.encode(batch)  # returns host arrays: the GPU work is done
            latencies.append((time.perf_counter() - began) * 1000)
        total_s = sum(latencies) / 1000
        rows.append(
            {
                "batch": size,
                "per_s": round(size * len(latencies) / total_s, 1),
                "p50_ms": round(float(np.percentile(latencies, 50)), 2),
                "p99_ms": round(float(np.percentile(latencies, 99)), 2),
            }
        )
    return rows


def agreement(gpu: Any, texts: list[str]) -> float:
    """Lowest cosine between the fp16 GPU vectors and the CPU encoder's, over ``texts``."""
    cpu = load_encoder(Settings(embedding_device="cpu"))
    a, b = gpu.encode(texts), cpu.encode(texts)
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return round(float(cosine.min()), 5)


def load_test(smoke: bool) -> dict[str, Any]:
    """``scripts/bench`` (small or smoke corpus, no naive baseline) with the encoder on CUDA."""
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as folder:
        out = Path(folder) / "results.json"
        argv = [
            sys.executable,
            "-m",
            "benchlib",
            "--smoke" if smoke else "--small",
            "--no-naive",
            "--env",
            "RAG_EMBEDDING_DEVICE=cuda",
            "--json",
            str(out),
            "--markdown",
            str(Path(folder) / "report.md"),
        ]
        subprocess.run(argv, cwd=PROJECT_ROOT, check=True)
        data: dict[str, Any] = json.loads(out.read_text())
        return data


def table(device: str, rows: list[dict[str, Any]], cosine: float, memory_mb: float,
          load: dict[str, Any] | None) -> str:  # fmt: skip
    lines = [
        f"GPU check on {device} (sentence-transformers, torch fp16)",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| encode, batch {row['batch']} | {row['per_s']:,.0f} questions/s, "
            f"P50 {row['p50_ms']} / P99 {row['p99_ms']} ms per batch |"
        )
    lines.append(f"| lowest cosine, fp16 GPU vs CPU vectors | {cosine} |")
    lines.append(f"| peak GPU memory | {memory_mb:,.0f} MB |")
    if load is not None:
        svc = load.get("service", {})
        rate, clients = svc.get("uncached_rate", {}), svc.get("uncached_clients", {})
        cached, noop = svc.get("cached", {}), svc.get("noop", {})
        embed = (clients.get("stages") or {}).get("embed", {})
        lines += [
            f"| /ask uncached at {rate.get('target_rate')} req/s | P50 {rate.get('p50_ms')} / "
            f"P99 {rate.get('p99_ms')} ms, {rate.get('errors')} errors |",
            f"| /ask uncached, {clients.get('clients')} clients | {clients.get('rps')} req/s, "
            f"P50 {clients.get('p50_ms')} / P99 {clients.get('p99_ms')} ms, "
            f"{clients.get('errors')} errors |",
            f"| embed stage under clients | P50 {embed.get('p50')} / P99 {embed.get('p99')} ms |",
            f"| cached vs no-op | {cached.get('rps')} vs {noop.get('rps')} req/s |",
            f"| service cold start, RSS | {svc.get('cold_start_s')} s, "
            f"{svc.get('rss_warm_mb')} MB |",
            f"| load generator | {clients.get('generator')} |",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not torch_cuda_available():
        print("gpu-check: no CUDA device here; skipped (nothing was measured)")
        return 0
    import torch

    device = torch.cuda.get_device_name(0)
    settings = Settings(embedding_device="cuda", embedding_backend="torch")
    encoder = SentenceTransformerEncoder(
        default_model_path(), "cuda", settings.model_threads, settings.embedding_model_name
    )
    texts = [q for _, q in itertools.islice(questions(["p"], seed=7), 1024)]
    torch.cuda.reset_peak_memory_stats()
    rows = sweep(encoder, texts, args.seconds)
    memory_mb = torch.cuda.max_memory_allocated() / 2**20
    cosine = agreement(encoder, texts[:64])
    del encoder
    torch.cuda.empty_cache()
    load = None if args.no_load else load_test(args.smoke)
    print(table(device, rows, cosine, memory_mb, load))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "device": device,
                    "encode": rows,
                    "cosine_min": cosine,
                    "peak_memory_mb": memory_mb,
                    "ask": load,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
