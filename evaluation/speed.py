"""Throughput and memory of one embedding model, measured in a process of its own.

Each model is loaded in a fresh child process, so its resident memory is its own and the other
model's threads cannot slow it down: ``python -m evaluation.speed MODEL`` prints one JSON object.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

from app.config import Settings, get_settings
from app.embedding.encoder import load_encoder, query_encoder

QUESTIONS = [
    "What time is check-out?",
    "Wann gibt es Frühstück?",
    "¿Se admiten perros en el hotel?",
    "朝食は何時からですか？",
]
PASSAGE = (
    "Breakfast is served daily from 7:00 to 10:30 in the Harbour Restaurant on the ground "
    "floor. A continental buffet and hot dishes cooked to order are included in most rates; "
    "guests on room-only rates pay 24 EUR per adult. Children under six eat free, and gluten-"
    "free bread and plant milks are available on request."
)


def _rss_mib() -> float:
    """Peak resident memory of this process (``ru_maxrss`` would count the parent's, kept
    across ``exec``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(model: str, threads: int = 1) -> dict[str, float | str]:
    """Load ``model`` with ``threads`` threads and time questions and passages."""
    before = _rss_mib()
    started = time.perf_counter()
    settings = get_settings().model_copy(
        update={
            "embedding_model": model,
            "embedding_threads": threads,
            "embedding_runs_at_once": 1,  # a batch on the model's own threads only
            "embedding_device": "cpu",
        }
    )
    encoder = load_encoder(settings)
    encode_query = query_encoder(encoder)
    encode_query(QUESTIONS)
    load_s = time.perf_counter() - started
    singles = []
    for _ in range(10):
        for question in QUESTIONS:
            t0 = time.perf_counter()
            encode_query([question])
            singles.append((time.perf_counter() - t0) * 1000)
    batch = QUESTIONS * 8
    t0 = time.perf_counter()
    encode_query(batch)
    batch_qps = len(batch) / (time.perf_counter() - t0)
    passages = [PASSAGE] * 16
    t0 = time.perf_counter()
    encoder.encode(passages)
    passages_per_s = len(passages) / (time.perf_counter() - t0)
    return {
        "model": encoder.name,
        "threads": threads,
        "load_s": round(load_s, 2),
        "query_ms_p50": round(median(singles), 2),
        "queries_per_s_batch32": round(batch_qps, 1),
        "passages_per_s": round(passages_per_s, 1),
        "rss_mib": round(_rss_mib(), 1),
        "model_rss_mib": round(_rss_mib() - before, 1),
    }


def measure_in_child(model: str, threads: int = 1, timeout_s: float = 300) -> dict[str, object]:
    """:func:`measure` in a fresh interpreter; an error is reported, not raised."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "evaluation.speed", model, str(threads)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=True,
        )
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return result
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"model": model, "error": str(exc)[:200]}


def main(argv: list[str] | None = None) -> int:
    import argparse
    import typing

    models = typing.get_args(Settings.model_fields["embedding_model"].annotation)
    parser = argparse.ArgumentParser(prog="python -m evaluation.speed", description=__doc__)
    parser.add_argument("model", choices=models, help="the embedding model to measure")
    parser.add_argument("threads", nargs="?", type=int, default=1, help="model threads")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("threads must be at least 1")
    print(json.dumps(measure(args.model, args.threads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
