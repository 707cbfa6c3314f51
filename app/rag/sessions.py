"""Conversations: a bounded, expiring memory of each session's turns, which the follow-up
rewrite (:mod:`app.answering.followup`) reads.

Sessions are keyed by property *and* session id, so a conversation never crosses hotels.
The store is touched only from the event loop.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from cachetools import TTLCache

from app.answering.followup import Turn

__all__ = ["SessionStore", "Turn"]


class SessionStore:
    """The last ``max_turns`` turns of at most ``max_sessions`` conversations, each kept for
    ``ttl_s`` after its last turn."""

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

    def history(self, property_id: str, session_id: str) -> list[Turn]:
        """Earlier turns, oldest first (empty for a new or expired session)."""
        return list(self._turns.get((property_id, session_id), ()))

    def record(self, property_id: str, session_id: str, turn: Turn) -> None:
        key = (property_id, session_id)
        turns = self._turns.get(key) or deque(maxlen=self._max_turns)
        turns.append(turn)
        self._turns[key] = turns  # re-setting renews the expiry
