"""A cached answer's body, rendered once, is byte for byte the body rendered per request."""

from __future__ import annotations

from dataclasses import replace

import orjson

from app.answering.types import Source
from app.api.render import CachedBodies, render_answer
from app.rag.types import AskResult
from app.search.types import Hit


def _result(answer: str = "Check-out is by 11:00. [1]", **changes: object) -> AskResult:
    sources = (
        Source(1, Hit(7, "faq.md", "FAQ", "", 'Check-out "by 11" \n\u2028é 🛎', 0.912345)),
        Source(2, Hit(9, "spa.md", "Spa", "Hours", "The spa opens at 9.", 0.5)),
    )
    result = AskResult(
        answer=answer,
        sources=sources,
        citations=(1,),
        escalate=False,
        answer_source="extractive",
        property_id="harbour-grand",
        version_id=3,
        revision=0,
        embed_ms=12.3456,
        search_ms=4.5,
        answer_ms=1.25,
        language="de",
    )
    return replace(result, **changes)  # type: ignore[arg-type]


def _rendered(result: AskResult, request_id: str, total_ms: float) -> bytes:
    return orjson.dumps(render_answer(result, True, request_id, total_ms))


def test_the_pre_rendered_body_equals_the_rendered_one() -> None:
    bodies = CachedBodies(max_bytes=1_000_000)
    tricky = _result(answer='He said "request_id":"" and left.\n[1]', escalate=True)
    for result in (_result(), tricky):
        for request_id, total in (("abc", 0.123456), ('id"with\\quote', 12.0), ("x" * 64, 0.0)):
            assert bodies.body(result, request_id, total) == _rendered(result, request_id, total)
    assert len(bodies) == 2  # rendered once per result, then reused
    parsed = orjson.loads(bodies.body(tricky, "r1", 1.5))
    assert parsed["request_id"] == "r1"
    assert parsed["timings_ms"] == {"embed": 0.0, "search": 0.0, "answer": 0.0, "total": 1.5}
    assert parsed["cached"] is True


def test_a_body_belongs_to_its_result_object_only() -> None:
    bodies = CachedBodies(max_bytes=1_000_000)
    old = _result()
    new = replace(old, version_id=4, answer="Check-out is by 12:00 now. [1]")
    assert b"11:00" in bodies.body(old, "a", 1.0)
    # A new version's result (under a new cache key) never gets the old body.
    assert bodies.body(new, "b", 1.0) == _rendered(new, "b", 1.0)
    assert b"11:00" not in bodies.body(new, "c", 1.0)


def test_rewritten_and_fallback_results_are_rendered_per_request() -> None:
    assert CachedBodies.applies(_result(), cached=True)
    assert not CachedBodies.applies(_result(), cached=False)
    assert not CachedBodies.applies(_result(standalone_question="Is the spa open?"), cached=True)
    assert not CachedBodies.applies(_result(fallback_reason="timeout"), cached=True)


def test_the_bodies_are_bounded_in_bytes() -> None:
    bodies = CachedBodies(max_bytes=5_000)
    results = [_result(answer=f"Answer number {n}. [1]") for n in range(50)]
    for result in results:
        assert bodies.body(result, "r", 1.0) == _rendered(result, "r", 1.0)
    assert 0 < len(bodies) < 50
    assert 0 < bodies.size <= 5_000
    # Least recently used first out: the first one, used again, outlives those after it.
    first_kept = len(results) - len(bodies)
    bodies.body(results[first_kept], "r", 1.0)
    bodies.body(_result(answer="One more. [1]"), "r", 1.0)
    kept = bodies._bodies
    assert id(results[first_kept]) in kept
    assert id(results[first_kept + 1]) not in kept
    huge = _result(answer="x" * 10_000)
    assert bodies.body(huge, "r", 1.0) == _rendered(huge, "r", 1.0)  # served, never kept
