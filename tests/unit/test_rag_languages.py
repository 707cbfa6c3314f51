"""The service answers in the guest's language: detected per question, hinted by the page."""

from __future__ import annotations

from app.answering.extractive import ExtractiveWriter
from app.answering.messages import handover, message
from app.answering.types import AnswerWriter
from app.db.properties import PropertyState
from app.rag.cache import AnswerCache
from app.rag.service import RagService
from app.rag.types import AskResult, CacheKey, is_storable
from tests.fakes import FakeRegistry, HashingEmbedder, MemoryRetriever, ScriptedWriter

HOTEL = PropertyState("harbour", "Harbour Hotel", version_id=7, revision=3, chunk_count=1)


def service(
    *props: PropertyState, writer: AnswerWriter | None = None
) -> tuple[RagService, MemoryRetriever]:
    retriever = MemoryRetriever(
        [("breakfast.md", "Breakfast is served from 7:00 to 10:30.")], HashingEmbedder()
    )
    cache: AnswerCache[CacheKey, AskResult] = AnswerCache(100, 60, should_store=is_storable)
    rag = RagService(
        FakeRegistry(*props),  # type: ignore[arg-type]
        retriever,  # type: ignore[arg-type]
        writer or ScriptedWriter(),
        cache,
    )
    return rag, retriever


async def test_the_answer_and_the_search_use_the_questions_language() -> None:
    rag, retriever = service(HOTEL)
    result, _ = await rag.ask("harbour", "Wann gibt es Frühstück?", 1)
    assert result.language == "de"
    assert retriever.languages == ["de"]
    english, cached = await rag.ask("harbour", "When is breakfast?", 1, language="de-DE")
    assert (english.language, cached) == ("en", False)


async def test_the_page_language_decides_for_a_short_question_and_keys_the_cache() -> None:
    rag, _ = service(HOTEL)
    first, _ = await rag.ask("harbour", "wifi", 1, language="ja-JP")
    again, cached = await rag.ask("harbour", "wifi", 1, language="en")
    assert (first.language, again.language, cached) == ("ja", "en", False)
    _, cached = await rag.ask("harbour", "wifi", 1, language="ja")
    assert cached


async def test_a_hand_over_is_in_the_guests_language() -> None:
    # Nothing similar enough to answer from: the extractive writer hands over.
    rag, _ = service(HOTEL, writer=ExtractiveWriter(min_score=0.99))
    result, _ = await rag.ask("harbour", "¿Se admiten perros en el hotel?", 1)
    assert result.escalate
    assert (result.language, result.answer) == ("es", handover("es"))
    assert message("handover", "es") != message("handover", "en")
