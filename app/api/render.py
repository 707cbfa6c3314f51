"""The JSON bodies of answers, shared by the plain and the streamed ``/ask``."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import orjson

from app.answering.types import Source
from app.rag.types import AskResult


def render_answer(
    result: AskResult, cached: bool, request_id: str, total_ms: float
) -> dict[str, object]:
    """The ``/ask`` response body. Stage timings are zero when the answer came from the cache."""
    body: dict[str, object] = {
        "answer": result.answer,
        "sources": render_sources(result.sources, result.citations),
        "citations": list(result.citations),
        "cached": cached,
        "escalate": result.escalate,
        "answer_source": result.answer_source,
        "language": result.language,
        "request_id": request_id,
        "timings_ms": {
            "embed": 0.0 if cached else round(result.embed_ms, 2),
            "search": 0.0 if cached else round(result.search_ms, 2),
            "answer": 0.0 if cached else round(result.answer_ms, 2),
            "total": round(total_ms, 2),
        },
    }
    if result.extra and not cached:
        timings = body["timings_ms"]
        assert isinstance(timings, dict)
        for name in ("ttft", "generation"):
            if name in result.extra:
                timings[name] = result.extra[name]
        if "tokens" in result.extra:
            body["tokens"] = int(result.extra["tokens"])
    if result.fallback_reason is not None:
        body["fallback_reason"] = result.fallback_reason
    if result.standalone_question is not None:
        body["standalone_question"] = result.standalone_question
    body["kind"] = result.message_kind
    if result.task is not None:
        body["task"] = dict(result.task)
    return body


def render_sources(
    sources: Sequence[Source], citations: Sequence[int] | None
) -> list[dict[str, object]]:
    """The retrieved sources; ``cited`` says whether the answer cites each (None: not yet known)."""
    cited = set(citations) if citations is not None else None
    return [
        {
            "n": s.n,
            "document_id": s.hit.document_id,
            "title": s.hit.title,
            "chunk_id": s.hit.chunk_id,
            "score": round(s.hit.score, 4),
            "text": s.hit.text,
            "cited": None if cited is None else s.n in cited,
        }
        for s in sources
    ]


# Where a cached answer's body differs from one request to the next: its request id and total
# time (rendered as placeholders, then cut out).
_PER_REQUEST = b'"request_id":"","timings_ms":{"embed":0.0,"search":0.0,"answer":0.0,"total":0.0}'


class CachedBodies:
    """The ``/ask`` bodies of cached answers, rendered once: the bytes before and after the
    request id and timings, so that a cache hit joins four pieces instead of rendering.

    Keyed by the cached result itself (its identity: a result is immutable, and a new version of
    the knowledge base makes new results under new cache keys, so a body can never outlive what
    it renders). Bounded in bytes, least recently used first out; safe from any thread.
    """

    def __init__(self, max_bytes: int) -> None:
        # An ordered dict, least recently used first: a hit is one lookup and one move.
        self._bodies: OrderedDict[int, tuple[AskResult, bytes, bytes]] = OrderedDict()
        self._max_bytes = max(1, max_bytes)
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._bodies)

    @property
    def size(self) -> int:
        """Bytes held (the bodies' pieces and a fixed part for each entry)."""
        return self._bytes

    @staticmethod
    def applies(result: AskResult, cached: bool) -> bool:
        """Whether ``result`` is one the cache keeps as it is (not rewritten for this request)."""
        return cached and result.standalone_question is None and result.fallback_reason is None

    def body(self, result: AskResult, request_id: str, total_ms: float) -> bytes:
        """``render_answer(result, True, request_id, total_ms)`` as bytes."""
        bodies = self._bodies
        with self._lock:
            kept = bodies.get(id(result))
            if kept is not None:
                bodies.move_to_end(id(result))
        if kept is None or kept[0] is not result:
            whole = orjson.dumps(render_answer(result, True, "", 0.0))
            cut = whole.index(_PER_REQUEST)
            # Kept: up to ``"request_id":`` and from the timings' closing brace on.
            kept = (
                result,
                whole[: cut + len(b'"request_id":')],
                whole[cut + len(_PER_REQUEST) - 1 :],
            )
            self._keep(id(result), kept)
        head, tail = kept[1], kept[2]
        return b"".join(
            (head, orjson.dumps(request_id), _TIMINGS, orjson.dumps(round(total_ms, 2)), tail)
        )

    def _keep(self, key: int, kept: tuple[AskResult, bytes, bytes]) -> None:
        weight = _weight(kept)
        if weight > self._max_bytes:  # larger than all: not kept
            return
        bodies = self._bodies
        with self._lock:
            old = bodies.pop(key, None)
            if old is not None:
                self._bytes -= _weight(old)
            bodies[key] = kept
            self._bytes += weight
            while self._bytes > self._max_bytes:
                _, dropped = bodies.popitem(last=False)
                self._bytes -= _weight(dropped)


_TIMINGS = b',"timings_ms":{"embed":0.0,"search":0.0,"answer":0.0,"total":'


def _weight(kept: tuple[AskResult, bytes, bytes]) -> int:
    return len(kept[1]) + len(kept[2]) + 200
