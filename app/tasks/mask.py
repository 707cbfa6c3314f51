"""Personal data out of stored guest text: e-mail addresses, phone numbers, card-like numbers
and room numbers become placeholders (rooms are kept only inside tasks, where staff need them)."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 13 to 19 digits, optionally grouped by spaces or dashes: card-like.
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
# A phone number: 7 or more digits with the usual separators, optionally with a leading +.
_PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d ()./-]{5,}\d(?![\w])")
_ROOM = re.compile(
    r"\b(room|rm|zimmer|chambre|habitaci[oó]n|suite)(\s*(?:no\.?|nr\.?|number|n[uú]mero)?\s*#?\s*)"
    r"\d{1,5}[a-z]?\b",
    re.IGNORECASE,
)


def mask(text: str) -> str:
    """``text`` with e-mails, card-like numbers, phone numbers and room numbers replaced."""
    text = _EMAIL.sub("[email]", text)
    text = _CARD.sub("[card]", text)
    text = _PHONE.sub(lambda m: "[phone]" if _digits(m.group()) >= 7 else m.group(), text)
    return _ROOM.sub(lambda m: f"{m.group(1)}{m.group(2)}[room]", text)


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)
