"""``scripts/bench --smoke``: the harness runs end to end and reports every measure."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROWS = {
    "uncached_rate",
    "uncached_clients",
    "cpu",
    "cached",
    "embedding",
    "topk",
    "memory",
    "cold_start",
    "naive",
    "generator",
}


def test_smoke_run_measures_every_row(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    completed = subprocess.run(
        # Every smoke property is small: lower the exact-search limit so HNSW runs too.
        [
            "scripts/bench",
            "--smoke",
            "--json",
            str(out),
            "--env",
            "RAG_EXACT_SEARCH_MAX_CHUNKS=100",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(out.read_text())
    rows = {row["id"]: row for row in results["rows"]}
    assert set(rows) == ROWS
    for row in rows.values():
        assert row["target"], row
        # The naive baseline may time out entirely on a busy machine; the service may not.
        if row["id"] != "naive":
            assert "n/a" not in row["value"], row
    service = results["service"]
    for phase in ("uncached_rate", "uncached_clients", "cached", "noop"):
        assert service[phase]["ok"] > 0, phase
        # Every phase says which generator drove it and what it cost.
        assert service[phase]["generator"] in {"wrk", "python"}, phase
        assert service[phase]["generator_cpu"]["ms_per_request"] > 0, phase
    # Distinct questions are never answered from the cache; the cached phase always is.
    assert service["unexpected_cache_hits"] == 0
    assert service["cached"]["cached_answers"] == service["cached"]["ok"]
    assert service["uncached_clients"]["stages"]["embed"]["p50"] > 0
    assert results["topk"]["always_k"] is True
    assert results["topk"]["recall_queries"] > 0  # measured on HNSW queries only
    assert results["topk"]["recall_at_k"] >= 0.9
    assert results["naive"]["uncached_clients"]["ok"] > 0
    assert "| result | measure |" not in completed.stdout  # no Markdown report in smoke mode
    assert "target:" in completed.stdout
