"""The facts evaluations' inputs: the sample hotels chunked once, and the check of an answer."""

from __future__ import annotations

from evaluation.samples import chunked_sample, says


def test_an_answer_must_say_everything_expected_and_nothing_rejected() -> None:
    assert says("The pool opens at 07:00 and closes at 21:00.", ["07:00", "21:00"], [])
    assert not says("The pool opens at 07:00.", ["07:00", "21:00"], [])
    assert not says("The pool is closed now; it opens at 07:00.", ["07:00"], ["closed now"])
    assert not says(None, [], [])


def test_the_sample_hotels_are_read_and_chunked_once() -> None:
    hotels = chunked_sample()
    assert [h.id for h in hotels] == ["harbour-grand", "sunset-cove", "alpine-lodge"]
    assert hotels[0].timezone == "Europe/Rome"
    assert all(chunks for hotel in hotels for _, chunks in hotel.documents)
    assert chunked_sample() is hotels
