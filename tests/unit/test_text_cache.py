"""What is read from a chunk's text is kept within a bound in characters, not in entries."""

from __future__ import annotations

from app.text import per_text


def test_texts_are_read_once_and_dropped_least_recently_used_past_the_bound() -> None:
    reads: list[str] = []

    @per_text(10)
    def read(text: str) -> int:
        reads.append(text)
        return len(text)

    assert [read("aaaa"), read("bbbb"), read("aaaa")] == [4, 4, 4]
    assert reads == ["aaaa", "bbbb"]  # kept: 8 characters of 10
    read("cccc")  # 12 characters: the least recently used ("bbbb") goes
    read("aaaa")
    assert reads == ["aaaa", "bbbb", "cccc"]
    read("bbbb")
    assert reads == ["aaaa", "bbbb", "cccc", "bbbb"]


def test_a_text_longer_than_the_bound_is_read_each_time() -> None:
    reads: list[str] = []

    @per_text(10)
    def read(text: str) -> str:
        reads.append(text)
        return text.upper()

    long = "x" * 11
    assert read(long) == read(long) == "X" * 11
    assert reads == [long, long]
    read("short")
    read("short")
    assert reads == [long, long, "short"]
