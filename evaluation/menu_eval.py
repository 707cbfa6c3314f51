"""Menu questions answered from the sample hotels' dishes as data (``data/eval/menu.jsonl``).

A case passes when the answer contains every ``expect`` text and none of ``reject``; an
allergen case must also hand over to staff (``escalate``) and never call a dish safe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from app.config import PROJECT_ROOT
from app.facts.menu import dishes_in
from app.facts.menu_answer import answer_menu
from app.facts.menu_store import StoredDish
from app.text import split_units
from ingestion.chunking import chunk_document
from ingestion.documents import load_paths

DEFAULT_MENU_SET = PROJECT_ROOT / "data" / "eval" / "menu.jsonl"
SAMPLE = PROJECT_ROOT / "data" / "sample"


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
    for entry in json.loads((sample_dir / "properties.json").read_text(encoding="utf-8")):
        documents, _ = load_paths([sample_dir / entry["folder"]])
        dishes: list[StoredDish] = []
        policies: dict[str, str] = {}
        for document in documents:
            chunks = chunk_document(document.title, document.text, lambda t: len(t.split()), 200)
            found = [StoredDish(d, document.doc_key, c.content_hash)
                     for c in chunks for d in dishes_in(c.heading, c.text)]  # fmt: skip
            dishes += found
            notes = [u for c in chunks for u in split_units(c.text) if "allerg" in u.lower()]
            if found and notes:
                policies[document.doc_key] = " ".join(dict.fromkeys(notes[:2]))
        out[entry["id"]] = (dishes, policies)
    return out


def evaluate_menu(path: Path = DEFAULT_MENU_SET) -> MenuReport:
    menus = sample_menus()
    report = MenuReport(dishes=sum(len(d) for d, _ in menus.values()))
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        dishes, policy = menus[case["property"]]
        answer = answer_menu(case["question"], dishes, lambda d: 1, policy)
        text = answer.text if answer else ""
        ok = answer is not None and all(e in text for e in case["expect"])
        ok = ok and not any(r in text for r in case.get("reject", []))
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
