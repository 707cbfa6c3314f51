"""Follow-up detection and rewriting, and the bounded, expiring, per-property session store."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from app.answering.llm.backend import LLMError, Prompt
from app.answering.llm.guards import CircuitBreaker, ConcurrencyGate
from app.answering.prompts import PromptBuilder
from app.rag.sessions import FollowUpRewriter, MemorySessionStore, Turn, is_follow_up


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and on Sundays?", True),
        ("What about the spa?", True),
        ("How much is it?", True),
        ("Sundays?", True),
        ("When is breakfast served?", False),
        ("Can I bring my dog to the restaurant?", False),
    ],
)
def test_follow_ups_are_recognised(question: str, expected: bool) -> None:
    assert is_follow_up(question) is expected


async def test_store_keeps_the_last_turns_per_property_and_session() -> None:
    store = MemorySessionStore(max_sessions=10, max_turns=2, ttl_s=60)
    for i in range(3):
        await store.record("harbour", "s1", Turn(f"q{i}"))
    assert [t.question for t in await store.history("harbour", "s1")] == ["q1", "q2"]
    # The same session id at another property is another conversation.
    assert await store.history("sunset", "s1") == []


async def test_store_is_bounded_and_sessions_expire() -> None:
    now = [0.0]
    store = MemorySessionStore(max_sessions=2, max_turns=4, ttl_s=10, timer=lambda: now[0])
    for sid in ("a", "b", "c"):
        await store.record("p", sid, Turn("q"))
    assert len(store) == 2
    now[0] = 9.0
    await store.record("p", "c", Turn("q2"))  # a new turn renews the session
    now[0] = 15.0
    assert await store.history("p", "b") == []
    assert [t.question for t in await store.history("p", "c")] == ["q", "q2"]


class ScriptedBackend:
    """Answers every prompt with the given pieces (or raises), recording the prompts."""

    name = "scripted"
    style = "chat"

    def __init__(self, pieces: list[str], error: LLMError | None = None) -> None:
        self.pieces = pieces
        self.error = error
        self.prompts: list[Prompt] = []

    async def generate(self, prompt: Prompt, max_tokens: int) -> AsyncGenerator[str, None]:
        self.prompts.append(prompt)
        for piece in self.pieces:
            yield piece
        if self.error is not None:
            raise self.error

    async def aclose(self) -> None:
        return None


HISTORY = [Turn("When is breakfast served?")]


async def test_rule_rewrite_carries_the_previous_topic() -> None:
    rewriter = FollowUpRewriter()
    assert (
        await rewriter.standalone(HISTORY, "and on Sundays?")
        == "When is breakfast served? and on Sundays?"
    )
    assert await rewriter.standalone(HISTORY, "Is there a gym?") == "Is there a gym?"
    assert await rewriter.standalone([], "and on Sundays?") == "and on Sundays?"


async def test_a_chain_of_follow_ups_stays_within_the_bound() -> None:
    rewriter = FollowUpRewriter(max_chars=120)
    history = list(HISTORY)
    for n in range(50):
        asked = await rewriter.standalone(history, f"and on day {n}?")
        history.append(Turn(asked))
    assert len(asked) <= 120
    assert asked.startswith("When is breakfast served?")  # the topic is kept
    assert asked.endswith("and on day 49?")  # and the latest follow-up


async def test_model_rewrite_is_used_and_falls_back_to_the_rule_on_failure() -> None:
    good = ScriptedBackend(["When is breakfast", " served on Sundays?"])
    rewriter = FollowUpRewriter(good, PromptBuilder("chat"))  # type: ignore[arg-type]
    assert await rewriter.standalone(HISTORY, "and on Sundays?") == (
        "When is breakfast served on Sundays?"
    )
    assert "When is breakfast served?" in good.prompts[0].messages[1][1]
    broken = ScriptedBackend(["When"], LLMError("http_error"))
    rewriter = FollowUpRewriter(broken, PromptBuilder("chat"))  # type: ignore[arg-type]
    assert await rewriter.standalone(HISTORY, "and on Sundays?") == (
        "When is breakfast served? and on Sundays?"
    )


async def test_model_rewrite_takes_a_slot_and_waits_out_an_open_breaker() -> None:
    now = [0.0]
    breaker = CircuitBreaker(1, 10, clock=lambda: now[0])
    gate = ConcurrencyGate(1, 0.01)
    model = ScriptedBackend(["When is breakfast", " served on Sundays?"])
    rewriter = FollowUpRewriter(
        model,  # type: ignore[arg-type]
        PromptBuilder("chat"),
        guards=(breaker, gate),
    )
    rule = "When is breakfast served? and on Sundays?"
    async with gate.slot():  # every slot busy with answers: the rule, no extra model call
        assert await rewriter.standalone(HISTORY, "and on Sundays?") == rule
    assert model.prompts == []
    breaker.failure()  # open: the model is not asked
    assert await rewriter.standalone(HISTORY, "and on Sundays?") == rule
    assert model.prompts == []
    assert breaker.state == "open"
    now[0] = 11.0  # half-open: the trial is left to an answer
    assert await rewriter.standalone(HISTORY, "and on Sundays?") == rule
    assert breaker.allow()
    breaker.success()
    assert await rewriter.standalone(HISTORY, "and on Sundays?") == (
        "When is breakfast served on Sundays?"
    )
    assert len(model.prompts) == 1
