"""Chunking: sections and heading paths, the model's token limit, overlap where split."""

from __future__ import annotations

import itertools

from ingestion.chunking import TokenCounter, chunk_document, sections
from tests.fakes import word_count

DOC = """# Breakfast

Served in the Atrium.

## Hours

- Weekdays: 06:30-10:30
- Weekends: 07:00-11:00

## Prices

### Adults

EUR 24 per person.
"""


def test_sections_keep_heading_paths_without_the_title() -> None:
    assert sections(DOC) == [
        ([], "Served in the Atrium."),
        (["Hours"], "- Weekdays: 06:30-10:30\n- Weekends: 07:00-11:00"),
        (["Prices", "Adults"], "EUR 24 per person."),
    ]


def test_each_section_becomes_a_chunk_with_title_and_heading_embedded() -> None:
    chunks = chunk_document("Breakfast", DOC, word_count)
    assert [c.heading for c in chunks] == ["", "Hours", "Prices > Adults"]
    assert chunks[1].text.startswith("- Weekdays")
    assert chunks[1].embed_text.startswith("Breakfast - Hours\n")
    assert [c.ord for c in chunks] == [0, 1, 2]
    assert len({c.content_hash for c in chunks}) == 3


def test_long_sections_split_within_the_token_limit_with_overlap() -> None:
    sentences = [f"Sentence number {i} talks about the pool hours and towels." for i in range(80)]
    text = "# Pool\n\n## Rules\n\n" + " ".join(sentences)
    chunks = chunk_document("Pool", text, word_count, max_tokens=60)
    assert len(chunks) > 5
    assert all(word_count(c.embed_text) <= 60 for c in chunks)
    # Every sentence survives, and each split repeats the previous chunk's last sentence.
    joined = " ".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)
    for before, after in itertools.pairwise(chunks):
        last = before.text.split(". ")[-1].rstrip(".")
        assert after.text.startswith(last)


def test_real_tokenizer_limit_is_respected(count_tokens: TokenCounter) -> None:
    paragraph = " ".join(["Complimentary shuttle to Lindenbahn lift every twenty minutes."] * 60)
    text = "# Transport\n\n## Ski shuttle\n\n" + paragraph
    chunks = chunk_document("Transport", text, count_tokens, max_tokens=256)
    assert len(chunks) >= 3
    assert all(count_tokens(c.embed_text) <= 256 for c in chunks)


def test_a_single_unsplittable_word_still_produces_bounded_chunks() -> None:
    text = "# X\n\n" + "y" * 5000
    chunks = chunk_document("X", text, lambda s: len(s) // 100 + 2, max_tokens=20)
    assert all(len(c.embed_text) // 100 + 2 <= 20 for c in chunks)
    assert "".join(c.text for c in chunks) == "y" * 5000  # no overlap inside a word


def test_text_without_headings_is_one_section() -> None:
    chunks = chunk_document("Notes", "Plain text.\n\nSecond paragraph.", word_count)
    assert len(chunks) == 1
    assert chunks[0].heading == ""
    assert chunks[0].text == "Plain text.\n\nSecond paragraph."


def test_the_token_counter_counts_without_padding(count_tokens: TokenCounter) -> None:
    assert count_tokens("") == 2  # [CLS] and [SEP]
    assert count_tokens("check-out") == 5
    assert count_tokens("word " * 300) == 302  # nor truncated


def test_small_windows_split_by_section_and_sentence(count_tokens: TokenCounter) -> None:
    body = "\n\n".join(
        f"## Topic {j}\n\nRoom detail {j}: towels are changed daily at {j}:00. "
        "Extra towels are at the desk." * 3
        for j in range(3)
    )
    chunks = chunk_document("Housekeeping", "# Housekeeping\n\n" + body, count_tokens, 32)
    assert len(chunks) > 3
    assert all(count_tokens(c.embed_text) <= 32 for c in chunks)
    assert {c.heading for c in chunks} == {"Topic 0", "Topic 1", "Topic 2"}


def test_an_unbroken_run_is_split_at_the_character_bound() -> None:
    # A tokenizer counts a long run of letters and digits as one unknown token.
    def one_token_per_word(text: str) -> int:
        return len(text.split()) + 2

    hex_line = "ab12" * 256_000
    text = f"# Codes\n\nBefore.\n\n{hex_line}\n\nAfter."
    chunks = chunk_document("Codes", text, one_token_per_word)
    assert max(len(c.text) for c in chunks) <= 2_000
    assert hex_line in "".join(c.text for c in chunks).replace("\n", "")  # nothing lost
    assert len(chunks) < 600
