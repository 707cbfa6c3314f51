"""Menus as data: dish lines, CSV menus, allergens (contains vs may contain) and answers."""

from __future__ import annotations

from app.facts.menu import (
    MAX_DISHES_PER_DOCUMENT,
    csv_menu_lines,
    dishes_in,
    document_dishes,
    parse_dish,
)
from app.facts.menu_answer import answer_menu
from app.facts.menu_store import StoredDish
from evaluation.menu_eval import evaluate_menu
from ingestion.documents import load_bytes

TARGET = 0.95


def test_a_dish_line_gives_price_diets_and_allergens_kept_apart_from_traces() -> None:
    dish = parse_dish(
        "Pad Thai with tofu (vegan) — 16 € — contains peanuts, soy; may contain sesame"
    )
    assert dish is not None
    assert dish.name == "Pad Thai with tofu"
    assert dish.price_text() == "EUR 16.00"
    assert dish.diets == ("vegan", "vegetarian")
    assert dish.contains == ("peanuts", "soybeans")
    assert dish.may_contain == ("sesame",)


def test_a_sentence_with_a_price_is_no_dish() -> None:
    assert parse_dish("Half board can be added to any booking for EUR 39 per adult.") is None
    paella = parse_dish("- Paella Marinera: EUR 26 per person (crustaceans, molluscs, fish)")
    assert paella is not None
    assert paella.price_text() == "EUR 26.00 per person"


def test_a_csv_menu_is_loaded_as_dishes() -> None:
    raw = b"section,dish,price,diet,allergens,may contain\nMains,Pad Thai,16,vegan,peanuts,sesame\n"
    assert csv_menu_lines(raw.decode()) is not None
    (document,) = load_bytes(raw, "menu.csv", "menu.csv")
    (dish,) = dishes_in("Mains", document.text)
    assert (dish.name, dish.contains, dish.may_contain) == ("Pad Thai", ("peanuts",), ("sesame",))


def test_an_allergen_answer_hands_over_and_never_says_safe() -> None:
    dish = parse_dish("- Pad Thai (vegan): EUR 16 (peanuts, soy)", "Mains")
    assert dish is not None
    stored = [StoredDish(dish, "menu.md", "h")]
    policy = {"menu.md": "Please tell your waiter about any allergy."}
    answer = answer_menu("Does the pad thai contain peanuts?", stored, lambda d: 2, policy)
    assert answer is not None
    assert answer.escalate
    assert answer.citations == (2,)
    assert answer.text.startswith("The menu lists the Pad Thai as containing peanuts. [2]")
    assert "Please tell your waiter about any allergy." in answer.text
    assert "can't confirm that any dish is safe" in answer.text


def test_menu_questions_are_answered_at_target_accuracy() -> None:
    report = evaluate_menu()
    assert report.total >= 15
    assert report.accuracy >= TARGET, report.failures


def test_a_document_gives_a_bounded_number_of_dishes() -> None:
    lines = "\n".join(f"- Dish number {i}: EUR {i % 40 + 5}" for i in range(800))
    dishes = document_dishes([("Mains", lines, "h1"), ("Desserts", lines, "h2")])
    assert len(dishes) == MAX_DISHES_PER_DOCUMENT == 500
    assert dishes[0][0].name == "Dish number 0"
    assert {h for _, h in dishes} == {"h1"}


def test_a_price_no_dish_has_is_no_dish() -> None:
    assert parse_dish("- Penthouse night: EUR 30000000") is None  # past a 32-bit column
    assert dishes_in("Menu", "- Caviar: EUR " + "9" * 400) == []  # past a float
    caviar = parse_dish("- Caviar: EUR 9999999")
    assert caviar is not None
    assert caviar.price_cents == 999_999_900
