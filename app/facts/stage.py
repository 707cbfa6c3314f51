"""The facts stage the answer service consults before its writer: time-aware hours answers.

Hours, dishes and allergy notes are read once per property content revision (a bounded map,
one entry per property); hours are evaluated at the property's local time from an injectable
clock. Answers that depend on the time carry a minute tag for the answer cache, so a cached
"open until 22:00" is never served at 22:05.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from app.answering.types import Answer, Source
from app.db.properties import PropertyState
from app.facts import menu_store, store
from app.facts.clock import Clock, SystemClock, local_now
from app.facts.menu_answer import answer_menu
from app.facts.menu_store import StoredDish
from app.facts.store import StoredHours
from app.facts.timely import best_rows, compose, wants_hours
from app.search.types import Hit
from app.text import split_units

MAX_PROPERTIES = 256
POLICY_SQL = """
SELECT d.doc_key, c.text FROM chunks c JOIN documents d ON d.id = c.document_id
WHERE c.property_id = $3 AND c.version_id = $1 AND d.doc_key = ANY($2::text[])
  AND c.text ILIKE '%allerg%'
ORDER BY d.doc_key, c.ord LIMIT 20
"""
CHUNK_SQL = """
SELECT c.id, d.doc_key, d.title, c.heading, c.text FROM chunks c
JOIN documents d ON d.id = c.document_id
WHERE c.property_id = $3 AND c.version_id = $1 AND c.content_hash = $2
ORDER BY c.id LIMIT 1
"""


@dataclass(frozen=True, slots=True)
class PropertyFacts:
    """A property's opening hours, dishes and allergy notes (per document), as of a revision."""

    revision: int
    hours: list[StoredHours]
    dishes: list[StoredDish]
    policy: dict[str, str]


class FactsStage:
    """Answers questions about a moment from stored opening hours; None lets the writer answer."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock | None = None) -> None:
        self.pool = pool
        self.clock = clock or SystemClock()
        self._facts: OrderedDict[str, PropertyFacts] = OrderedDict()

    def cache_tag(self, prop: PropertyState, question: str, timely: bool | None = None) -> str:
        """A suffix for the answer-cache key: the local minute for time-aware questions
        (``timely``: whether ``question`` is one, when the caller already knows)."""
        if not (wants_hours(question) if timely is None else timely):
            return ""
        return local_now(self.clock, prop.timezone).strftime("@%Y-%m-%dT%H:%M")

    async def facts(self, prop: PropertyState) -> PropertyFacts:
        """The property's facts, read once per content revision (a change notification moves
        the revision), in a bounded map of the most recently asked properties."""
        cached = self._facts.get(prop.id)
        if cached is None or cached.revision != prop.revision:
            cached = await self._load(prop)
            self._facts[prop.id] = cached
        self._facts.move_to_end(prop.id)
        while len(self._facts) > MAX_PROPERTIES:
            self._facts.popitem(last=False)
        return cached

    async def _load(self, prop: PropertyState) -> PropertyFacts:
        async with self.pool.acquire() as conn:
            hours = await store.list_hours(conn, prop.id)
            dishes = await menu_store.list_dishes(conn, prop.id)
            texts = await conn.fetch(
                POLICY_SQL, prop.version_id, sorted({d.doc_key for d in dishes}), prop.id
            )
        notes: dict[str, list[str]] = {}
        for r in texts:
            notes.setdefault(r["doc_key"], []).extend(
                u for u in split_units(r["text"]) if "allerg" in u.lower()
            )
        policy = {k: " ".join(dict.fromkeys(v[:2])) for k, v in notes.items() if v}
        return PropertyFacts(prop.revision, hours, dishes, policy)

    async def answer(
        self, prop: PropertyState, question: str, sources: Sequence[Source]
    ) -> tuple[Answer, list[Source]] | None:
        """The facts answer and the sources it cites (the retrieved ones, plus any it adds)."""
        if not wants_hours(question):
            return await self._menu(prop, question, sources)
        matches = best_rows(question, (await self.facts(prop)).hours)
        if not matches:
            return None
        numbered = list(sources)
        kept, cites = [], []
        for match in matches:
            n = await self._cite(prop, match.row.source_text, match.row.chunk_hash, numbered)
            if n is not None:
                kept.append(match)
                cites.append(n)
        if not kept:
            return None
        now = local_now(self.clock, prop.timezone)
        answer = compose(question, kept, now, cites)
        if answer is None:
            return None
        return answer, numbered

    async def _menu(
        self, prop: PropertyState, question: str, sources: Sequence[Source]
    ) -> tuple[Answer, list[Source]] | None:
        facts = await self.facts(prop)
        dishes, policy = facts.dishes, facts.policy
        named: list[StoredDish] = []

        def note(stored: StoredDish) -> None:
            named.append(stored)

        if answer_menu(question, dishes, note, policy) is None:
            return None  # no menu question: no dish needs a source, nothing is read
        numbered = list(sources)
        cites: dict[tuple[str, str], int | None] = {}
        for stored in named:  # only the dishes the answer names
            key = (stored.dish.source_text, stored.chunk_hash)
            if key not in cites:
                cites[key] = await self._cite(prop, key[0], key[1], numbered)
        answer = answer_menu(
            question, dishes, lambda d: cites.get((d.dish.source_text, d.chunk_hash)), policy
        )
        return None if answer is None else (answer, numbered)

    async def _cite(
        self, prop: PropertyState, text: str, chunk_hash: str, sources: list[Source]
    ) -> int | None:
        """The number of the source holding ``text``, adding its chunk when not retrieved."""
        probe = text.lstrip("-*+ ")[:60]
        for source in sources:
            if probe in source.hit.text.replace("**", ""):
                return source.n
        if prop.version_id is None:
            return None
        async with self.pool.acquire() as conn:
            r = await conn.fetchrow(CHUNK_SQL, prop.version_id, chunk_hash, prop.id)
        if r is None:
            return None
        n = len(sources) + 1
        hit = Hit(r["id"], r["doc_key"], r["title"], r["heading"], r["text"], 1.0, "hours")
        sources.append(Source(n, hit))
        return n
