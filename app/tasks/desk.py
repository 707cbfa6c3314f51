"""The front desk of the hot path: what happens to a message that is not a question.

Service requests and complaints become staff tasks and the guest gets a confirmation with
the task's reference; safety messages (allergy, medical, emergency, security) become priority
tasks and the guest gets the hotel's own safety text from the knowledge base, plus the
emergency number for emergencies and medical messages, never a guess; small talk gets a
short reply. Information questions are left to the answer writer (``handle`` returns None).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from app.answering.types import Source
from app.tasks import store
from app.tasks.classify import Classification, MessageClassifier
from app.tasks.gaps import Signal, SignalRecorder
from app.tasks.rules import (
    COMPLAINT,
    SAFETY,
    SERVICE,
    SMALL_TALK,
    Label,
    fold,
    priority_of,
    room_of,
)
from app.tasks.stats import TaskStats
from app.text import split_units

log = logging.getLogger(__name__)

Retrieve = Callable[[str], Awaitable[Sequence[Source]]]
TaskListener = Callable[[dict[str, Any]], None]

TEAMS = {
    "housekeeping": "housekeeping",
    "maintenance": "maintenance team",
    "transport": "front desk, who will arrange your transport",
    "wake_up": "front desk, who will set your wake-up call",
    "reservation": "front desk, who will confirm the booking",
    COMPLAINT: "duty manager",
}
# Words that mark a retrieved sentence as the hotel's own safety guidance for a category.
_SAFETY_WORDS = {
    "allergy": re.compile(r"allerg|intoleran|gluten|coeliac|celiac|nut|cross-contamination", re.I),
    "medical": re.compile(r"doctor|medical|first aid|hospital|pharmac|emergenc|defibrillat", re.I),
    "emergency": re.compile(r"emergenc|fire|evacuat|alarm|assembly|112|911|999|pull cord", re.I),
    "security": re.compile(r"security|safe\b|police|lost|theft|reception|24 hours", re.I),
}
_EMERGENCY_NUMBER = re.compile(
    r"emergency (?:number|phone|line)[^0-9+]{0,20}(\+?[0-9][0-9 ]{1,14}[0-9])", re.I
)
_THANKS = re.compile(r"thank|thanks|cheers|danke|merci|gracias|appreciate|star\b", re.I)
_BYE = re.compile(r"\bbye\b|goodbye|good night|au revoir|adios|adiós|tsch", re.I)


@dataclass(frozen=True, slots=True)
class Handled:
    """The reply to a message the desk took: its text, sources quoted, and the task made."""

    answer: str
    kind: str
    category: str | None
    answer_source: str
    escalate: bool
    sources: tuple[Source, ...] = ()
    citations: tuple[int, ...] = ()
    task: dict[str, Any] | None = None


@dataclass(slots=True)
class DeskOptions:
    emergency_number: str = "112"
    max_quote_chars: int = 600
    listeners: list[TaskListener] = field(default_factory=list)


class FrontDesk:
    """Classifies each message and deals with everything that is not an information question."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        classifier: MessageClassifier,
        stats: TaskStats,
        options: DeskOptions | None = None,
    ) -> None:
        self.pool = pool
        self.classifier = classifier
        self.stats = stats
        self.options = options or DeskOptions()
        self.recorder: SignalRecorder | None = None

    def note_answer(self, property_id: str, question: str, escalate: bool, answer: str) -> None:
        """Record an answered question that was handed over (the knowledge base lacked it)."""
        if escalate:
            self.stats.handovers["no_answer"] += 1
            self._signal(Signal(property_id, "handover", "no_answer", question, answer))

    def _signal(self, signal: Signal) -> None:
        if self.recorder is not None:
            self.recorder.record(signal)

    def on_task(self, listener: TaskListener) -> None:
        """Call ``listener`` with each new task (after commit; it must not block)."""
        self.options.listeners.append(listener)

    async def handle(
        self,
        property_id: str,
        question: str,
        session_id: str | None,
        room: str | None,
        retrieve: Retrieve,
    ) -> Handled | None:
        """The reply for a request, complaint, safety message or small talk; None otherwise."""
        found = await self.classifier.classify(property_id, question)
        self.stats.classified[found.kind] += 1
        if found.kind == SMALL_TALK:
            return Handled(_small_talk(question), SMALL_TALK, None, "small_talk", False)
        if found.kind in (SERVICE, COMPLAINT):
            return await self._request(property_id, question, session_id, room, found)
        if found.kind == SAFETY:
            return await self._safety(property_id, question, session_id, room, found, retrieve)
        return None

    async def _task(
        self,
        property_id: str,
        question: str,
        session_id: str | None,
        room: str | None,
        label: Label,
    ) -> dict[str, Any]:
        category = label.category or label.kind
        draft = store.TaskDraft(
            property_id, label.kind, category, priority_of(label), question[:4000],
            room or room_of(question), None, session_id,
        )  # fmt: skip
        async with self.pool.acquire() as conn:
            row, created = await store.create(conn, draft, fold(question))
        if created:
            self.stats.tasks[category] += 1
            task = store.public(row)
            for listener in self.options.listeners:
                try:
                    listener(task)
                except Exception:  # a notifier must never fail the guest's request
                    log.exception("task listener failed")
        else:
            self.stats.deduplicated += 1
        return {
            "id": row["id"],
            "ref": row["ref"],
            "status": row["status"],
            "kind": row["kind"],
            "category": row["category"],
            "priority": row["priority"],
            "room": row["room"],
            "created": created,
            "needs_room": row["room"] is None and label.kind == SERVICE,
        }

    async def _request(
        self,
        property_id: str,
        question: str,
        session_id: str | None,
        room: str | None,
        found: Classification,
    ) -> Handled:
        task = await self._task(property_id, question, session_id, room, found.label)
        team = TEAMS.get(found.category or found.kind, "front desk")
        if found.kind == COMPLAINT:
            text = (
                "I'm sorry about this. I have passed it to the duty manager, who will get back "
                f"to you as soon as possible (reference {task['ref']})."
            )
            self.stats.handovers["complaint"] += 1
        elif not task["created"] and room is None:
            text = f"Your request is already with our {team} (reference {task['ref']})."
        else:
            text = f"I have passed your request to our {team} (reference {task['ref']})."
            if task["room"]:
                text += f" Room {task['room']}."
        if task["needs_room"]:
            text += " Which room are you in? Tell me the number so we come to the right place."
        return Handled(text, found.kind, found.category, "task", False, task=task)

    async def _safety(
        self,
        property_id: str,
        question: str,
        session_id: str | None,
        room: str | None,
        found: Classification,
        retrieve: Retrieve,
    ) -> Handled:
        category = found.category or "emergency"
        self.stats.handovers[f"safety_{category}"] += 1
        self._signal(Signal(property_id, "handover", f"safety_{category}", question))
        try:
            sources = tuple(await retrieve(question))
        except Exception:  # no search (e.g. the database is down): the number still goes out
            log.exception("no sources for a safety message")
            sources = ()
        quoted = self._quote(category, sources)
        task: dict[str, Any] | None = None
        try:
            task = await self._task(property_id, question, session_id, room, found.label)
        except Exception:  # the guest still gets the safety text and the number
            log.exception("could not record a safety hand-over")
        number = _emergency_number(sources) or self.options.emergency_number
        parts = []
        if category in ("emergency", "medical"):
            parts.append(f"If anyone is in danger or seriously unwell, call {number} now.")
        reference = f" (reference {task['ref']})" if task else ""
        if task is not None:
            parts.append(f"I have alerted the hotel team as a priority{reference}.")
        else:
            parts.append("Please call reception now: I could not reach the team from here.")
        if category == "allergy":
            parts.append(
                "I can't confirm whether any dish is safe for you; a member of staff will check "
                "with the kitchen before you eat."
            )
        if quoted:
            parts.append("What the hotel says: " + " ".join(text for _, text in quoted))
        citations = tuple(dict.fromkeys(n for n, _ in quoted))
        cited = tuple(s for s in sources if s.n in citations)
        return Handled(" ".join(parts), SAFETY, category, "safety", True, cited, citations, task)

    def _quote(self, category: str, sources: Sequence[Source]) -> list[tuple[int, str]]:
        """Sentences and list lines of the retrieved chunks (headings left out) that speak to
        the category, in rank order."""
        pattern = _SAFETY_WORDS.get(category)
        if pattern is None:
            return []
        quoted: list[tuple[int, str]] = []
        used = 0
        for source in sources:
            for sentence in split_units(source.hit.text):
                if not pattern.search(sentence):
                    continue
                if used + len(sentence) > self.options.max_quote_chars:
                    return quoted
                quoted.append((source.n, f"{sentence} [{source.n}]"))
                used += len(sentence)
        return quoted


def _emergency_number(sources: Sequence[Source]) -> str | None:
    for source in sources:
        match = _EMERGENCY_NUMBER.search(source.hit.text)
        if match:
            return match.group(1).strip()
    return None


def _small_talk(text: str) -> str:
    if _THANKS.search(text):
        return "You're welcome! Is there anything else I can help you with?"
    if _BYE.search(text):
        return "Goodbye, and enjoy your stay!"
    return "Hello! How can I help you with your stay?"
