"""The kind of value a question asks for, and the patterns of a sentence that holds it: a time
for "when", a price for "how much", a size for "how big", a distance for "how far", an age
for a question about children."""

from __future__ import annotations

import re

from app.text import content_terms

_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s*(?:am|pm)\b|\b(?:noon|midnight)\b", re.I)
_PRICE = re.compile(r"(?:€|£|\$|\b(?:eur|gbp|usd|chf))\s*\d|\d\s*(?:€|£|\$)|\bfree\b", re.I)
_SIZE = re.compile(r"\d\s*(?:m²|m2|sq|square|metres|meters|cm)\b", re.I)
_DISTANCE = re.compile(
    r"\d\s*(?:km|kilometres|kilometers|miles?|m|metres|meters|min|minutes?)\b", re.I
)
_AGE = re.compile(
    r"\b(?:aged?|ages)\s+\d|\b(?:under|over|from)\s+\d{1,2}\b"
    r"|\b\d{1,2}\s+(?:and|or)\s+(?:over|older|above)\b|\b\d{1,2}\s+years?\b|\badults?[- ]only\b",
    re.I,
)
_EXPECTS = {
    "when": _TIME, "time": _TIME, "tim": _TIME, "hour": _TIME, "open": _TIME, "close": _TIME,
    "clos": _TIME, "much": _PRICE, "cost": _PRICE, "price": _PRICE, "pric": _PRICE,
    "fee": _PRICE, "charge": _PRICE, "pay": _PRICE, "free": _PRICE, "big": _SIZE,
    "size": _SIZE, "large": _SIZE, "far": _DISTANCE, "distance": _DISTANCE,
    "kid": _AGE, "kids": _AGE, "child": _AGE, "children": _AGE, "age": _AGE, "old": _AGE,
    "teen": _AGE, "baby": _AGE,
}  # fmt: skip
# "Pay with", "pay by": the guest asks how to pay, not how much (unless the question also
# says "how much", "cost" or "price").
_PAY_METHOD = re.compile(r"\bpay(?:ing)?\s+(?:with|by|in|using|via)\b", re.I)
_PRICE_ASKED = re.compile(r"\bhow much\b|\bcosts?\b|\bprices?\b|\bfees?\b", re.I)


def expected_values(question: str) -> frozenset[re.Pattern[str]]:
    """The patterns of the values ``question`` asks for (empty when it asks for none)."""
    asked = question.lower().replace("?", " ").split()
    expects = {_EXPECTS[w] for w in (*asked, *content_terms(question)) if w in _EXPECTS}
    if _PAY_METHOD.search(question) and not _PRICE_ASKED.search(question):
        expects.discard(_PRICE)  # "can I pay with a card": how, not how much
    return frozenset(expects)
