"""Menu questions answered from the dishes as data: "what vegan dishes do you have at dinner?",
"does the pad thai contain peanuts?".

An allergen question is answered with what the menu declares for the dish (contains, may
contain), the hotel's own allergy note, and a hand-over to staff: the answer never says a dish
is safe.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from app.answering.types import Answer
from app.facts.menu import DIETS, Dish, allergens_in
from app.facts.menu_store import StoredDish
from app.text import content_terms

_DISH_WORDS = re.compile(
    r"\b(dish|dishes|options?|food|eat|menu|meals?|have|serve|offer|choices?|anything|desserts?"
    r"|starters?|mains?|courses?)\b",
    re.I,
)
_ASKS_ALLERGEN = re.compile(
    r"\b(contain|contains|have|has|with|any|free|in|allerg\w*|intoleran\w*|traces?)\b", re.I
)
_DRINKS = re.compile(r"cocktail|drink|wine|beer|bar|spirits|après", re.I)
_MEALS = ("breakfast", "lunch", "dinner", "dessert", "starter", "main", "kids", "children")
HANDOVER = (
    "I can't confirm that any dish is safe for you: please tell your waiter about your allergy, "
    "and a member of staff will check with the kitchen before you order."
)
MAX_LISTED = 8

Cite = Callable[[StoredDish], int | None]


def _diet_of(question: str) -> str | None:
    lowered = question.casefold()
    for diet, words in DIETS.items():
        if any(w in lowered for w in words if not w.startswith("(")):
            return diet
    return None


def _matching_dish(question: str, dishes: Sequence[StoredDish]) -> StoredDish | None:
    """The dish the question names (most name words shared, at least one distinctive)."""
    terms = set(content_terms(question)) - {"contain", "dish", "menu", "allergy", "free"}
    best: tuple[float, StoredDish] | None = None
    for stored in dishes:
        name = set(content_terms(stored.dish.name))
        shared = name & terms
        if not shared:
            continue
        score = len(shared) / len(name)
        if best is None or score > best[0]:
            best = (score, stored)
    return best[1] if best else None


def _price(dish: Dish) -> str:
    text = dish.price_text()
    return f", {text}" if text else ""


def answer_menu(
    question: str, dishes: Sequence[StoredDish], cite: Cite, policies: Mapping[str, str]
) -> Answer | None:
    """The answer from the menu data, or None when this is no menu question it can answer."""
    if not dishes:
        return None
    allergens = allergens_in(question)
    if allergens and _ASKS_ALLERGEN.search(question):
        dish = _matching_dish(question, dishes)  # only then: it reads every dish's name
        if dish is not None:
            return _allergen_answer(dish, allergens, cite, policies.get(dish.doc_key))
    diet = _diet_of(question)
    if diet is not None and _DISH_WORDS.search(question):
        return _diet_answer(question, diet, dishes, cite, policies)
    return None


def _allergen_answer(
    stored: StoredDish, asked: Sequence[str], cite: Cite, policy: str | None
) -> Answer:
    dish, n = stored.dish, cite(stored)
    mark = f" [{n}]" if n else ""
    parts = []
    for allergen in asked:
        if allergen in dish.contains:
            parts.append(f"The menu lists the {dish.name} as containing {allergen}.{mark}")
        elif allergen in dish.may_contain:
            parts.append(f"The menu says the {dish.name} may contain {allergen}.{mark}")
        else:
            listed = ", ".join(dish.contains) or "no allergens"
            parts.append(
                f"The menu does not list {allergen} for the {dish.name} (it lists {listed}).{mark}"
            )
    if policy:
        parts.append(policy)
    parts.append(HANDOVER)
    return Answer(" ".join(parts), (n,) if n else (), escalate=True, answer_source="menu")


def _diet_answer(
    question: str, diet: str, dishes: Sequence[StoredDish], cite: Cite, policies: Mapping[str, str]
) -> Answer | None:
    lowered = question.casefold()
    food = [d for d in dishes if not _DRINKS.search(d.dish.section)]
    meal = next((m for m in _MEALS if m in lowered), None)
    if meal is not None:
        in_meal = [d for d in food if meal in d.dish.section.casefold()]
        if in_meal:
            food = in_meal
    chosen = [d for d in food if diet in d.dish.diets][:MAX_LISTED]
    if not chosen:
        return None
    items, used = [], []
    for stored in chosen:
        n = cite(stored)
        mark = f" [{n}]" if n else ""
        if n and n not in used:
            used.append(n)
        items.append(f"{stored.dish.name} ({stored.dish.section}{_price(stored.dish)}){mark}")
    text = f"{diet.capitalize()} dishes on the menu: " + "; ".join(items) + "."
    allergy = diet in ("gluten-free", "dairy-free")
    if allergy:
        policy = policies.get(chosen[0].doc_key)
        text += " " + (policy + " " if policy else "") + HANDOVER
    return Answer(text, tuple(used), escalate=allergy, answer_source="menu")
