"""Opening-hours parser accuracy on ``data/eval/hours.tsv``: exact match of the canonical form."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.config import PROJECT_ROOT
from app.facts.hours_parser import parse_hours

DEFAULT_HOURS_SET = PROJECT_ROOT / "data" / "eval" / "hours.tsv"
NONE = "-"


@dataclass(frozen=True, slots=True)
class HoursCase:
    """One expression, its language and the canonical form it must parse to ("-": none)."""

    lang: str
    expected: str
    text: str


@dataclass(slots=True)
class HoursReport:
    """Exact matches overall and per language, and the cases that failed."""

    total: int = 0
    exact: int = 0
    by_lang: dict[str, list[int]] = field(default_factory=dict)
    failures: list[tuple[HoursCase, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.exact / self.total if self.total else 0.0


def load_cases(path: Path = DEFAULT_HOURS_SET) -> list[HoursCase]:
    """The cases of a TSV file: ``lang<TAB>expected<TAB>text``; ``#`` lines are comments."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path}:{number}: expected lang, expected and text, tab-separated")
        lang, expected, text = parts
        cases.append(HoursCase(lang, expected, text.replace("\\n", "\n")))
    return cases


def evaluate_hours(cases: list[HoursCase]) -> HoursReport:
    """Parse every case and compare its canonical form with the expected one."""
    report = HoursReport()
    for case in cases:
        got = parse_hours(case.text).render() or NONE
        ok = got == case.expected
        report.total += 1
        report.exact += ok
        counts = report.by_lang.setdefault(case.lang, [0, 0])
        counts[0] += ok
        counts[1] += 1
        if not ok:
            report.failures.append((case, got))
    return report


def render_hours(report: HoursReport, show_failures: bool = True) -> str:
    """The table ``scripts/eval`` prints."""
    lines = ["opening hours parser (exact canonical form):"]
    lines.append(f"{'language':<10}{'exact':>8}{'cases':>8}")
    for lang, (ok, n) in sorted(report.by_lang.items()):
        lines.append(f"{lang:<10}{ok / n:>8.1%}{n:>8}")
    lines.append(f"{'all':<10}{report.accuracy:>8.1%}{report.total:>8}")
    if show_failures:
        for case, got in report.failures:
            lines.append(f"  ✗ [{case.lang}] {case.text!r}: {got!r}, expected {case.expected!r}")
    return "\n".join(lines)
