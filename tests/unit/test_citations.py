"""Citation cleaning (whole text and streamed), attribution and grounding checks."""

from __future__ import annotations

import pytest

from app.answering.citations import (
    StreamingCitationFilter,
    attribute,
    clean_citations,
    figures_supported,
    says_not_found,
    words_supported,
)
from app.answering.types import Source
from app.search.types import Hit


def source(n: int, text: str) -> Source:
    return Source(n, Hit(n, f"doc{n}.md", f"Doc {n}", "", text, 0.7))


SOURCES = [
    source(1, "Check-out is by 11:00. Late check-out until 14:00 costs EUR 35."),
    source(2, "Breakfast is served from 07:00 to 10:30 in the Garden Restaurant."),
]


@pytest.mark.parametrize(
    ("raw", "text", "cited"),
    [
        ("Check-out is by 11:00 [1].", "Check-out is by 11:00 [1].", (1,)),
        ("Check-out is by 11:00 [7].", "Check-out is by 11:00.", ()),
        ("At 11:00 [1, 9] and 07:00 [2][4].", "At 11:00 [1] and 07:00 [2].", (1, 2)),
        ("Breakfast [2] then check-out [1][2].", "Breakfast [2] then check-out [1][2].", (2, 1)),
        ("Room [0] and [ 1 ].", "Room and [1].", (1,)),
    ],
)
def test_markers_to_no_source_are_removed(raw: str, text: str, cited: tuple[int, ...]) -> None:
    assert clean_citations(raw, {1, 2}) == (text, cited)


def test_streamed_markers_split_across_pieces_are_cleaned() -> None:
    pieces = [
        "Check-out is by 11:00 ",
        "[",
        "1",
        "] and late ",
        "[1",
        "2]",
        " costs EUR 35 [",
        "2].",
    ]
    flt = StreamingCitationFilter({1, 2})
    shown = "".join(flt.feed(p) for p in pieces) + flt.flush()
    assert shown == "Check-out is by 11:00 [1] and late costs EUR 35 [2]."


def test_a_bracket_that_is_no_marker_is_not_held_forever() -> None:
    flt = StreamingCitationFilter({1})
    first = flt.feed("Rooms [see the map on page two of the brochure")
    assert first.startswith("Rooms [see")
    assert flt.flush() == ""


def test_attribution_picks_the_source_sharing_the_most_words() -> None:
    assert attribute("Breakfast is served until 10:30.", SOURCES) == 2
    assert attribute("Check-out is by 11:00.", SOURCES) == 1
    assert attribute("Unrelated words entirely.", SOURCES) is None


def test_figures_must_come_from_the_sources() -> None:
    assert figures_supported("Check-out is by 11:00 [1].", SOURCES)
    assert not figures_supported("Check-out is by 12:00.", SOURCES)
    assert not figures_supported("Late check-out costs EUR 7.", SOURCES)


def test_words_must_mostly_come_from_the_sources() -> None:
    assert words_supported("Late check-out until 14:00 costs EUR 35.", SOURCES)
    assert not words_supported("Yes, there is a casino near the marina.", SOURCES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm sorry, I don't have this information.", True),
        ("The sources do not contain that; the front desk can help.", True),
        ("Check-out is by 11:00 [1].", False),
        ("Late check-out is available at the front desk [1].", False),
    ],
)
def test_not_found_answers_are_recognised(text: str, expected: bool) -> None:
    assert says_not_found(text) is expected
