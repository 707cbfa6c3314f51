"""Messages not in English are judged in the multilingual model's space; English ones never."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pytest

from app.config import Settings
from app.embedding.lazy import LazyEmbedder
from app.tasks.classify import MessageClassifier
from app.tasks.multilingual import Floors, MultilingualSpace
from app.tasks.rules import Label
from tests.fakes import HashingEncoder

SERVICE = Label("service_request", "housekeeping")
SAFETY = Label("safety", "medical")
INFO = Label("information")
# A few examples per language, so each language has a centre in both spaces.
SEEDS = [
    ("could you bring two more towels to our room", SERVICE),
    ("my wife fell and is bleeding badly", SAFETY),
    ("what time does the pool open", INFO),
    ("bitte bringen Sie zwei Handtücher auf unser Zimmer", SERVICE),
    ("mein Mann ist gestürzt und blutet stark", SAFETY),
    ("wann öffnet das Schwimmbad am Morgen", INFO),
]
FLOORS = Floors(min_similarity=0.1, safety_similarity=0.9, task_similarity=0.1)
GERMAN_REQUEST = "Könnten Sie bitte zwei Handtücher auf unser Zimmer bringen?"
ENGLISH_REQUEST = "Could you bring two more towels to our room please?"


class Recording:
    """An ``embed`` over the hashing encoder that records what it is given."""

    def __init__(self) -> None:
        self.encoder = HashingEncoder()
        self.texts: list[str] = []

    async def __call__(self, text: str) -> np.ndarray:
        self.texts.append(text)
        return self.encoder.encode([text])[0]


async def _classifier(
    main: Recording, second: Recording, wait_s: float = 5.0
) -> tuple[MessageClassifier, MultilingualSpace]:
    space = MultilingualSpace(second, SEEDS, FLOORS, wait_s=wait_s)
    classifier = MessageClassifier(main, min_similarity=0.1, multilingual=space)
    await classifier.load_seeds(SEEDS)
    main.texts.clear()
    return classifier, space


def test_an_english_message_stays_on_the_main_model_and_loads_nothing() -> None:
    main, second = Recording(), Recording()

    async def scenario() -> None:
        classifier, space = await _classifier(main, second)
        got = await classifier.classify("p", ENGLISH_REQUEST)
        assert got.kind == "service_request"
        assert main.texts == [ENGLISH_REQUEST]
        assert second.texts == []
        assert not space.ready

    asyncio.run(scenario())


def test_a_german_request_is_judged_in_the_multilingual_space_once_it_is_loaded() -> None:
    main, second = Recording(), Recording()

    async def scenario() -> None:
        classifier, space = await _classifier(main, second)
        got = await classifier.classify("p", GERMAN_REQUEST)
        assert space.ready
        assert (got.kind, got.category) == ("service_request", "housekeeping")
        assert main.texts == []  # never embedded by the English model
        assert second.texts[: len(SEEDS)] == [text for text, _ in SEEDS]
        assert second.texts[-1] == GERMAN_REQUEST
        second.texts.clear()
        again = await classifier.classify("p", GERMAN_REQUEST)
        assert again == got
        assert second.texts == []  # the result is kept like any other

    asyncio.run(scenario())


def test_a_propertys_examples_join_the_multilingual_space_at_its_first_message() -> None:
    main, second = Recording(), Recording()
    own = [("Zirbenholz Kleiderbügel für den Schrank", SERVICE)] * 3
    text = "Zirbenholz Kleiderbügel für den Schrank, bitte"

    async def scenario() -> None:
        classifier, space = await _classifier(main, second)
        await classifier.load_property("p", own)
        placed = await space.place("p", text)
        assert placed is not None
        assert len(placed.indexes) == 2
        assert second.texts.count(own[0][0]) == 3
        elsewhere = await space.place("q", text)
        assert elsewhere is not None
        assert len(elsewhere.indexes) == 1
        await classifier.load_property("p", [])  # replaced: the old ones are gone
        emptied = await space.place("p", text)
        assert emptied is not None
        assert len(emptied.indexes) == 1

    asyncio.run(scenario())


def test_while_the_space_loads_a_message_is_judged_by_the_main_model_and_not_kept() -> None:
    main = Recording()
    release = asyncio.Event()

    class Slow(Recording):
        async def __call__(self, text: str) -> np.ndarray:
            await release.wait()
            return await super().__call__(text)

    second = Slow()

    async def scenario() -> None:
        classifier, space = await _classifier(main, second, wait_s=0.0)
        first = await classifier.classify("p", GERMAN_REQUEST)
        assert main.texts == [GERMAN_REQUEST]
        assert not space.ready
        assert first.method in ("nearest", "rule")
        release.set()
        assert await space.load()
        main.texts.clear()
        await classifier.classify("p", GERMAN_REQUEST)
        assert main.texts == []  # not answered from the first result: judged again
        assert second.texts[-1] == GERMAN_REQUEST

    asyncio.run(scenario())


def test_a_multilingual_model_that_cannot_load_leaves_messages_on_the_main_model() -> None:
    main = Recording()
    loads: list[int] = []

    def broken() -> HashingEncoder:
        loads.append(1)
        raise RuntimeError("the e5 extra is not installed")

    lazy = LazyEmbedder(broken)

    async def scenario() -> None:
        space = MultilingualSpace(lazy.embed, SEEDS, FLOORS)
        classifier = MessageClassifier(main, min_similarity=0.1, multilingual=space)
        await classifier.load_seeds(SEEDS)
        main.texts.clear()
        for text in (GERMAN_REQUEST, "Pourriez-vous monter deux serviettes, s'il vous plaît ?"):
            got = await classifier.classify("p", text)
            assert got.kind in ("service_request", "information")
        assert len(main.texts) == 2
        assert loads == [1]  # tried once, not at every message

    asyncio.run(scenario())


def test_the_lazy_embedder_loads_once_on_its_own_thread_and_closes() -> None:
    loads: list[str] = []
    closed: list[bool] = []

    class ClosingEncoder(HashingEncoder):
        def close(self) -> None:
            closed.append(True)

    encoder = ClosingEncoder()

    def load() -> HashingEncoder:
        import threading

        loads.append(threading.current_thread().name)
        return encoder

    lazy = LazyEmbedder(load)

    async def scenario() -> Sequence[np.ndarray]:
        assert not lazy.loaded
        return await asyncio.gather(*(lazy.embed(f"text {i}") for i in range(5)))

    vectors = asyncio.run(scenario())
    assert len(loads) == 1
    assert loads[0] != "MainThread"
    assert np.allclose(vectors[2], encoder.encode(["text 2"])[0])
    assert not closed
    lazy.close()
    assert closed == [True]  # the encoder's own threads stop with the batcher's

    async def after_close() -> None:
        with pytest.raises(Exception, match="not accepting"):
            await lazy.embed("late")

    asyncio.run(after_close())


def test_the_setting_chooses_the_second_model_only_for_the_english_model() -> None:
    assert Settings().classifier_second_model == "e5"
    assert Settings(classifier_multilingual="off").classifier_second_model is None
    assert Settings(embedding_model="e5").classifier_second_model is None


@pytest.mark.parametrize(
    ("text", "taken"),
    [
        (ENGLISH_REQUEST, False),
        ("There is smoke coming from the room next door", False),
        (GERMAN_REQUEST, True),
        ("Il y a le feu dans le couloir, venez vite", True),
        ("Necesitamos más papel higiénico en la habitación", True),
    ],
)
def test_the_language_detector_decides_which_messages_leave_the_main_model(
    text: str, taken: bool
) -> None:
    assert MultilingualSpace.takes(text) is taken
