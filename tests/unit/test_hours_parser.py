"""Opening hours: the parser on the public set, the canonical form, and open/closed at a time."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.facts.extract import MAX_HOURS_PER_DOCUMENT, extract_hours
from app.facts.hours import parse_canonical
from app.facts.hours_parser import parse_hours
from evaluation.hours_eval import DEFAULT_HOURS_SET, evaluate_hours, load_cases
from evaluation.timely_eval import evaluate_timely

TARGET = 0.95


def test_public_set_is_large_and_parsed_at_target_accuracy() -> None:
    cases = load_cases(DEFAULT_HOURS_SET)
    assert len(cases) >= 250
    assert {c.lang for c in cases} >= {"en", "de", "fr", "es", "it"}
    report = evaluate_hours(cases)
    failed = [f"{c.text!r} -> {got!r} (expected {c.expected!r})" for c, got in report.failures]
    assert report.accuracy >= TARGET, "\n".join(failed)


def test_held_out_set_is_parsed_at_target_accuracy() -> None:
    report = evaluate_hours(load_cases(DEFAULT_HOURS_SET.with_name("hours_holdout.tsv")))
    assert report.accuracy >= TARGET


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon–Fri 7–10:30, weekends until 11:00", "Mo-Fr 07:00-10:30; Sa-Su 07:00-11:00"),
        ("daily 18:00–02:00, closed on Mondays", "Mo off; Tu-Su 18:00-02:00"),
        ("täglich 17 Uhr bis Mitternacht", "Mo-Su 17:00-24:00"),
        ("1 May – 30 Sep: 17:00–23:00", "May 01-Sep 30: Mo-Su 17:00-23:00"),
        ("Self-parking costs EUR 28 per 24 hours.", ""),
        ("Children aged 6 to 12 pay EUR 14.", ""),
    ],
)
def test_tricky_expressions(text: str, expected: str) -> None:
    assert parse_hours(text).render() == expected


def test_canonical_form_reads_back_to_the_same_hours() -> None:
    text = (
        "May 01-Sep 30: Mo off; Tu-Su 07:00-10:30,18:00-02:00 | Oct 01-Apr 30: Mo-Su,PH 09:00-17:00"
    )
    assert parse_canonical(text).render() == text


@pytest.mark.parametrize(
    "bad", ["", "Mo-Fr 7-22", "Xx 07:00-22:00", "Mo 25:00-26:00", "Foo 01-Bar 02: Mo off"]
)
def test_canonical_form_refuses_what_it_cannot_read(bad: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_canonical(bad)


def test_past_midnight_hours_are_open_after_midnight_on_the_next_day() -> None:
    hours = parse_hours("Tue–Sat 18:00–02:00; Sun, Mon closed")
    saturday_night = hours.state_at(datetime(2026, 11, 29, 1, 30))  # a Sunday, 01:30
    assert saturday_night.is_open
    assert saturday_night.from_yesterday
    assert saturday_night.change == datetime(2026, 11, 29, 2, 0)
    assert not hours.state_at(datetime(2026, 11, 29, 2, 0)).is_open
    sunday_night = hours.state_at(datetime(2026, 11, 30, 1, 0))  # Monday 01:00, Sunday was off
    assert sunday_night.known
    assert not sunday_night.is_open


def test_state_before_between_and_after_the_hours() -> None:
    hours = parse_hours("daily 12:00–14:30 and 18:30–22:00")
    before = hours.state_at(datetime(2026, 11, 30, 15, 0))
    assert not before.is_open
    assert before.change == datetime(2026, 11, 30, 18, 30)
    during = hours.state_at(datetime(2026, 11, 30, 13, 0))
    assert during.is_open
    assert during.change == datetime(2026, 11, 30, 14, 30)
    after = hours.state_at(datetime(2026, 11, 30, 22, 0))
    assert after.known
    assert not after.is_open
    assert after.change is None


def test_out_of_season_is_closed_and_unstated_days_are_unknown() -> None:
    terrace = parse_hours("from 1 May to 30 September, 17:00 to 23:00 daily")
    assert terrace.state_at(datetime(2026, 7, 1, 20, 0)).is_open
    winter = terrace.state_at(datetime(2026, 12, 1, 20, 0))
    assert winter.known
    assert not winter.is_open
    weekdays = parse_hours("Mon–Fri 9:00–17:00")
    assert not weekdays.state_at(datetime(2026, 11, 29, 10, 0)).known  # Sunday: not stated


def test_time_aware_questions_are_answered_at_target_accuracy() -> None:
    report = evaluate_timely()
    assert report.total >= 30
    assert report.accuracy >= TARGET, report.failures


def test_a_facility_named_by_a_long_heading_fits_its_column() -> None:
    heading = "Guides > " + "Wellness and relaxation " * 20
    (row,) = extract_hours([(heading, "Open daily from 07:00 to 21:00.", "h")])
    assert row.hours == "Mo-Su 07:00-21:00"
    assert row.facility.startswith("wellness and relaxation")
    assert len(row.facility) <= 200  # facility_hours.facility's CHECK


def test_a_document_gives_a_bounded_number_of_hours_rows() -> None:
    chunks = [(f"Room {i}", "Open daily from 07:00 to 21:00.", f"h{i}") for i in range(300)]
    rows = extract_hours(chunks)
    assert len(rows) == MAX_HOURS_PER_DOCUMENT == 200
    assert rows[0].facility == "room 0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Room #12 is open daily 07:00-21:00", "Mo-Su 07:00-21:00"),
        ("Write to bar@5 daily 07:00-21:00", "Mo-Su 07:00-21:00"),
        ("Suite #3", ""),
        ("Open daily 07:00-21:00, see #0 and @0", "Mo-Su 07:00-21:00"),
    ],
)
def test_hash_and_at_signs_in_the_text_are_not_taken_for_the_parsers_marks(
    text: str, expected: str
) -> None:
    assert parse_hours(text).render() == expected
