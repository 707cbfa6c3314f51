"""Menus as data: dishes with price, diet labels and the 14 EU allergens.

A menu line reads like ``- Beetroot Carpaccio with walnuts (vegan): EUR 13 (nuts)`` or
``Pad Thai — 16 € — contains peanuts, may contain sesame``; a CSV menu has a header naming
dish and price columns (and optionally diet, allergens, may-contain, section), and is turned
into such lines at loading. Allergens are normalised to the 14 EU names; "may contain" and
"traces of" are kept apart from what a dish contains.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.text import split_units

EU_ALLERGENS: dict[str, tuple[str, ...]] = {
    "gluten": ("gluten", "wheat", "barley", "rye", "oats", "spelt", "glutine", "trigo"),
    "crustaceans": ("crustacean", "crustaceans", "shellfish", "prawn", "prawns", "shrimp",
                    "crab", "lobster", "krebstiere", "crostacei"),
    "eggs": ("egg", "eggs", "ei", "eier", "oeuf", "oeufs", "huevo", "huevos", "uova"),
    "fish": ("fish", "fisch", "poisson", "pescado", "pesce"),
    "peanuts": ("peanut", "peanuts", "erdnuss", "erdnusse", "arachide", "arachides",
                "cacahuete", "cacahuetes", "groundnut"),
    "soybeans": ("soy", "soya", "soybeans", "soja"),
    "milk": ("milk", "dairy", "lactose", "milch", "lait", "leche", "latte", "butter", "cream"),
    "nuts": ("nuts", "nut", "tree nuts", "almond", "almonds", "walnut", "walnuts", "hazelnut",
             "hazelnuts", "cashew", "cashews", "pecan", "pistachio", "pistachios", "nusse",
             "noix", "frutos secos", "frutta a guscio"),
    "celery": ("celery", "sellerie", "celeri", "apio", "sedano"),
    "mustard": ("mustard", "senf", "moutarde", "mostaza", "senape"),
    "sesame": ("sesame", "sesam", "sesamo"),
    "sulphites": ("sulphites", "sulfites", "sulphite", "sulfite", "sulphur dioxide", "sulfiti",
                  "sulfitos"),
    "lupin": ("lupin", "lupine", "lupins", "lupino"),
    "molluscs": ("molluscs", "mollusks", "mollusc", "mussels", "squid", "oysters", "clams",
                 "octopus", "cuttlefish", "weichtiere", "molluschi", "moluscos"),
}  # fmt: skip
DIETS: dict[str, tuple[str, ...]] = {
    "vegan": ("vegan", "plant-based", "vegano", "vegana", "vegane", "vegetalien"),
    "vegetarian": ("vegetarian", "veggie", "vegetarisch", "vegetarien", "vegetariano",
                   "vegetariana", "(v)"),
    "gluten-free": ("gluten-free", "gluten free", "glutenfrei", "sans gluten", "sin gluten",
                    "senza glutine", "(gf)"),
    "dairy-free": ("dairy-free", "dairy free", "lactose-free", "laktosefrei"),
}  # fmt: skip
_WORD_TO_ALLERGEN = {w: a for a, words in EU_ALLERGENS.items() for w in words}
_PRICE = re.compile(
    r"(?:(?P<cur1>EUR|€|CHF|GBP|£|USD|\$)\s?(?P<a1>\d+(?:[.,]\d{1,2})?)"
    r"|(?P<a2>\d+(?:[.,]\d{1,2})?)\s?(?P<cur2>EUR|€|CHF|GBP|£|USD|\$))"
    r"(?P<unit>\s+per\s+(?:person|adult|child|piece|portion|glass|bottle))?"
)
MAX_PRICE = 10_000_000
_CURRENCY = {"€": "EUR", "£": "GBP", "$": "USD"}
_MAY = re.compile(r"(?:may contain|traces? of|kann spuren|peut contenir|puede contener|"
                  r"pu[oò] contenere)\s*(?:von\s+|de\s+|di\s+)?([^.;)]*)", re.I)  # fmt: skip
_CONTAINS = re.compile(r"(?:contains|enthält|contient|contiene)\s*:?\s*([^.;)]*)", re.I)
_BRACKETS = re.compile(r"\(([^()]*)\)")
_SENTENCE = re.compile(r"\b(is|are|can|costs?|pays?|will|must|may|during|on \w+days)\b", re.I)


@dataclass(frozen=True, slots=True)
class Dish:
    """One dish of a menu; ``price_cents`` is None when the menu gives none."""

    name: str
    section: str
    price_cents: int | None
    currency: str | None
    unit: str  # "" or e.g. "per person"
    diets: tuple[str, ...]
    contains: tuple[str, ...]
    may_contain: tuple[str, ...]
    source_text: str

    def price_text(self) -> str:
        """ "EUR 26.00 per person", consistently formatted; "" without a price."""
        if self.price_cents is None:
            return ""
        amount = f"{self.price_cents // 100}.{self.price_cents % 100:02d}"
        return f"{self.currency} {amount}" + (f" {self.unit}" if self.unit else "")


def allergens_in(text: str) -> list[str]:
    """EU allergen names mentioned in ``text``, in order, each once."""
    lowered = f" {text.casefold()} "
    found: list[tuple[int, str]] = []
    for word, allergen in _WORD_TO_ALLERGEN.items():
        match = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lowered)
        if match and allergen not in [a for _, a in found]:
            found.append((match.start(), allergen))
    return [a for _, a in sorted(found)]


def diets_in(text: str) -> list[str]:
    lowered = text.casefold()
    found = [d for d, words in DIETS.items() if any(w in lowered for w in words)]
    if "vegan" in found and "vegetarian" not in found:
        found.append("vegetarian")
    return found


def parse_dish(line: str, section: str = "") -> Dish | None:
    """The dish a menu line describes (None when the line has no price: not a dish)."""
    price = _PRICE.search(line)
    if price is None:
        return None
    name_part = line[: price.start()].strip(" -–—:|*\t")
    rest = line[price.end() :]
    name = _BRACKETS.sub("", name_part).split(",")[0].split(":")[0].strip(" -–—:")
    if not name or len(name) > 200 or not any(ch.isalpha() for ch in name):
        return None
    if _SENTENCE.search(name_part):
        return None  # "Half board can be added for EUR 39": a sentence, not a dish
    amount = (price.group("a1") or price.group("a2")).replace(",", ".")
    if float(amount) >= MAX_PRICE:
        return None  # no dish costs that much (and dishes.price_cents is a 32-bit integer)
    currency = price.group("cur1") or price.group("cur2")
    may = [a for m in _MAY.finditer(line) for a in allergens_in(m.group(1))]
    tail = _MAY.sub("", rest)
    brackets = " ".join(_BRACKETS.findall(tail))
    declared = " ".join(m.group(1) for m in _CONTAINS.finditer(tail)) + " " + brackets
    contains = [a for a in allergens_in(declared) if a not in may]
    diets = diets_in(name_part + " " + brackets)
    return Dish(
        name,
        section,
        round(float(amount) * 100),
        _CURRENCY.get(currency, currency),
        (price.group("unit") or "").strip(),
        tuple(diets),
        tuple(contains),
        tuple(dict.fromkeys(may)),
        line.strip()[:2000],
    )


def dishes_in(heading: str, text: str) -> list[Dish]:
    """Dishes of a chunk: its lines that carry a price and a name."""
    section = heading.split(">")[-1].strip()
    dishes = []
    for unit in split_units(text):
        dish = parse_dish(unit, section)
        if dish is not None and len(unit) < 300 and not unit.lower().startswith(_NOT_DISHES):
            dishes.append(dish)
    return dishes


MAX_DISHES_PER_DOCUMENT = 500


def document_dishes(chunks: Iterable[tuple[str, str, str]]) -> list[tuple[Dish, str]]:
    """The dishes of a document's ``(heading, text, content_hash)`` chunks, each with its
    chunk's hash: at most ``MAX_DISHES_PER_DOCUMENT`` (a menu lists dozens)."""
    found: list[tuple[Dish, str]] = []
    for heading, text, chunk_hash in chunks:
        for dish in dishes_in(heading, text):
            if len(found) == MAX_DISHES_PER_DOCUMENT:
                return found
            found.append((dish, chunk_hash))
    return found


_NOT_DISHES = ("breakfast is", "children", "a glass", "corkage", "room service", "a delivery")
_MENU_COLUMNS = {"dish", "name", "item", "gericht", "plat", "plato", "piatto"}


def csv_menu_lines(text: str) -> str | None:
    """A CSV menu as Markdown menu lines; None when the header names no dish and price."""
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        return None
    header = [h.strip().casefold() for h in rows[0]]
    name = next((i for i, h in enumerate(header) if h in _MENU_COLUMNS), None)
    price = next(
        (i for i, h in enumerate(header) if h in ("price", "preis", "prix", "precio")), None
    )
    if name is None or price is None:
        return None
    col = {h: i for i, h in enumerate(header)}
    lines, section = [], None
    for row in rows[1:]:
        cells = dict(zip(header, (c.strip() for c in row), strict=False))
        if not cells.get(header[name]):
            continue
        if cells.get("section") and cells["section"] != section:
            section = cells["section"]
            lines.append(f"\n## {section}\n")
        diet = f" ({cells['diet']})" if cells.get("diet") else ""
        allergens = cells.get("allergens", "")
        may = cells.get("may contain") or cells.get("may_contain") or ""
        extra = ", ".join(p for p in (allergens, f"may contain {may}" if may else "") if p)
        amount = cells.get(header[price], "")
        currency = cells.get("currency", "EUR") if "currency" in col else "EUR"
        lines.append(f"- {cells[header[name]]}{diet}: {currency} {amount}" +
                     (f" ({extra})" if extra else ""))  # fmt: skip
    return "\n".join(lines).strip() + "\n"
