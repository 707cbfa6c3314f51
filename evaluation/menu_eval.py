"""Menu questions answered from the sample hotels' dishes as data (``data/eval/menu.jsonl``).

A case passes when the answer contains every ``expect`` text and none of ``reject``; an
allergen case must also hand over to staff (``escalate``) and never call a dish safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.config import PROJECT_ROOT
from app.facts.menu import dishes_in
from app.facts.menu_answer import answer_menu
from app.facts.menu_store import StoredDish
from app.text import split_units
from evaluation.samples import SAMPLE, chunked_sample, read_cases, says

DEFAULT_MENU_SET = PROJECT_ROOT / "data" / "eval" / "menu.jsonl"


@dataclass(slots=True)
class MenuReport:
    total: int = 0
    correct: int = 0
    dishes: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def sample_menus(sample_dir: Path = SAMPLE) -> dict[str, tuple[list[StoredDish], dict[str, str]]]:
    """Each sample property's dishes and allergy note, as ingestion reads them."""
    out = {}
    for prop in chunked_sample(sample_dir):
        dishes: list[StoredDish] = []
        policies: dict[str, str] = {}
        for document, chunks in prop.documents:
            found = [StoredDish(d, document.doc_key, c.content_hash)
                     for c in chunks for d in dishes_in(c.heading, c.text)]  # fmt: skip
            dishes += found
            notes = [u for c in chunks for u in split_units(c.text) if "allerg" in u.lower()]
            if found and notes:
                policies[document.doc_key] = " ".join(dict.fromkeys(notes[:2]))
        out[prop.id] = (dishes, policies)
    return out


def evaluate_menu(path: Path = DEFAULT_MENU_SET) -> MenuReport:
    menus = sample_menus()
    report = MenuReport(dishes=sum(len(d) for d, _ in menus.values()))
    for case in read_cases(path):
        dishes, policy = menus[case["property"]]
        answer = answer_menu(case["question"], dishes, lambda d: 1, policy)
        text = answer.text if answer else ""
        ok = answer is not None and says(text, case["expect"], case.get("reject", []))
        if case.get("escalate") is not None and answer is not None:
            ok = ok and answer.escalate == case["escalate"]
        ok = ok and " safe " not in f" {text.replace('is safe for you', '')} "
        report.total += 1
        report.correct += ok
        if not ok:
            report.failures.append((case["question"], text or "(no menu answer)"))
    return report


def render_menu(report: MenuReport) -> str:
    lines = [
        f"menu questions (dishes as data, {report.dishes} dishes in the sample hotels):",
        f"{'correct':<10}{report.accuracy:>8.1%}{report.total:>8} questions",
    ]
    lines += [f"  ✗ {q!r}: {got}" for q, got in report.failures]
    return "\n".join(lines)
