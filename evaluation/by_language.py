"""The per-language table of ``scripts/eval --languages``: every model side by side.

Rows are languages (English on the same questions as the translations, then each translation,
then the property whose knowledge base is German); columns are hit@5 and nDCG@10 for each
model and retrieval variant, followed by each model's speed and memory.
"""

from __future__ import annotations

from collections.abc import Sequence

LANGUAGE_ORDER = ("en", "de", "fr", "es", "it", "zh", "ja")
SHOWN_VARIANTS = ("vector", "hybrid-plain", "hybrid")


def _order(group: str) -> tuple[int, str]:
    head = group.split(" ")[0]
    index = LANGUAGE_ORDER.index(head) if head in LANGUAGE_ORDER else len(LANGUAGE_ORDER)
    return (1 if " " in group else 0, f"{index:02d}{group}")


def render_languages(reports: Sequence[dict[str, object]]) -> str:
    """hit@5 / nDCG@10 per language for every model and variant, then speed and memory."""
    columns: list[tuple[str, str, dict[str, dict[str, float]]]] = []
    for report in reports:
        tables: dict[str, dict[str, dict[str, float]]] = report.get("by_language") or {}  # type: ignore[assignment]
        for variant in SHOWN_VARIANTS:
            if variant in tables:
                columns.append((str(report["model"]), variant, tables[variant]))
    if not columns:
        return "no per-language results (run with --languages)"
    groups = sorted({g for _, _, table in columns for g in table}, key=_order)
    width = 16
    head1 = f"{'':<18}" + "".join(
        f"{model + ' ' + variant:>{width}}" for model, variant, _ in columns
    )
    head2 = f"{'language':<18}" + "".join(f"{'hit@5 ndcg':>{width}}" for _ in columns)
    lines = ["hit@5 and nDCG@10 per language (answerable questions):", head1, head2]
    for group in groups:
        cells = []
        for _, _, table in columns:
            row = table.get(group)
            cells.append(
                f"{row['hit@5']:>9.3f}{row['ndcg@10']:>7.3f}" if row else f"{'-':>{width}}"
            )
        lines.append(f"{group:<18}" + "".join(cells))
    lines += ["", "worst gap to English (hit@5, points):"]
    for model, variant, table in columns:
        english = table.get("en", {}).get("hit@5")
        if english is None:
            continue
        gaps = {g: english - r["hit@5"] for g, r in table.items() if g in LANGUAGE_ORDER}
        worst = max(gaps, key=lambda g: gaps[g])
        lines.append(f"  {model} {variant}: {100 * gaps[worst]:+.1f} ({worst})")
    lines += ["", "answerable questions handed over (extractive writer, configured thresholds):"]
    for model, variant, table in columns:
        if variant != "hybrid" or not any("handover" in row for row in table.values()):
            continue
        lines.append(f"  {model} {variant}:")
        for g in groups:
            row = table.get(g, {})
            if "handover" not in row:
                continue
            line = (
                f"    {g:<18} answerable {100 * row['handover']:3.0f}% "
                f"(best similarity p10 {row['best_p10']:.2f})"
            )
            if "unanswerable_handover" in row:
                line += (
                    f", unanswerable {100 * row['unanswerable_handover']:3.0f}% "
                    f"(p90 {row['unanswerable_best_p90']:.2f})"
                )
            lines.append(line)
    lines += ["", "speed and memory (one thread, own process):"]
    for report in reports:
        speed: dict[str, object] = report.get("speed") or {}  # type: ignore[assignment]
        if "error" in speed:
            lines.append(f"  {report['model']}: not measured ({speed['error']})")
        elif speed:
            lines.append(
                f"  {speed['model']}: query {speed['query_ms_p50']} ms (p50), "
                f"{speed['queries_per_s_batch32']} questions/s in batches, "
                f"{speed['passages_per_s']} passages/s, load {speed['load_s']} s, "
                f"RSS {speed['rss_mib']} MiB ({speed['model_rss_mib']} MiB for the model)"
            )
    return "\n".join(lines)
