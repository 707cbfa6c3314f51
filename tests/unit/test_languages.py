"""The guest's language: detection, the page's hint, the message catalogue and localisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import languages
from app.answering.messages import MESSAGES, handover, is_handover, localise, message
from app.answering.types import FALLBACK_MESSAGE, Answer
from app.config import Settings
from app.search.retriever import search_options
from app.search.types import SearchOptions


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Wann gibt es Frühstück?", "de"),
        ("Sind Hunde erlaubt und was kostet das?", "de"),
        ("À quelle heure est le petit-déjeuner ?", "fr"),
        ("¿Cuál es la contraseña del wifi?", "es"),
        ("Posso lasciare i bagagli dopo il check-out?", "it"),
        ("早餐几点开始？", "zh"),
        ("朝食は何時からですか？", "ja"),
        ("What time is check-out?", "en"),
    ],
)
def test_the_question_says_its_language(question: str, expected: str) -> None:
    assert languages.detect(question) == expected


def test_a_short_question_follows_the_page_language() -> None:
    # Too short to tell: the page's language decides, whatever the model leans to.
    assert languages.detect("wifi password", "en-GB") == "en"
    assert languages.detect("wifi password", "de-AT") == "de"
    # A clear question in another language wins over the page's.
    assert languages.detect("Wann gibt es Frühstück?", "en-US") == "de"
    # An unsupported or missing tag is no hint.
    assert languages.detect("?", "pt-BR") == "en"
    assert languages.detect("12:30", None) == "en"


def test_language_tags_are_normalised() -> None:
    assert languages.normalise_tag("de-AT") == "de"
    assert languages.normalise_tag("ja_JP") == "ja"
    assert languages.normalise_tag("ZH-Hans-CN") == "zh"
    assert languages.normalise_tag("pt") is None
    assert languages.normalise_tag("") is None


def test_every_language_has_every_message() -> None:
    keys = set(MESSAGES["en"])
    for code in languages.SUPPORTED:
        assert set(MESSAGES[code]) == keys, code
        assert all(text.strip() for text in MESSAGES[code].values())
    assert len({handover(code) for code in languages.SUPPORTED}) == len(languages.SUPPORTED)
    assert message("sources", "ja") == "出典"
    assert message("sources", "pt") == "Sources"  # unknown language: English
    assert handover() == FALLBACK_MESSAGE


def test_a_hand_over_is_given_in_the_guests_language() -> None:
    escalated = Answer(FALLBACK_MESSAGE, escalate=True)
    german = localise(escalated, "de")
    assert german.escalate
    assert german.text == handover("de")
    assert is_handover(german.text)
    assert localise(escalated, "en") is escalated


def test_quoted_sentences_are_introduced_in_the_guests_language() -> None:
    quoted = Answer("Breakfast is served from 7:00 to 10:30. [1]", (1,))
    japanese = localise(quoted, "ja")
    assert japanese.text == "ホテルの案内より： Breakfast is served from 7:00 to 10:30. [1]"
    assert japanese.citations == (1,)
    assert localise(quoted, "en") is quoted
    # A model writes in the guest's language itself: nothing is added.
    written = Answer("Das Frühstück gibt es von 7 bis 10:30 Uhr [1].", (1,), answer_source="local")
    assert localise(written, "de") is written


def test_other_languages_weigh_the_english_text_index_by_model() -> None:
    options = SearchOptions(text_weight=0.5, other_language_text_weight=0.0)
    assert options.for_language("en") is options
    assert options.for_language(None) is options
    assert options.for_language("de").text_weight == 0.0
    assert SearchOptions().for_language("de").text_weight == 0.5

    minilm = search_options(Settings(embedding_model="minilm"))
    assert (minilm.glossary, minilm.other_language_text_weight) == (True, None)
    e5 = search_options(Settings(embedding_model="e5"))
    assert (e5.glossary, e5.other_language_text_weight) == (False, 0.0)
    tuned = search_options(
        Settings(embedding_model="e5", query_glossary=True, hybrid_text_weight_other_languages=0.2)
    )
    assert (tuned.glossary, tuned.other_language_text_weight) == (True, 0.2)


def test_the_answer_threshold_follows_the_model_unless_set() -> None:
    assert Settings(embedding_model="minilm").answer_threshold == Settings().answer_min_score
    assert Settings(embedding_model="e5").answer_threshold > 0.7
    assert Settings(embedding_model="e5", answer_min_score=0.5).answer_threshold == 0.5


def test_a_question_over_sources_in_another_language_is_not_handed_over_for_its_words() -> None:
    from app.answering.extractive import ExtractiveWriter
    from app.answering.types import number_sources
    from app.search.types import Hit

    hits = [
        Hit(1, "breakfast.md", "Breakfast", "Hours", "Breakfast is served daily from 06:30 to "
            "10:30 in the Quay Room; it costs EUR 24 per adult.", 0.85),
    ]  # fmt: skip
    writer = ExtractiveWriter(0.83, confident_score=0.87, other_language_min_score=0.80)
    # Below the confident score a subject word missing from the sources means a hand-over,
    # which a question over sources in another language often has: its language lifts it.
    assert writer.compose("A che ora è la colazione?", number_sources(hits)).escalate
    italian = writer.compose("A che ora è la colazione?", number_sources(hits), "it")
    assert not italian.escalate
    assert "06:30" in italian.text
    # Without that floor (MiniLM, whose similarities do not carry across languages) too.
    plain = ExtractiveWriter(0.83, confident_score=0.87)
    assert plain.compose("A che ora è la colazione?", number_sources(hits), "it").escalate
    # A question in the sources' own language keeps the rule.
    assert writer.compose("Is there a casino?", number_sources(hits), "en").escalate


_SAMPLES = [
    "Wann gibt es Frühstück?",
    "À quelle heure est le petit-déjeuner ?",
    "¿Cuál es la contraseña del wifi?",
    "Posso lasciare i bagagli dopo il check-out?",
    "早餐几点开始？",
    "朝食は何時からですか？",
    "What time is check-out?",
    "wifi password",
    "12:30",
    "",
]


def test_mapped_tables_score_as_the_packaged_model(tmp_path: Path) -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from app import language_tables

    wanted = list(languages.SUPPORTED)
    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    reference.set_languages(wanted)
    path = language_tables.table_file(tmp_path, wanted)
    language_tables.write(language_tables.identifier(wanted), path)
    mapped = language_tables.mapped(path)
    assert mapped is not None
    for text in _SAMPLES:
        assert mapped.rank(text) == reference.rank(text), text


def test_tables_that_are_not_whole_are_not_used(tmp_path: Path) -> None:
    from app import language_tables

    wanted = list(languages.SUPPORTED)
    path = language_tables.table_file(tmp_path, wanted)
    language_tables.write(language_tables.identifier(wanted), path)
    path.write_bytes(path.read_bytes()[:-10])
    assert language_tables.mapped(path) is None
    assert language_tables.mapped(tmp_path / "missing.bin") is None
