"""The facts tables of ``scripts/eval``: opening-hours parsing, time-aware and menu answers."""

from __future__ import annotations

from evaluation.hours_eval import DEFAULT_HOURS_SET, evaluate_hours, load_cases, render_hours
from evaluation.menu_eval import evaluate_menu, render_menu
from evaluation.timely_eval import evaluate_timely, render_timely


def render_facts() -> str:
    """Every facts table, as text (no database needed)."""
    parts = []
    for path in (DEFAULT_HOURS_SET, DEFAULT_HOURS_SET.with_name("hours_holdout.tsv")):
        report = evaluate_hours(load_cases(path))
        parts.append(f"[{path.name}] " + render_hours(report))
    parts.append(render_timely(evaluate_timely()))
    parts.append(render_menu(evaluate_menu()))
    return "\n\n".join(parts)
