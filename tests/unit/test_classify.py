"""Message classification: the rules, the example vote, the hot-path classifier."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from app.embedding.batcher import MicroBatcher
from app.tasks.centres import Centres
from app.tasks.classify import (
    Classification,
    ExampleIndex,
    MessageClassifier,
    decide,
    load_examples,
    needs_vector,
    vote,
)
from app.tasks.rules import KINDS, Label, priority_of, room_of, rule_label
from evaluation.classification import load_messages, meets_targets, per_class, render
from tests.fakes import HashingEncoder


@pytest.mark.parametrize(
    ("text", "kind", "category"),
    [
        ("I am allergic to peanuts, is the breakfast safe?", "safety", "allergy"),
        ("Are the pillows hypoallergenic?", None, None),
        ("There is smoke in the corridor", "safety", "emergency"),
        ("what should I do in case of fire", None, None),
        ("my husband has chest pains", "safety", "medical"),
        ("Jemand hat mein Handy gestohlen", "safety", "security"),
        ("My shower is broken", "service_request", "maintenance"),
        ("Can you book me a table for two at 8pm?", "service_request", "reservation"),
        ("Can I get extra towels sent to room 412?", "service_request", "housekeeping"),
        ("please call a cab for me", "service_request", "transport"),
        ("wake me up at seven tomorrow", "service_request", "wake_up"),
        ("Does the hotel offer an airport shuttle?", None, None),
        ("The room is dirty, this is unacceptable", "complaint", None),
        ("merci beaucoup", "small_talk", None),
        ("please help!", "safety", "emergency"),
        ("Thank you for your help!", None, None),
        ("You've been a great help!", None, None),
        ("What time is check-out?", None, None),
    ],
)
def test_rules_decide_the_clear_cases_and_leave_questions_alone(
    text: str, kind: str | None, category: str | None
) -> None:
    got = rule_label(text)
    assert (got.kind, got.category) == (kind, category) if got else kind is None


def test_a_room_number_is_found_in_several_wordings_and_times_are_not_rooms() -> None:
    assert room_of("Can I get extra towels sent to room 412?") == "412"
    assert room_of("Necesito más almohadas en la habitación 305") == "305"
    assert room_of("Can you bring a hair dryer to 702") == "702"
    assert room_of("Zimmer Nr. 14 bitte") == "14"
    assert room_of("book a table at 2000 people") is None
    assert room_of("a taxi at 0630 am") is None
    assert room_of("a table for two at 8pm") is None


def test_emergencies_and_medical_messages_are_urgent() -> None:
    assert priority_of(Label("safety", "emergency")) == "urgent"
    assert priority_of(Label("safety", "allergy")) == "high"
    assert priority_of(Label("service_request", "housekeeping")) == "normal"


def test_the_vote_weighs_similarity_and_falls_back_to_information() -> None:
    towels, taxi = Label("service_request", "housekeeping"), Label("service_request", "transport")
    assert vote([(0.9, towels), (0.42, taxi), (0.41, taxi)], 0.4)[0] == towels
    assert vote([(0.6, towels), (0.5, taxi), (0.45, taxi)], 0.4)[0] == taxi
    assert vote([(0.2, towels)], 0.4)[0] == Label("information")


def test_a_near_safety_example_outweighs_the_vote_and_questions_stay_questions() -> None:
    vectors = np.eye(3, dtype=np.float32)
    index = ExampleIndex(
        vectors,
        [Label("safety", "medical"), Label("service_request", "housekeeping"), Label("complaint")],
    )
    near_safety = np.array([0.7, 0.71, 0.0], dtype=np.float32)
    assert decide("xyzzy plugh", near_safety, [index]).kind == "safety"
    near_service = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    assert decide("xyzzy plugh", near_service, [index]).kind == "service_request"
    assert decide("where is the xyzzy plugh", near_service, [index]).kind == "information"


def test_asking_leave_is_a_question_and_asking_to_get_something_is_not() -> None:
    index = ExampleIndex(np.eye(1, dtype=np.float32), [Label("service_request", "transport")])
    near_service = np.array([1.0], dtype=np.float32)
    assert decide("Can I land my xyzzy on the roof?", near_service, [index]).kind == "information"
    assert decide("um may we bring the xyzzy", near_service, [index]).kind == "information"
    assert decide("can I get a xyzzy", near_service, [index]).kind == "service_request"
    assert decide("can we have a xyzzy", near_service, [index]).kind == "service_request"


@pytest.mark.parametrize(
    "text",
    [
        "is it possible to have a xyzzy plugh",
        "do you think someone could xyzzy the plugh",
        "est-ce qu'on pourrait avoir un xyzzy",
        "Est-ce que vous pourriez nous monter un xyzzy ?",
    ],
)
def test_a_polite_request_worded_as_a_question_keeps_the_votes_kind(text: str) -> None:
    index = ExampleIndex(
        np.eye(2, dtype=np.float32),
        [Label("service_request", "housekeeping"), Label("complaint")],
    )
    near_service = np.array([1.0, 0.0], dtype=np.float32)
    got = decide(text, near_service, [index])
    assert (got.kind, got.category) == ("service_request", "housekeeping")


def test_the_classifier_embeds_a_repeated_message_once_and_property_examples_count() -> None:
    encoder = HashingEncoder()
    texts: list[str] = []

    async def embed(text: str) -> np.ndarray:
        texts.append(text)
        return encoder.encode([text])[0]

    async def scenario() -> None:
        classifier = MessageClassifier(embed, max_cached=2)
        await classifier.load_seeds(load_examples())
        seeded = len(texts)
        first = await classifier.classify("p", "zorbing lessons wanted for tomorrow")
        again = await classifier.classify("p", "Zorbing lessons wanted for tomorrow ")
        assert first == again
        assert len(texts) == seeded + 1
        await classifier.classify("p", "zorbing " * 500)
        assert max(len(text) for _, text in classifier._cache) <= 16  # small keys
        await classifier.load_property(
            "p", [("zorbing lessons wanted", Label("service_request", "reservation"))]
        )
        mine = await classifier.classify("p", "zorbing lessons wanted for tomorrow")
        other = await classifier.classify("q", "zorbing lessons wanted for tomorrow")
        assert (mine.kind, mine.category) == ("service_request", "reservation")
        assert other.kind != "service_request" or other.category != "reservation"

    asyncio.run(scenario())


def test_the_labelled_messages_are_valid_and_none_is_a_classifier_example() -> None:
    examples = load_examples()
    messages = load_messages()
    assert len(messages) >= 300
    assert len(examples) >= 100
    assert {m.label.kind for m in messages} == set(KINDS)
    assert {m.lang for m in messages} >= {"en", "de", "fr", "es"}
    assert {m.style for m in messages} == {"typed", "spoken"}
    seen = {text.casefold().strip() for text, _ in examples}
    assert not [m.id for m in messages if m.text.casefold().strip() in seen]
    assert len({m.id for m in messages}) == len(messages)
    blind2 = [m for m in messages if m.split == "blind2"]
    assert len(blind2) >= 150
    assert sum(m.label.kind == "safety" for m in blind2) >= 50
    assert sum(m.label.kind == "service_request" for m in blind2) >= 50
    assert {m.lang for m in blind2} == {"en", "de", "fr", "es"}


def test_precision_and_recall_per_class() -> None:
    table = per_class(["safety", "safety", "information"], ["safety", "information", "safety"])
    assert table["safety"] == {"precision": 0.5, "recall": 0.5, "support": 2}
    assert table["information"]["recall"] == 0.0


def test_a_propertys_examples_are_embedded_without_overrunning_the_embedding_queue() -> None:
    encoder = HashingEncoder()

    async def scenario() -> Classification:
        batcher = MicroBatcher(encoder.encode)  # the default queue: 256
        batcher.start()
        try:
            classifier = MessageClassifier(batcher.embed)
            examples = [("zorbing lesson number 0", Label("service_request", "reservation"))]
            examples += [(f"noisy neighbours again {i}", Label("complaint")) for i in range(299)]
            await classifier.load_property("p", examples)
            return await classifier.classify("p", "zorbing lesson number 0")
        finally:
            await asyncio.to_thread(batcher.close)

    found = asyncio.run(scenario())
    assert (found.kind, found.category) == ("service_request", "reservation")


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_a_service_rule_is_overruled_when_the_nearest_example_is_about_a_person_hurt() -> None:
    text = "my son's arm is broken"
    assert rule_label(text) == Label("service_request", "maintenance")
    assert needs_vector(rule_label(text))
    assert not needs_vector(Label("small_talk"))
    assert not needs_vector(Label("safety", "medical"))
    index = ExampleIndex(
        np.eye(3, dtype=np.float32),
        [Label("safety", "medical"), Label("service_request", "maintenance"), Label("complaint")],
    )
    floors = {"min_similarity": 0.2, "safety_similarity": 0.55}
    near_hurt = np.array([0.45, 0.3, 0.0], dtype=np.float32)  # under the safety floor
    got = decide(text, near_hurt, [index], **floors)
    assert (got.kind, got.category, got.method) == ("safety", "medical", "nearest")
    near_repair = np.array([0.3, 0.45, 0.0], dtype=np.float32)
    assert decide(text, near_repair, [index], **floors).label == rule_label(text)
    assert decide(text, None, [index], **floors).method == "rule"


def test_a_safety_example_loses_only_to_a_clearly_nearer_example_of_another_kind() -> None:
    index = ExampleIndex(
        np.eye(3, dtype=np.float32),
        [Label("safety", "medical"), Label("service_request", "housekeeping"), Label("complaint")],
    )
    floors = {"min_similarity": 0.2, "safety_similarity": 0.55, "safety_margin": 0.03}
    slightly_nearer_towels = np.array([0.6, 0.62, 0.0], dtype=np.float32)
    assert decide("xyzzy plugh", slightly_nearer_towels, [index], **floors).kind == "safety"
    clearly_nearer_towels = np.array([0.6, 0.75, 0.0], dtype=np.float32)
    got = decide("xyzzy plugh", clearly_nearer_towels, [index], **floors)
    assert (got.kind, got.category) == ("service_request", "housekeeping")


def test_language_centres_take_out_what_only_says_the_language() -> None:
    # axes: 0 = "written in Spanish", 1 = "written in English", 2 = towels, 3 = bleeding
    english = [_unit(0, 1, 1, 0), _unit(0, 1, 0, 1), _unit(0, 1, 1, 0.2), _unit(0, 1, 0.2, 1)]
    spanish = [_unit(3, 0, 0, 1), _unit(3, 0, 0.1, 1), _unit(3, 0, 0, 0.9)]
    examples = np.vstack([*english, *spanish])
    languages = ["en"] * 4 + ["es"] * 3
    labels = [Label("service_request", "housekeeping"), Label("safety", "medical")] * 2
    labels += [Label("safety", "medical")] * 3
    spanish_towels = _unit(3, 0, 1, 0)
    raw = ExampleIndex(examples, labels)
    assert raw.nearest(spanish_towels, 1)[0][1].kind == "safety"  # the language dominates
    centres = Centres.fit(examples, languages)
    assert len(centres) == 2
    centred = ExampleIndex(centres.apply(examples), labels)
    moved = centres.apply(spanish_towels)
    assert moved.shape == spanish_towels.shape
    assert np.isclose(np.linalg.norm(moved), 1.0)
    assert centred.nearest(moved, 1)[0][1] == Label("service_request", "housekeeping")


def test_a_language_with_too_few_examples_has_no_centre_and_no_centres_change_nothing() -> None:
    vectors = np.eye(4, dtype=np.float32)
    assert len(Centres.fit(vectors, ["en", "en", "en", "de"])) == 1
    empty = Centres.fit(vectors[:2], ["en", "de"])
    assert len(empty) == 0
    assert np.array_equal(empty.apply(vectors[0]), vectors[0])


def test_a_message_a_service_rule_decides_is_still_embedded_but_small_talk_is_not() -> None:
    encoder = HashingEncoder()
    texts: list[str] = []

    async def embed(text: str) -> np.ndarray:
        texts.append(text)
        return encoder.encode([text])[0]

    async def scenario() -> None:
        classifier = MessageClassifier(embed)
        await classifier.load_seeds(load_examples())
        texts.clear()
        await classifier.classify("p", "merci beaucoup")
        assert texts == []
        await classifier.classify("p", "My shower is broken")
        assert texts == ["My shower is broken"]

    asyncio.run(scenario())


def test_the_targets_are_judged_on_blind2_and_its_misses_are_counted_not_listed() -> None:
    good = per_class(["safety", "service_request"], ["safety", "service_request"])
    bad = per_class(["safety", "service_request"], ["information", "information"])
    report: dict[str, object] = {
        "splits": {"blind": good | {"n": 2}, "blind2": bad | {"n": 2}},
        "errors": [
            {"id": "n001", "text": "secret", "want": "safety", "got": "information",
             "method": "nearest", "split": "blind2"},
            {"id": "d001", "text": "seen before", "want": "safety", "got": "information",
             "method": "nearest", "split": "blind"},
        ],
    }  # fmt: skip
    assert not meets_targets(report)
    assert meets_targets(report, "blind")
    text = render(report)
    assert "blind (seen)" in text
    assert "seen before" in text
    assert "secret" not in text
    assert "1 blind2 messages misclassified" in text


def test_a_distant_request_example_does_not_turn_a_message_into_a_task() -> None:
    index = ExampleIndex(
        np.eye(3, dtype=np.float32),
        [Label("service_request", "reservation"), Label("complaint"), Label("safety", "medical")],
    )
    faint = np.array([0.3, 0.0, 0.0], dtype=np.float32)  # similarity 0.3 to the request
    assert decide("spa OR 1=1 --", faint, [index], min_similarity=0.2).kind == "service_request"
    floored = decide("spa OR 1=1 --", faint, [index], min_similarity=0.2, task_similarity=0.35)
    assert floored.kind == "information"
    near = np.array([0.5, 0.0, 0.0], dtype=np.float32)
    kept = decide("book the spa", near, [index], min_similarity=0.2, task_similarity=0.35)
    assert kept.kind == "service_request"
    # Safety keeps its own floors: the task floor never silences it.
    alarm = np.array([0.0, 0.0, 0.3], dtype=np.float32)
    alarmed = decide("xyzzy", alarm, [index], min_similarity=0.2, task_similarity=0.35)
    assert alarmed.kind == "safety"


def test_a_bare_word_or_a_wh_question_is_answered_not_made_a_task() -> None:
    index = ExampleIndex(np.eye(1, dtype=np.float32), [Label("service_request", "reservation")])
    near = np.array([1.0], dtype=np.float32)
    assert decide("sauna", near, [index]).kind == "information"
    assert decide("sauna please", near, [index]).kind == "service_request"
    assert decide("Where could we leave the car overnight?", near, [index]).kind == "information"
    assert decide("Could we leave the car overnight?", near, [index]).kind == "service_request"
