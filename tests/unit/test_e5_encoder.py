"""The multilingual encoder: roles, shapes, batching and cross-lingual matching; model choice."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.config import Settings
from app.embedding.e5_encoder import E5Encoder
from app.embedding.encoder import load_encoder, query_encoder
from tests.fakes import HashingEncoder

PASSAGES = [
    "Breakfast is served from 7:00 to 10:30 in the restaurant on the ground floor.",
    "Parking in the garage costs 25 EUR per night; charging points for electric cars.",
    "Dogs are welcome for a fee of 20 EUR per night.",
]


@pytest.fixture(scope="module")
def e5() -> E5Encoder:
    return E5Encoder(threads=1)


def test_vectors_are_normalised_and_384_wide(e5: E5Encoder) -> None:
    vectors = e5.encode(PASSAGES)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert e5.encode([]).shape == (0, 384)
    assert e5.encode_queries([]).shape == (0, 384)


def test_query_and_passage_roles_differ(e5: E5Encoder) -> None:
    text = ["What time is breakfast?"]
    cosine = float(e5.encode(text)[0] @ e5.encode_queries(text)[0])
    assert cosine < 0.999


def test_a_batch_equals_texts_encoded_one_by_one(e5: E5Encoder) -> None:
    batch = e5.encode_queries(PASSAGES)
    single = np.vstack([e5.encode_queries([t]) for t in PASSAGES])
    assert np.allclose(batch, single, atol=1e-3)


def test_a_batch_split_across_threads_is_the_batch_on_one(e5: E5Encoder) -> None:
    texts = [f"{p} {'Bitte. ' * (i % 4)}(Zimmer {i})" for i, p in enumerate(PASSAGES * 6)]
    alone = e5.encode_queries(texts)
    shared = E5Encoder(threads=1, runs_at_once=3)
    seen: set[threading.Thread] = set()
    encode = shared._encode

    def watched(share: list[str], query: bool) -> np.ndarray:
        seen.add(threading.current_thread())
        return encode(share, query)

    shared._encode = watched  # type: ignore[method-assign]
    together = shared.encode_queries(texts)
    assert len(seen) == 3  # the caller's and two helpers
    # Each row is its own text's, in order, whichever thread encoded it.
    assert np.allclose(together, alone, atol=1e-3)
    assert np.all(np.argmax(together @ alone.T, axis=1) == np.arange(len(texts)))
    assert shared.encode_queries(texts[:1]).shape == (1, 384)
    helpers = {thread for thread in seen if thread is not threading.current_thread()}
    shared.close()
    assert not any(thread.is_alive() for thread in helpers)
    assert np.allclose(shared.encode_queries(texts), alone, atol=1e-3)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Wann gibt es Frühstück?", 0),
        ("¿Se admiten perros?", 2),
        ("Où puis-je garer ma voiture ?", 1),
        ("朝食は何時からですか？", 0),
        ("可以带狗吗？", 2),
    ],
)
def test_questions_in_other_languages_find_the_english_passage(
    e5: E5Encoder, question: str, expected: int
) -> None:
    scores = e5.encode(PASSAGES) @ e5.encode_queries([question])[0]
    assert int(np.argmax(scores)) == expected


def test_text_the_engine_cannot_take_is_cleaned(e5: E5Encoder) -> None:
    vectors = e5.encode_queries(["bad \ud800 surrogate", "nul\x00inside"])
    assert vectors.shape == (2, 384)
    assert np.all(np.isfinite(vectors))


def test_questions_use_the_query_role_where_the_model_has_one(e5: E5Encoder) -> None:
    assert query_encoder(e5) == e5.encode_queries
    hashing = HashingEncoder()
    assert query_encoder(hashing) == hashing.encode


def test_settings_choose_the_model_and_its_recorded_name() -> None:
    assert Settings().embedding_name == "all-MiniLM-L6-v2"
    e5_settings = Settings(embedding_model="e5", embedding_threads=1)
    assert e5_settings.embedding_name == "multilingual-e5-small-q4"
    named = Settings(embedding_model="e5", embedding_model_name="my-e5")
    assert named.embedding_name == "my-e5"
    encoder = load_encoder(e5_settings)
    assert (encoder.name, encoder.dim, encoder.max_tokens) == ("multilingual-e5-small-q4", 384, 256)


@pytest.mark.slow
async def test_the_classifier_floors_follow_the_model(e5: E5Encoder) -> None:
    from app.tasks.classify import MessageClassifier, load_examples

    async def embed(text: str) -> np.ndarray:
        return e5.encode_queries([text])[0]

    floors = Settings(embedding_model="e5").classifier_similarities
    assert floors != Settings(embedding_model="minilm").classifier_similarities
    classifier = MessageClassifier(embed, min_similarity=floors[0], safety_similarity=floors[1])
    await classifier.load_seeds(load_examples())
    assert (await classifier.classify("p", "Wann gibt es Frühstück?")).kind == "information"
    assert (await classifier.classify("p", "朝食は何時からですか？")).kind == "information"
    emergency = await classifier.classify("p", "Mein Mann ist zusammengebrochen und atmet kaum")
    assert emergency.kind == "safety"
