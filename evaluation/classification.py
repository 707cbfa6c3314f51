"""Message classification quality: precision and recall per kind on the labelled messages.

``data/eval/messages.jsonl`` holds guest messages (typed and spoken, English, German, French,
Spanish) none of which is among the classifier's examples (``app/tasks/examples.jsonl``).
Rows carry a ``split``:

- ``held_out``: never among the examples, but seen while the rules and examples were written;
  the split to tune on.
- ``blind`` (printed as ``blind (seen)``): written after the first rules; its failures have
  since been read, so it is no longer an unseen test.
- ``blind2``: written before the later changes to the rules and examples and never used to
  change them; the targets are judged on it.

The examples themselves are scored leave-one-out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.config import PROJECT_ROOT
from app.embedding.encoder import Encoder, query_encoder
from app.tasks.centres import Centres
from app.tasks.classify import Classification, ExampleIndex, decide, fit_centres, load_examples
from app.tasks.multilingual import MultilingualSpace
from app.tasks.rules import KINDS, Label, fold

EVAL_DIR = PROJECT_ROOT / "data" / "eval"
DEFAULT_MESSAGES = EVAL_DIR / "messages.jsonl"
TARGETS = {"safety": ("recall", 0.98), "service_request": ("both", 0.90)}
TARGET_SPLIT = "blind2"
_SHOWN_AS = {"blind": "blind (seen)"}


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    text: str
    label: Label
    split: str
    lang: str
    style: str


def load_messages(path: Path = DEFAULT_MESSAGES) -> list[Message]:
    messages = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["kind"] not in KINDS:
                raise ValueError(f"{row['id']}: unknown kind {row['kind']!r}")
            messages.append(
                Message(
                    row["id"],
                    row["text"],
                    Label(row["kind"], row.get("category")),
                    row.get("split", "held_out"),
                    row.get("lang", "en"),
                    row.get("style", "typed"),
                )
            )
    return messages


def per_class(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, float]]:
    """Precision, recall and support of every kind."""
    table = {}
    for kind in KINDS:
        tp = sum(g == kind and p == kind for g, p in zip(gold, predicted, strict=True))
        predicted_n = sum(p == kind for p in predicted)
        support = sum(g == kind for g in gold)
        table[kind] = {
            "precision": tp / predicted_n if predicted_n else 1.0,
            "recall": tp / support if support else 1.0,
            "support": support,
        }
    return table


@dataclass(frozen=True, slots=True)
class Space:
    """One model's view of the examples: how it embeds, centres and judges a message."""

    encode: Callable[[Sequence[str]], np.ndarray]
    centres: Centres
    vectors: np.ndarray  # the examples', centred
    index: ExampleIndex
    floors: dict[str, float]

    @classmethod
    def of(
        cls, encoder: Encoder, examples: Sequence[tuple[str, Label]], floors: dict[str, float]
    ) -> Space:
        encode = query_encoder(encoder)
        texts = [text for text, _ in examples]
        raw = encode(texts)
        # Centred as the service centres them; leave-one-out keeps all examples' centres.
        centres = fit_centres(texts, raw)
        vectors = centres.apply(raw)
        return cls(encode, centres, vectors, ExampleIndex(vectors, [lab for _, lab in examples]),
                   floors)  # fmt: skip

    def decide(
        self, text: str, vector: np.ndarray, index: ExampleIndex | None = None
    ) -> Classification:
        return decide(text, vector, [index or self.index], **self.floors)  # type: ignore[arg-type]


def classify_all(texts: Sequence[str], main: Space, second: Space | None) -> list[Classification]:
    """``texts`` classified, each in the space the service would judge it in."""
    routed = [second is not None and MultilingualSpace.takes(t) for t in texts]
    kinds: list[Classification] = [Classification("", None, 0.0, "")] * len(texts)
    for space, wanted in ((main, False), (second, True)):
        rows = [i for i, r in enumerate(routed) if r == wanted]
        if space is None or not rows:
            continue
        vectors = space.centres.apply(space.encode([texts[i] for i in rows]))
        for i, vector in zip(rows, vectors, strict=True):
            kinds[i] = space.decide(texts[i], vector)
    return kinds


def evaluate(
    encoder: Encoder,
    messages: Sequence[Message],
    min_similarity: float = 0.4,
    safety_similarity: float = 0.6,
    safety_margin: float = 0.03,
    task_similarity: float = 0.0,
    second: tuple[Encoder, tuple[float, float, float]] | None = None,
) -> dict[str, object]:
    """Scores per split (and leave-one-out on the examples), with the misclassified rows.

    Texts are embedded as the service embeds them (the model's query role). With ``second``
    (the multilingual encoder and its vote, safety and task floors), messages the language
    detector reads as not English are judged in that model's space, as the service does."""
    examples = load_examples()
    seen = {fold(text) for text, _ in examples}
    leaked = [m.id for m in messages if fold(m.text) in seen]
    if leaked:
        raise ValueError(f"messages also among the classifier's examples: {leaked}")
    floors = {"min_similarity": min_similarity, "safety_similarity": safety_similarity,
              "safety_margin": safety_margin, "task_similarity": task_similarity}  # fmt: skip
    main = Space.of(encoder, examples, floors)
    other = None
    if second is not None:
        vote_floor, safety_floor, task_floor = second[1]
        other = Space.of(second[0], examples, floors | {
            "min_similarity": vote_floor, "safety_similarity": safety_floor,
            "task_similarity": task_floor})  # fmt: skip
    texts = [m.text for m in messages]
    splits: dict[str, tuple[list[str], list[str]]] = {}
    errors = []
    for message, got in zip(messages, classify_all(texts, main, other), strict=True):
        for split in (message.split, "all"):
            gold, predicted = splits.setdefault(split, ([], []))
            gold.append(message.label.kind)
            predicted.append(got.kind)
        if got.kind != message.label.kind:
            errors.append({"id": message.id, "text": message.text, "want": message.label.kind,
                           "got": got.kind, "method": got.method,
                           "split": message.split})  # fmt: skip
    labels = [label for _, label in examples]
    loo_gold, loo_predicted = [], []
    for i, (text, label) in enumerate(examples):
        space = other if other is not None and MultilingualSpace.takes(text) else main
        keep = np.arange(len(examples)) != i
        rest = ExampleIndex(space.vectors[keep], [lab for j, lab in enumerate(labels) if j != i])
        loo_gold.append(label.kind)
        loo_predicted.append(space.decide(text, space.vectors[i], rest).kind)
    splits["examples (leave-one-out)"] = (loo_gold, loo_predicted)
    taken: dict[str, dict[str, int]] = {}
    for name, questions in guest_questions().items():
        kinds = [got.kind for got in classify_all(questions, main, other)]
        taken[name] = {"n": len(kinds)} | {
            kind: sum(k == kind for k in kinds) for kind in KINDS if kind != "information"
        }
    return {
        "splits": {name: per_class(g, p) | {"n": len(g)} for name, (g, p) in splits.items()},  # type: ignore[operator]
        "errors": errors,
        "guest_questions": taken,
    }


def guest_questions() -> dict[str, list[str]]:
    """The retrieval sets' questions, by set: every one asks for information, so each the
    classifier sends to the front desk is a question the guest gets no answer to. (Allergen and
    medical questions go to the desk on purpose: they are counted too.)"""
    sets = {
        "hotels": EVAL_DIR / "questions.jsonl",
        "second (held out)": EVAL_DIR / "second" / "questions.jsonl",
        "multilingual": EVAL_DIR / "multilingual" / "questions.jsonl",
    }
    found: dict[str, list[str]] = {}
    for name, path in sets.items():
        if path.exists():
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            found[name] = [row["question"] for row in rows if row.get("question")]
    return found


def meets_targets(report: dict[str, object], split: str = TARGET_SPLIT) -> bool:
    splits = report["splits"]
    assert isinstance(splits, dict)
    table = splits.get(split) or splits["all"]
    safety, service = table["safety"], table["service_request"]
    return bool(
        safety["recall"] >= 0.98 and service["precision"] >= 0.90 and service["recall"] >= 0.90
    )


def render(report: dict[str, object]) -> str:
    splits = report["splits"]
    assert isinstance(splits, dict)
    lines = ["", "Message classification (precision / recall, support)"]
    header = f"{'split':<26}{'n':>5}  " + "  ".join(f"{k:>19}" for k in KINDS)
    lines.append(header)
    for name, table in splits.items():
        cells = "  ".join(
            f"{table[k]['precision']:>6.3f} /{table[k]['recall']:>6.3f} ({table[k]['support']:>3})"
            for k in KINDS
        )
        lines.append(f"{_SHOWN_AS.get(name, name):<26}{table['n']:>5}  {cells}")
    target = "met" if meets_targets(report) else "NOT met"
    lines.append(
        f"targets (safety recall >= 0.98, service P and R >= 0.90, {TARGET_SPLIT}): {target}"
    )
    taken = report.get("guest_questions")
    if isinstance(taken, dict) and taken:
        lines.append("guest information questions sent to the front desk instead of answered:")
        for name, counts in taken.items():
            sent = {k: v for k, v in counts.items() if k != "n" and v}
            total = sum(sent.values())
            detail = ", ".join(f"{k} {v}" for k, v in sent.items())
            lines.append(
                f"  {name:<20} {total}/{counts['n']} ({total / max(counts['n'], 1):.1%})"
                + (f": {detail}" if detail else "")
            )
    errors = report["errors"]
    assert isinstance(errors, list)
    # The target split's misses are counted, not listed: reading them invites tuning on them.
    unlisted = sum(error.get("split") == TARGET_SPLIT for error in errors)
    if unlisted:
        lines.append(
            f"  ({unlisted} {TARGET_SPLIT} messages misclassified, not listed: see --json)"
        )
    for error in errors:
        if error.get("split") == TARGET_SPLIT:
            continue
        line = f"  {error['id']}: {error['want']} -> {error['got']} ({error['method']})"
        lines.append(f"{line} {error['text']}")
    return "\n".join(lines)
