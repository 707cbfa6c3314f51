"""Conversations: a bounded, expiring memory of each session's turns, which the follow-up
rewrite (:mod:`app.answering.followup`) reads.

Sessions are keyed by property *and* session id, so a conversation never crosses hotels.
The in-memory store is touched only from the event loop; the PostgreSQL one
(:mod:`app.rag.session_store`) is shared by every worker and replica.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from cachetools import TTLCache

from app.answering.followup import Turn

__all__ = ["MemorySessionStore", "SessionStore", "Turn"]


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
