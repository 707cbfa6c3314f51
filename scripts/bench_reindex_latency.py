"""Guest latency while a re-index runs in the server, compared with an idle server.

Against a running server (``RAG_ADMIN_TOKEN`` set): one guest asks distinct questions back to
back (so every answer is computed, none cached), first with nothing else running, then while
re-index jobs rebuild the property with different chunk sizes (so the job really embeds).

    RAG_PORT=8103 RAG_ADMIN_TOKEN=t .venv/bin/python -m app serve &
    .venv/bin/python scripts/bench_reindex_latency.py --url http://127.0.0.1:8103 \
        --token t --property harbour-grand
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import httpx

QUESTIONS = [
    "What time is check-out?",
    "Is there parking?",
    "When is breakfast served?",
    "Are dogs allowed?",
    "What is the wifi password?",
    "When does the pool open?",
    "Can I store my luggage?",
    "How do I get to the airport?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<18} n={len(values):>4}  p50={statistics.median(values):6.1f} ms  "
        f"p90={percentile(values, 0.90):6.1f} ms  p99={percentile(values, 0.99):6.1f} ms"
    )


def ask(client: httpx.Client, prop: str, counter: itertools.count[int]) -> float:
    n = next(counter)
    question = f"{QUESTIONS[n % len(QUESTIONS)]} {n}"
    started = time.perf_counter()
    response = client.post("/ask", json={"property_id": prop, "question": question})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="the server's RAG_ADMIN_TOKEN")
    parser.add_argument("--property", default="harbour-grand")
    parser.add_argument("--baseline-s", type=float, default=15.0)
    parser.add_argument("--max-tokens", default="200,160,128,96,80,64", help="one job each")
    args = parser.parse_args()
    auth = {"authorization": f"Bearer {args.token}"}
    counter = itertools.count()
    with httpx.Client(base_url=args.url, timeout=30) as client:
        for _ in range(20):  # warm-up
            ask(client, args.property, counter)
        idle: list[float] = []
        deadline = time.perf_counter() + args.baseline_s
        while time.perf_counter() < deadline:
            idle.append(ask(client, args.property, counter))

        busy: list[float] = []
        jobs_s = 0.0
        for size in args.max_tokens.split(","):
            job = client.post(
                "/admin/reindex",
                json={"property_id": args.property, "max_tokens": int(size)},
                headers=auth,
            )
            job.raise_for_status()
            job_id = job.json()["job_id"]
            started = time.perf_counter()
            state: dict[str, object] = {"state": "queued"}
            while state["state"] in ("queued", "running"):
                if state["state"] == "running":
                    busy.append(ask(client, args.property, counter))
                else:
                    time.sleep(0.01)
                state = client.get(f"/admin/jobs/{job_id}", headers=auth).json()
            jobs_s += time.perf_counter() - started
            if state["state"] != "succeeded":
                raise SystemExit(f"job {job_id} {state['state']}: {state.get('error')}")
            print(f"job {job_id} max_tokens={size}: {state['progress']}")
    print(summary("idle", idle))
    print(summary("during re-index", busy))
    print(f"re-index jobs ran {jobs_s:.1f} s in all")


if __name__ == "__main__":
    main()
