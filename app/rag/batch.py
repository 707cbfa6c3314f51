"""Many questions for one property, answered as guests would get them, for staff to check a
knowledge base: each answer with its sources and whether it hands over to the front desk.

Nothing a guest's message would set in motion happens here: a question the front desk would
handle (a request, a complaint, a safety message) is reported as such, and no staff task is
created; the answers come through the same retrieval, writer and cache as ``/ask``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.db.turns import arrived
from app.errors import ConciergeError, PropertyNotFound
from app.rag.service import RagService
from app.tasks.rules import INFORMATION


@dataclass(frozen=True, slots=True)
class CheckedSource:
    document_id: str
    title: str
    score: float
    cited: bool


@dataclass(frozen=True, slots=True)
class CheckedAnswer:
    """One question's outcome: ``handover`` names why a guest would be passed to staff."""

    question: str
    answer: str
    sources: list[CheckedSource] = field(default_factory=list)
    escalate: bool = False
    handover: str | None = None
    answer_source: str = ""
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answer": self.answer,
            "sources": [
                {"document_id": s.document_id, "title": s.title, "score": s.score, "cited": s.cited}
                for s in self.sources
            ],
            "escalate": self.escalate,
            "handover": self.handover,
            "answer_source": self.answer_source,
            "error": self.error,
        }


async def answer_all(
    rag: RagService,
    property_id: str,
    questions: Sequence[str],
    top_k: int,
    timeout_s: float,
    total_s: float,
) -> list[CheckedAnswer]:
    """Answer each question in turn, each within ``timeout_s`` and all within ``total_s``: the
    questions not answered when ``total_s`` has passed are reported as such. An unknown
    property raises.

    Each question counts as arriving when its turn comes, so a long check never goes ahead
    of the guests' questions that arrived meanwhile (see :mod:`app.db.turns`)."""
    await rag.registry.get(property_id)  # PropertyNotFound before any work
    loop = asyncio.get_running_loop()
    deadline = loop.time() + total_s
    late = f"not answered in time: the batch may take {total_s:g} s"
    out: list[CheckedAnswer] = []
    for question in questions:
        left = deadline - loop.time()
        if left <= 0:
            out.append(CheckedAnswer(question, "", error=late))
            continue
        asked = arrived.set(time.monotonic())
        try:
            async with asyncio.timeout(min(timeout_s, left)):
                out.append(await _one(rag, property_id, question, top_k))
        except PropertyNotFound:
            raise
        except TimeoutError:
            error = late if timeout_s > left else f"no answer within {timeout_s:g} s"
            out.append(CheckedAnswer(question, "", error=error))
        except ConciergeError as exc:
            out.append(CheckedAnswer(question, "", error=exc.message))
        finally:
            arrived.reset(asked)
    return out


async def _one(rag: RagService, property_id: str, question: str, top_k: int) -> CheckedAnswer:
    if rag.desk is not None:
        found = await rag.desk.classifier.classify(property_id, question)
        if found.kind != INFORMATION:
            return CheckedAnswer(
                question,
                f"(the front desk takes it: {found.kind}; this check creates no task)",
                escalate=True,
                handover=found.kind,
                answer_source="front_desk",
            )
    result, _ = await rag.ask(property_id, question, top_k, desk=False)
    cited = set(result.citations)
    sources = [
        CheckedSource(s.hit.document_id, s.hit.title, round(s.hit.score, 4), s.n in cited)
        for s in result.sources
    ]
    return CheckedAnswer(
        question,
        result.answer,
        sources,
        result.escalate,
        "no answer found" if result.escalate else None,
        result.answer_source,
    )
