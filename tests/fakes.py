"""Deterministic stand-ins for the model, for tests that exercise everything but the model."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
from collections.abc import AsyncGenerator, Sequence

import numpy as np

from app.answering.llm.backend import Prompt, PromptStyle
from app.answering.types import Answer, AnswerEvents, Delta, Source
from app.db.properties import PropertyState
from app.errors import PropertyNotFound
from app.search.types import Hit, Retrieval

_WORD = re.compile(r"[a-z0-9]+")


class HashingEncoder:
    """Bag of hashed words, L2-normalised: texts sharing words get similar vectors."""

    name = "hashing-test-encoder"
    device = "cpu"
    max_tokens = 256

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else 1.0 / np.sqrt(self.dim)
        return out


def word_count(text: str) -> int:
    """A token counter for chunking tests that need no tokenizer: one token per word, +2."""
    return len(text.split()) + 2


class FakeRegistry:
    """Property states held in memory; an unknown id raises like the real registry."""

    def __init__(self, *states: PropertyState) -> None:
        self.states = {s.id: s for s in states}

    async def get(self, property_id: str) -> PropertyState:
        try:
            return self.states[property_id]
        except KeyError:
            raise PropertyNotFound(f"unknown property {property_id!r}") from None


class HashingEmbedder:
    """The hashing encoder behind the one-question ``embed`` the retriever calls."""

    def __init__(self, encoder: HashingEncoder | None = None) -> None:
        self.encoder = encoder or HashingEncoder()
        self.texts: list[str] = []

    async def embed(self, text: str) -> np.ndarray:
        self.texts.append(text)
        return self.encoder.encode([text])[0]


class MemoryRetriever:
    """A retriever over chunks held in memory: embeds the question, ranks by cosine."""

    def __init__(self, chunks: Sequence[tuple[str, str]], embedder: HashingEmbedder) -> None:
        self._embedder = embedder
        self._chunks = [
            Hit(i, doc, doc.removesuffix(".md").title(), "", text, 0.0)
            for i, (doc, text) in enumerate(chunks, start=1)
        ]
        self._vectors = embedder.encoder.encode([text for _, text in chunks])
        self.questions: list[str] = []
        self.languages: list[str | None] = []

    async def retrieve(
        self, prop: PropertyState, question: str, k: int, language: str | None = None
    ) -> Retrieval:
        self.questions.append(question)
        self.languages.append(language)
        vector = await self._embedder.embed(question)
        scores = self._vectors @ vector
        order = np.argsort(-scores, kind="stable")[:k]
        hits = [dataclasses.replace(self._chunks[i], score=float(scores[i])) for i in order]
        return Retrieval(hits, embed_ms=1.0, search_ms=2.0)


class ScriptedWriter:
    """An answer writer that cites its first source, counts its calls and can be held at a
    gate (to keep a computation in flight) or made to answer as a fallback."""

    name = "scripted"

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.gate = gate
        self.calls: list[str] = []
        self.fallback_reason: str | None = None
        self.started = asyncio.Event()

    def _answer(self, question: str, sources: Sequence[Source]) -> Answer:
        if not sources:
            return Answer("Please ask the front desk.", escalate=True)
        cited = sources[0]
        source = "fallback" if self.fallback_reason else self.name
        text = f"{cited.hit.text} [{cited.n}]"
        return Answer(text, (cited.n,), False, source, {}, self.fallback_reason)

    async def write(self, question: str, sources: Sequence[Source], language: str = "en") -> Answer:
        final: Answer | None = None
        async for event in self.stream(question, sources):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    async def stream(
        self, question: str, sources: Sequence[Source], language: str = "en"
    ) -> AnswerEvents:
        self.calls.append(question)
        self.started.set()
        answer = self._answer(question, sources)
        head, _, tail = answer.text.partition(" ")
        yield Delta(head)
        if self.gate is not None:
            await self.gate.wait()
        yield Delta(" " + tail)
        yield answer


class ScriptedModel:
    """A generation backend that writes the given pieces and records its prompts."""

    name = "scripted"

    def __init__(self, pieces: list[str], style: PromptStyle = "chat") -> None:
        self.pieces = pieces
        self.style = style
        self.prompts: list[Prompt] = []

    async def generate(self, prompt: Prompt, max_tokens: int) -> AsyncGenerator[str, None]:
        self.prompts.append(prompt)
        for piece in self.pieces:
            yield piece

    async def aclose(self) -> None:
        return None


async def streamed(events: AnswerEvents) -> tuple[str, Answer]:
    """The text a stream showed and the answer it ended with."""
    shown = ""
    final = None
    async for event in events:
        if isinstance(event, Delta):
            shown += event.text
        else:
            final = event
    assert final is not None
    return shown, final
