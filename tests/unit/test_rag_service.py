"""The orchestrator on its own, with in-memory collaborators: cache, single-flight for asks and
streams alike, follow-up rewrites, fallbacks, timings."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence

import pytest

from app.answering.followup import FollowUpRewriter
from app.answering.llm.backend import Prompt
from app.answering.prompts import PromptBuilder
from app.answering.types import Answer, Delta, Source
from app.db.properties import PropertyState
from app.errors import PropertyNotFound
from app.rag.cache import AnswerCache
from app.rag.service import RagService, clean_question
from app.rag.sessions import MemorySessionStore, SessionStore
from app.rag.types import AnswerStream, AskResult, CacheKey, StreamDone, is_storable
from app.search import spelling
from tests.fakes import FakeRegistry, HashingEmbedder, MemoryRetriever, ScriptedWriter

HOTEL = PropertyState("harbour", "Harbour Hotel", version_id=7, revision=3, chunk_count=3)
CHUNKS = [
    ("spa.md", "The spa opens at 09:00 and closes at 20:00."),
    ("spa-sunday.md", "On Sundays the spa opens at 10:00."),
    ("checkout.md", "Check-out is by 11:00; late check-out costs EUR 35."),
]


@dataclasses.dataclass
class Rig:
    service: RagService
    registry: FakeRegistry
    retriever: MemoryRetriever
    writer: ScriptedWriter
    cache: AnswerCache[CacheKey, AskResult]


def rig(
    gate: asyncio.Event | None = None,
    sessions: SessionStore | None = None,
    rewriter: FollowUpRewriter | None = None,
) -> Rig:
    registry = FakeRegistry(HOTEL)
    retriever = MemoryRetriever(CHUNKS, HashingEmbedder())
    writer = ScriptedWriter(gate)
    cache: AnswerCache[CacheKey, AskResult] = AnswerCache(100, 60, should_store=is_storable)
    service = RagService(
        registry,  # type: ignore[arg-type]
        retriever,  # type: ignore[arg-type]
        writer,
        cache,
        sessions,
        rewriter,
    )
    return Rig(service, registry, retriever, writer, cache)


async def until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until ``condition`` holds (fails rather than hang)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def read(stream: AnswerStream) -> tuple[list[str], StreamDone]:
    deltas: list[str] = []
    async for event in stream.events:
        if isinstance(event, Delta):
            deltas.append(event.text)
        else:
            return deltas, event
    raise AssertionError("the stream ended without its result")


async def test_an_answer_cites_the_retrieved_sources_and_reports_each_stage_time() -> None:
    r = rig()
    result, cached = await r.service.ask("harbour", "When does the spa open on Sundays?", 2)
    assert cached is False
    assert result.sources[0].hit.document_id == "spa-sunday.md"
    assert result.answer == "On Sundays the spa opens at 10:00. [1]"
    assert result.citations == (1,)
    assert (result.property_id, result.version_id, result.revision) == ("harbour", 7, 3)
    assert len(result.sources) == 2
    assert (result.embed_ms, result.search_ms) == (1.0, 2.0)
    assert result.answer_ms >= 0
    assert r.retriever.questions == ["When does the spa open on Sundays?"]


async def test_what_the_writer_reads_from_the_chunks_is_not_kept_with_the_answer() -> None:
    r = rig()
    given: list[str | None] = []
    r.retriever._chunks = [
        dataclasses.replace(h, derived=f"reading {h.chunk_id}") for h in r.retriever._chunks
    ]
    write = r.writer.write

    async def recording(question: str, sources: Sequence[Source], language: str = "en") -> Answer:
        given.extend(s.hit.derived for s in sources)
        return await write(question, sources, language)

    r.writer.write = recording  # type: ignore[method-assign]
    result, _ = await r.service.ask("harbour", "When does the spa open on Sundays?", 2)
    assert len(given) == 2
    assert all(d is not None and d.startswith("reading") for d in given)
    assert [s.hit.derived for s in result.sources] == [None, None]
    assert result.sources[0].hit.text == "On Sundays the spa opens at 10:00."


async def test_the_same_question_written_differently_is_answered_from_the_cache() -> None:
    r = rig()
    first, _ = await r.service.ask("harbour", "When does the spa open on Sundays?", 2)
    again, cached = await r.service.ask("harbour", "  when does the SPA open on sundays ", 2)
    assert cached is True
    assert again == first
    assert len(r.writer.calls) == 1
    assert len(r.retriever.questions) == 1
    # Another top_k, or a new index version, is another answer.
    assert (await r.service.ask("harbour", "When does the spa open on Sundays?", 3))[1] is False
    r.registry.states["harbour"] = dataclasses.replace(HOTEL, version_id=8)
    assert (await r.service.ask("harbour", "When does the spa open on Sundays?", 2))[1] is False
    assert len(r.writer.calls) == 3


async def test_an_answer_given_before_the_spelling_lists_are_read_is_not_served_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = rig()
    monkeypatch.setattr(spelling, "ready", lambda: False)
    _, cached = await r.service.ask("harbour", "When does the spa open on Sundays?", 2)
    _, cached_while_reading = await r.service.ask(
        "harbour", "When does the spa open on Sundays?", 2
    )
    monkeypatch.setattr(spelling, "ready", lambda: True)
    _, cached_once_read = await r.service.ask("harbour", "When does the spa open on Sundays?", 2)
    assert (cached, cached_while_reading, cached_once_read) == (False, True, False)


async def test_control_characters_are_removed_before_the_question_is_answered() -> None:
    r = rig()
    await r.service.ask("harbour", "When\x00 does the spa\x1b open?", 2)
    assert r.retriever.questions == ["When does the spa open?"]


@pytest.mark.parametrize("ask", ["ask", "ask_stream"])
async def test_an_unknown_property_is_refused_before_anything_runs(ask: str) -> None:
    r = rig()
    with pytest.raises(PropertyNotFound):
        await getattr(r.service, ask)("nowhere", "Is there a pool?", 2)
    assert r.retriever.questions == []


async def test_concurrent_identical_asks_share_one_computation() -> None:
    gate = asyncio.Event()
    r = rig(gate)
    asks = [asyncio.ensure_future(r.service.ask("harbour", "Is there a spa?", 2)) for _ in range(5)]
    await r.writer.started.wait()
    await until(lambda: r.cache.stats.shared == 4)
    gate.set()
    results = await asyncio.gather(*asks)
    assert [cached for _, cached in results].count(False) == 1
    assert len({result.answer for result, _ in results}) == 1
    assert len(r.writer.calls) == 1
    assert len(r.retriever.questions) == 1


async def test_asks_and_streams_share_a_streamed_answer_in_flight() -> None:
    gate = asyncio.Event()
    r = rig(gate)
    owner = await r.service.ask_stream("harbour", "Is there a spa?", 2)
    first = await anext(owner.events)  # the owner is now writing, held at the gate
    assert isinstance(first, Delta)
    ask = asyncio.ensure_future(r.service.ask("harbour", "is there a spa", 2))
    stream = asyncio.ensure_future(r.service.ask_stream("harbour", "Is there a spa?", 2))
    await until(lambda: r.cache.stats.shared == 2)
    gate.set()
    deltas, done = await read(owner)
    assert done.cached is False
    assert first.text + "".join(deltas) == done.result.answer
    result, cached = await ask
    assert (result, cached) == (done.result, True)
    follower = await stream
    assert follower.cached_result == done.result
    _, replayed = await read(follower)
    assert replayed.cached is True
    assert replayed.result == done.result
    assert len(r.writer.calls) == 1
    assert len(r.retriever.questions) == 1


async def test_a_stream_joins_an_ask_in_flight() -> None:
    gate = asyncio.Event()
    r = rig(gate)
    ask = asyncio.ensure_future(r.service.ask("harbour", "Is there a spa?", 2))
    await r.writer.started.wait()
    stream = asyncio.ensure_future(r.service.ask_stream("harbour", "Is there a spa?", 2))
    await until(lambda: r.cache.stats.shared == 1)
    gate.set()
    result, _ = await ask
    deltas, done = await read(await stream)
    assert deltas == [result.answer]
    assert (done.result, done.cached) == (result, True)
    assert len(r.writer.calls) == 1


async def test_a_stream_left_early_hands_the_question_to_a_waiting_ask() -> None:
    gate = asyncio.Event()
    r = rig(gate)
    owner = await r.service.ask_stream("harbour", "Is there a spa?", 2)
    await anext(owner.events)
    ask = asyncio.ensure_future(r.service.ask("harbour", "Is there a spa?", 2))
    await until(lambda: r.cache.stats.shared == 1)
    await owner.events.aclose()  # the guest left: nothing is cached, the waiter answers
    gate.set()
    result, cached = await ask
    assert cached is False
    assert "spa opens" in result.answer
    assert len(r.writer.calls) == 2
    assert r.cache.inflight == 0


async def test_a_streamed_answer_is_cached_and_a_cached_answer_streams() -> None:
    r = rig()
    deltas, done = await read(await r.service.ask_stream("harbour", "Is there a spa?", 2))
    assert done.cached is False
    assert "".join(deltas) == done.result.answer
    assert (await r.service.ask("harbour", "Is there a spa?", 2)) == (done.result, True)
    stream = await r.service.ask_stream("harbour", "Is there a spa?", 2)
    assert stream.cached_result == done.result
    assert stream.sources == done.result.sources
    _, again = await read(stream)
    assert again.cached is True
    assert len(r.writer.calls) == 1


@pytest.mark.parametrize("streamed", [False, True])
async def test_fallback_answers_are_not_cached(streamed: bool) -> None:
    r = rig()
    r.writer.fallback_reason = "timeout"

    async def ask() -> tuple[AskResult, bool]:
        if streamed:
            _, done = await read(await r.service.ask_stream("harbour", "Is there a spa?", 2))
            return done.result, done.cached
        return await r.service.ask("harbour", "Is there a spa?", 2)

    first, cached = await ask()
    assert (first.fallback_reason, cached) == ("timeout", False)
    r.writer.fallback_reason = None  # the model recovered: the next question uses it
    second, cached = await ask()
    assert (second.fallback_reason, cached) == (None, False)
    assert len(r.writer.calls) == 2
    assert (await ask())[1] is True


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_follow_up_is_rewritten_by_rule_within_its_session(streamed: bool) -> None:
    r = rig(sessions=MemorySessionStore(10, 4, 60))

    async def ask(question: str, session: str) -> AskResult:
        if streamed:
            _, done = await read(await r.service.ask_stream("harbour", question, 2, session))
            return done.result
        return (await r.service.ask("harbour", question, 2, session))[0]

    first = await ask("When does the spa open?", "s1")
    assert first.standalone_question is None
    follow_up = await ask("and on Sundays?", "s1")
    standalone = "When does the spa open? and on Sundays?"
    assert follow_up.standalone_question == standalone
    assert r.retriever.questions[-1] == standalone
    assert follow_up.sources[0].hit.document_id == "spa-sunday.md"
    # Without that history the same words are asked as they are.
    alone = await ask("and on Sundays?", "s2")
    assert alone.standalone_question is None
    assert r.retriever.questions[-1] == "and on Sundays?"


class RewritingModel:
    """A model that answers every rewrite prompt with one standalone question."""

    name = "rewriting-model"
    style = "chat"

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.prompts: list[Prompt] = []

    async def generate(self, prompt: Prompt, max_tokens: int) -> AsyncGenerator[str, None]:
        self.prompts.append(prompt)
        for word in self.answer.split(" "):
            yield word + " "

    async def aclose(self) -> None:
        return None


async def test_a_follow_up_rewritten_by_the_model_is_cached_under_its_standalone_form() -> None:
    model = RewritingModel("When does the spa open on Sundays?")
    rewriter = FollowUpRewriter(model, PromptBuilder("chat"))  # type: ignore[arg-type]
    r = rig(sessions=MemorySessionStore(10, 4, 60), rewriter=rewriter)
    await r.service.ask("harbour", "When does the spa open?", 2, "s1")
    follow_up, cached = await r.service.ask("harbour", "and on Sundays?", 2, "s1")
    assert cached is False
    assert follow_up.standalone_question == "When does the spa open on Sundays?"
    assert len(model.prompts) == 1
    standalone, cached = await r.service.ask("harbour", "When does the spa open on Sundays", 2)
    assert cached is True
    assert standalone.answer == follow_up.answer
    assert standalone.standalone_question is None


CallAsk = Callable[[], Awaitable[object]]


@pytest.mark.parametrize(
    ("sent", "cleaned"),
    [
        ("What time is check-out?", "What time is check-out?"),
        ("  What  time is\tcheck-out? ", "What time is check-out?"),
        ("Caf\u0065\u0301 open?", "Caf\u00e9 open?"),
        ("Wi\x00fi\x1b code?", "Wifi code?"),
        ("Line one\nline two", "Line one line two"),
        ("Über  dem Café?", "Über dem Café?"),
    ],
)
def test_a_question_is_cleaned_alike_on_every_path(sent: str, cleaned: str) -> None:
    assert clean_question(sent) == cleaned
