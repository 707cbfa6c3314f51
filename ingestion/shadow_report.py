"""``scripts/ingest shadow-report``: how a property's candidate version compares with the live
one on the live questions shadow mode sampled (see :mod:`app.rag.shadow`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from statistics import median
from typing import Any

import asyncpg

from app.db import shadow as store


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Agreement, differences and latency of the runs (newest first)."""
    if not runs:
        return {"runs": 0}
    top_same = [r for r in runs if r["live_sources"][:1] == r["candidate_sources"][:1]]
    escalate_same = [r for r in runs if r["live_escalate"] == r["candidate_escalate"]]
    overlaps = [
        len(set(r["live_sources"]) & set(r["candidate_sources"]))
        / max(1, len(set(r["live_sources"]) | set(r["candidate_sources"])))
        for r in runs
    ]
    differences = [
        {
            "question": r["question"],
            "language": r["language"],
            "live_top": (r["live_sources"] or ["-"])[0],
            "candidate_top": (r["candidate_sources"] or ["-"])[0],
            "live_escalate": r["live_escalate"],
            "candidate_escalate": r["candidate_escalate"],
            "live_answer": r["live_answer"],
            "candidate_answer": r["candidate_answer"],
        }
        for r in runs
        if r["live_sources"][:1] != r["candidate_sources"][:1]
        or r["live_escalate"] != r["candidate_escalate"]
    ]
    return {
        "runs": len(runs),
        "live_versions": sorted({r["live_version"] for r in runs if r["live_version"]}),
        "candidate_versions": sorted({r["candidate_version"] for r in runs}),
        "top_source_agreement": len(top_same) / len(runs),
        "handover_agreement": len(escalate_same) / len(runs),
        "answers_identical": sum(r["live_answer"] == r["candidate_answer"] for r in runs)
        / len(runs),
        "mean_source_overlap": sum(overlaps) / len(overlaps),
        "live_handovers": sum(r["live_escalate"] for r in runs),
        "candidate_handovers": sum(r["candidate_escalate"] for r in runs),
        "live_ms_p50": median(r["live_ms"] for r in runs),
        "candidate_ms_p50": median(r["candidate_ms"] for r in runs),
        "differences": differences,
    }


def render(property_id: str, summary: dict[str, Any], shown: int = 20) -> str:
    """The summary as text."""
    if not summary["runs"]:
        return (
            f"{property_id}: no shadow runs yet (build a candidate with 'reindex --candidate' and "
            "set RAG_SHADOW_SHARE on the servers)"
        )
    lines = [
        f"{property_id}: {summary['runs']} questions, live version(s) "
        f"{summary['live_versions']} against candidate {summary['candidate_versions']}",
        f"  same top source        {summary['top_source_agreement']:.1%}",
        f"  same hand-over choice  {summary['handover_agreement']:.1%} (hand-overs: live "
        f"{summary['live_handovers']}, candidate {summary['candidate_handovers']})",
        f"  identical answers      {summary['answers_identical']:.1%}",
        f"  source overlap         {summary['mean_source_overlap']:.2f} (Jaccard, mean)",
        f"  latency p50            live {summary['live_ms_p50']:.1f} ms, "
        f"candidate {summary['candidate_ms_p50']:.1f} ms",
    ]
    differences = summary["differences"]
    if differences:
        lines.append(f"  differences ({len(differences)}, newest first):")
    for d in differences[:shown]:
        flags = ""
        if d["live_escalate"] != d["candidate_escalate"]:
            flags = " [hand-over: live]" if d["live_escalate"] else " [hand-over: candidate]"
        lines.append(
            f"    [{d['language']}] {d['question'][:70]!r}: live {d['live_top']} | "
            f"candidate {d['candidate_top']}{flags}"
        )
    return "\n".join(lines)


async def report(pool: asyncpg.Pool, property_id: str, limit: int, as_json: bool) -> str:
    """The report of the property's newest ``limit`` runs, as text or JSON."""
    async with pool.acquire() as conn:
        runs = await store.runs(conn, property_id, limit)
    summary = summarise(runs)
    if as_json:
        return json.dumps({"property": property_id, **summary}, indent=2, default=str)
    return render(property_id, summary)
