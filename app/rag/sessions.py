"""Follow-up questions: a bounded, expiring memory of each conversation, and the rewrite of an
elliptical follow-up ("and on Sundays?") into a standalone question before retrieval.

Sessions are keyed by property *and* session id, so a conversation never crosses hotels.
The in-memory store is touched only from the event loop; the PostgreSQL one
(:mod:`app.rag.session_store`) is shared by every worker and replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cachetools import TTLCache

from app.answering.llm.backend import LLMBackend, LLMError
from app.answering.llm.guards import Busy, CircuitBreaker, ConcurrencyGate
from app.answering.prompts import PromptBuilder
from app.text import content_terms

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Turn:
    """One answered question of a conversation, in its standalone form (what a later
    follow-up is rewritten against; the answers are not needed for that, so not kept)."""

    question: str


class SessionStore(Protocol):
    """Where conversations are kept: :class:`MemorySessionStore` (one process) or
    :class:`~app.rag.session_store.PostgresSessionStore` (every process)."""

    async def history(self, property_id: str, session_id: str) -> list[Turn]:
        """Earlier turns, oldest first (empty for a new or expired session)."""
        ...

    async def record(self, property_id: str, session_id: str, turn: Turn) -> None:
        """Append a turn (keeping the last few) and renew the session's expiry."""
        ...


class MemorySessionStore:
    """The last ``max_turns`` turns of at most ``max_sessions`` conversations, each kept for
    ``ttl_s`` after its last turn, in this process only."""

    def __init__(
        self,
        max_sessions: int,
        max_turns: int,
        ttl_s: float,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._turns: TTLCache[tuple[str, str], deque[Turn]] = TTLCache(
            maxsize=max_sessions, ttl=ttl_s, timer=timer
        )
        self._max_turns = max_turns

    def __len__(self) -> int:
        return len(self._turns)

    async def history(self, property_id: str, session_id: str) -> list[Turn]:
        return list(self._turns.get((property_id, session_id), ()))

    async def record(self, property_id: str, session_id: str, turn: Turn) -> None:
        key = (property_id, session_id)
        turns = self._turns.get(key) or deque(maxlen=self._max_turns)
        turns.append(turn)
        self._turns[key] = turns  # re-setting renews the expiry


_CONNECTOR = re.compile(
    r"^(and|also|but|what about|how about|and what about|what if|or|plus|"
    r"et|und|y|e|ou|oder|o)\b",
    re.I,
)
_OPENER = re.compile(
    r"^(is|are|do|does|did|can|could|may|will|would|should|what|when|where|which|who|how|why|"
    r"where's|what's|how's|have|has)\b",
    re.I,
)
_BACK_REFERENCE = re.compile(r"\b(it|its|that|this|those|these|them|they)\b", re.I)


def is_follow_up(question: str) -> bool:
    """Does the question lean on an earlier one? (Starts with a connector, refers back with a
    pronoun while saying little, or is a bare word or two that is not a question of its own.)"""
    text = question.strip()
    if _CONNECTOR.match(text):
        return True
    terms = content_terms(text)
    if not terms or (len(terms) == 1 and not _OPENER.match(text)):
        return True  # "Sundays?", "and the price?"; but "Is there a gym?" stands alone
    return len(terms) <= 3 and bool(_BACK_REFERENCE.search(text))


def rule_rewrite(previous: str, question: str) -> str:
    """The previous standalone question followed by the follow-up: retrieval then finds the
    topic, and the follow-up's own words (e.g. "Sundays") pick the right passage."""
    return f"{previous.rstrip()} {question.strip()}"


class FollowUpRewriter:
    """Turns a follow-up into a standalone question: with the model when one is configured
    (bounded by ``timeout_s``), else — or when the model fails — by rule.

    ``guards`` are the answer writer's breaker and generation slots: a rewrite takes a slot
    like an answer (the model and its connection pool are sized for that many), and is not
    tried while the breaker is anything but closed. Its own failures do not move the breaker.
    """

    def __init__(
        self,
        backend: LLMBackend | None = None,
        prompts: PromptBuilder | None = None,
        timeout_s: float = 1.5,
        max_chars: int = 400,
        guards: tuple[CircuitBreaker, ConcurrencyGate] | None = None,
    ) -> None:
        self._backend = backend
        self._prompts = prompts
        self._guards = guards
        self._timeout_s = timeout_s
        self._max_chars = max_chars

    async def standalone(self, history: list[Turn], question: str) -> str:
        """``question`` itself when it stands alone or there is no history."""
        if not history or not is_follow_up(question):
            return question
        previous = history[-1].question
        if self._backend is not None and self._prompts is not None:
            rewritten = await self._model_rewrite([t.question for t in history], question)
            if rewritten:
                return rewritten
        # Follow-ups of follow-ups chain: keep the earlier part within the bound, so that a
        # long conversation cannot grow the question without end.
        room = max(0, self._max_chars - len(question) - 1)
        return rule_rewrite(previous[:room], question)

    async def _model_rewrite(self, history: list[str], question: str) -> str | None:
        assert self._backend is not None
        assert self._prompts is not None
        prompt = self._prompts.rewrite(history, question)
        pieces: list[str] = []
        try:
            async with asyncio.timeout(self._timeout_s), contextlib.AsyncExitStack() as stack:
                if self._guards is not None:
                    breaker, gate = self._guards
                    if breaker.state != "closed":
                        return None
                    await stack.enter_async_context(gate.slot())
                stream = self._backend.generate(prompt, max_tokens=48)
                async with contextlib.aclosing(stream):
                    async for piece in stream:
                        pieces.append(piece)
        except (LLMError, TimeoutError, Busy) as exc:
            log.info("follow-up rewrite by the model failed (%r); using the rule", exc)
            return None
        text = " ".join("".join(pieces).split()).strip(" \"'")
        if not text or len(text) > self._max_chars or not content_terms(text):
            return None
        return text
