"""The one table: scenario, what was injected, requests sent, errors by kind, checks, result."""

from __future__ import annotations

from collections.abc import Sequence

from tests.reliability.harness import Outcome

HEADERS = ("scenario", "injected", "requests", "errors by kind", "data checks", "result")


def _errors(outcome: Outcome) -> str:
    if not outcome.errors:
        return "none"
    return ", ".join(f"{kind}: {n}" for kind, n in outcome.errors.most_common())


def table(outcomes: Sequence[Outcome]) -> str:
    """A plain-text table; checks are listed one per line inside their row."""
    rows: list[list[list[str]]] = []
    for o in outcomes:
        cells = [
            [o.scenario],
            [o.injected],
            [str(o.requests)],
            [_errors(o)],
            [str(c) for c in o.checks] or ["(none)"],
            ["PASS" if o.passed else "FAIL"],
        ]
        rows.append(cells)
    widths = [len(h) for h in HEADERS]
    for cells in rows:
        for i, lines in enumerate(cells):
            widths[i] = max(widths[i], *(len(line) for line in lines))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [rule, "| " + " | ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)) + " |"]
    out.append(rule.replace("-", "="))
    for cells in rows:
        height = max(len(lines) for lines in cells)
        for line_no in range(height):
            parts = [
                (lines[line_no] if line_no < len(lines) else "").ljust(w)
                for lines, w in zip(cells, widths, strict=True)
            ]
            out.append("| " + " | ".join(parts) + " |")
        out.append(rule)
    return "\n".join(out)
