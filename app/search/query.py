"""Guest questions prepared for search: spelling variants unified, words for full-text search.

Guests type "wifi pw" or dictate "why fi password"; hotels write "Wi-Fi password". Two steps
close that gap without touching what the guest sees:

- :func:`rewrite` replaces a few well-known spelling and voice-input variants of hotel words
  and puts misspelt English words right (:mod:`app.search.spelling`),
  and (for the English-only model, ``glossary=True``) hotel words written in German, French
  or Spanish, with the word the knowledge base uses (applied to the text that is embedded and
  to the text searched). The multilingual model needs no glossary: measured, it matches
  questions in those languages and four more without one;
- :func:`term_queries` turns the question into an OR query per word for
  PostgreSQL full-text search, each word widened by its hotel-vocabulary synonyms. Guests'
  questions have many words and few of them appear in the answer, so AND semantics
  (``websearch_to_tsquery``) would find nothing for most questions; OR, ranked by each
  word's rarity (:mod:`app.search.hybrid`), rewards chunks that share the rarest words.

The query text is built from words matched by ``[^\\W_]+`` (hyphens kept inside a word),
each quoted for ``to_tsquery``, so no guest input can inject tsquery operators.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from app.search import spelling

# Spelling and voice-input variants of hotel words -> the word hotels write. Each variant is
# a whole word or a phrase of up to three words (separated by spaces in the guest's text).
VARIANTS: dict[str, tuple[str, ...]] = {
    "wifi": ("wi fi", "wi-fi", "why fi", "why-fi", "wlan"),
    "password": ("pw", "pwd", "passwd"),
    "check-in": ("check kin", "check-kin", "checkkin", "checkin"),
    "check-out": ("checkout",),
    "night": ("nite",),
    "hours": ("hr", "hrs"),
    "half board": ("halfboard",),
    "jet ski": ("jetski",),
}

# Hotel words in the languages guests most often write in (German, French, Spanish) -> the
# English word the knowledge base uses. all-MiniLM-L6-v2 is English-only, so "wann ist
# frühstück" is far from "Breakfast" until the key word is translated; the rest of the
# question stays. Not used with the multilingual model.
GLOSSARY: dict[str, tuple[str, ...]] = {
    "breakfast": ("frühstück", "petit-déjeuner", "petit déjeuner", "desayuno"),
    "lunch": ("mittagessen", "almuerzo"),
    "dinner": ("abendessen", "dîner", "cena"),
    "restaurant": ("restaurante",),
    "menu": ("speisekarte", "carta"),
    "pool": ("schwimmbad", "hallenbad", "piscine", "piscina"),
    "parking": ("parkplatz", "parkhaus", "tiefgarage", "stationnement", "aparcamiento"),
    "dogs": ("hunde", "chiens", "perros"),
    "dog": ("hund", "chien", "perro"),
    "pets": ("haustiere", "haustier", "animaux", "mascotas", "mascota"),
    "password": ("passwort", "kennwort", "mot de passe", "contraseña", "clave"),
    "free": ("kostenlos", "gratuit", "gratuite", "gratis", "gratuito"),
    "room": ("zimmer", "chambre", "habitación"),
    "towels": ("handtücher", "serviettes", "toallas"),
    "kids club": ("kinderclub", "kids-club", "club enfants", "club infantil", "miniclub"),
    "children": ("kinder", "enfants", "niños"),
    "shuttle": ("navette", "lanzadera"),
    "ski pass": ("skipass", "forfait", "forfait de ski"),
    "slopes": ("pisten", "pistes", "pistas"),
    "reception": ("rezeption", "réception", "recepción"),
    "check-in": ("anreise", "arrivée", "llegada"),
    "check-out": ("abreise", "départ", "salida"),
    "airport": ("flughafen", "aéroport", "aeropuerto"),
    "station": ("bahnhof", "gare", "estación"),
    "beach": ("strand", "plage", "playa"),
    "gym": ("fitnessstudio", "fitnessraum", "salle de sport", "gimnasio"),
    "laundry": ("wäscherei", "blanchisserie", "lavandería"),
    "luggage": ("gepäck", "bagages", "equipaje", "maletas"),
    "all inclusive": ("all-inklusive", "tout compris", "tout inclus", "todo incluido"),
    "price": ("preis", "kosten", "prix", "tarif", "precio"),
    "time": ("uhrzeit", "heure", "hora"),
    "when": ("wann", "quand", "cuándo"),
    "where": ("wo", "où", "dónde"),
    "allowed": ("erlaubt", "autorisé", "autorisés", "permitido", "permitidos"),
    "buy": ("kaufen", "acheter", "comprar"),
    "open": ("geöffnet", "ouvert", "abierto"),
    "key": ("schlüssel", "clé", "llave"),
    "lift": ("aufzug", "ascenseur", "ascensor"),
    "doctor": ("arzt", "médecin", "médico"),
    "cancellation": ("stornierung", "annulation", "cancelación"),
}


def _phrases(*tables: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {
        variant: word
        for table in tables
        for word, variants in table.items()
        for variant in variants
    }


_PHRASES = {True: _phrases(VARIANTS, GLOSSARY), False: _phrases(VARIANTS)}
_LONGEST_PHRASE = max(len(p.split(" ")) for p in _PHRASES[True])
_FIRST_WORDS = {flag: frozenset(p.split(" ")[0] for p in table) for flag, table in _PHRASES.items()}

# Hotel vocabulary: a guest's word -> words the hotel's text may use for the same thing.
# Used only to widen the full-text query (the embedding already knows most of these).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "wifi": ("internet", "wireless", "network"),
    "internet": ("wifi",),
    "online": ("wifi", "internet"),
    "password": ("network", "code"),
    "check-in": ("arrival", "arrive"),
    "check-out": ("departure", "depart"),
    "late": ("arrival",),
    "bike": ("bicycle", "cycle"),
    "bicycle": ("bike",),
    "bags": ("luggage", "baggage"),
    "bag": ("luggage", "baggage"),
    "suitcase": ("luggage",),
    "luggage": ("baggage", "bags"),
    "car": ("parking", "garage"),
    "park": ("parking",),
    "garage": ("parking",),
    "dog": ("pet", "dogs"),
    "dogs": ("pet", "dog"),
    "pup": ("dog", "pet"),
    "puppy": ("dog", "pet"),
    "cat": ("pet",),
    "pets": ("dog", "pet"),
    "gym": ("fitness",),
    "fitness": ("gym",),
    "workout": ("fitness", "gym"),
    "swim": ("pool",),
    "swimming": ("pool",),
    "massage": ("spa", "treatment"),
    "drink": ("bar", "cocktail"),
    "drinks": ("bar", "cocktail"),
    "cocktail": ("bar",),
    "eat": ("restaurant", "menu", "dinner"),
    "food": ("restaurant", "menu"),
    "dinner": ("restaurant",),
    "lunch": ("restaurant",),
    "vegan": ("vegetarian", "plant"),
    "kids": ("children", "child"),
    "kid": ("children", "child"),
    "children": ("kids",),
    "baby": ("cot", "infant"),
    "cash": ("atm",),
    "atm": ("cash",),
    "doctor": ("medical", "nurse"),
    "laundry": ("washing", "ironing"),
    "iron": ("ironing", "pressing"),
    "wash": ("laundry", "washing"),
    "taxi": ("transfer", "shuttle"),
    "airport": ("transfer", "flight"),
    "train": ("station", "railway"),
    "wheelchair": ("accessible", "accessibility"),
    "accessible": ("accessibility", "wheelchair"),
    "stairs": ("lift", "elevator"),
    "elevator": ("lift",),
    "lift": ("elevator",),
    "smoke": ("smoking",),
    "cancel": ("cancellation",),
    "tax": ("fee", "levy"),
    "cost": ("price", "fee"),
    "price": ("cost", "fee"),
    "amex": ("card", "payment"),
    "pay": ("payment", "card"),
    "towel": ("towels",),
    "towels": ("towel",),
}

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_TOKEN = re.compile(r"[\w]+(?:-[\w]+)*")
_QUESTION_LIMIT = 64  # words: guest questions are short; this bounds the query's size


def normalise(question: str) -> str:
    """NFKC, case-folded, apostrophes unified, single spaces."""
    text = unicodedata.normalize("NFKC", question).casefold().replace("’", "'")
    return " ".join(text.split())


def rewrite(question: str, glossary: bool = True) -> str:
    """The normalised question with known spelling and voice-input variants replaced, and
    with ``glossary`` hotel words in German, French and Spanish put in English.

    Memoised (bounded): one request rewrites its question for the embedding and again for
    the full-text query. A question rewritten before the spelling lists were ready is
    rewritten again once they are. A long question is rewritten each time, so the memo stays
    within about a megabyte.
    """
    if len(question) > MEMO_QUESTION_CHARS:
        return _rewrite.__wrapped__(question, glossary, spelling.ready())
    return _rewrite(question, glossary, spelling.ready())


# Questions longer than this are rare and seldom asked again word for word: not remembered.
MEMO_QUESTION_CHARS = 500


@lru_cache(maxsize=1024)
def _rewrite(question: str, glossary: bool, corrected: bool) -> str:
    phrases, first_words = _PHRASES[glossary], _FIRST_WORDS[glossary]
    text = normalise(question)
    spans = [m.span() for m in _TOKEN.finditer(text)]
    out: list[str] = []
    done = 0  # text[:done] is in ``out``
    i = 0
    while i < len(spans):
        if text[spans[i][0] : spans[i][1]] not in first_words:
            i += 1
            continue
        for n in range(min(_LONGEST_PHRASE, len(spans) - i), 0, -1):
            start, end = spans[i][0], spans[i + n - 1][1]
            phrase = text[start:end]
            if n > 1:  # words of a phrase are separated by single spaces only
                gaps = (text[spans[j][1] : spans[j + 1][0]] for j in range(i, i + n - 1))
                if any(gap != " " for gap in gaps):
                    continue
            word = phrases.get(phrase)
            if word is not None:
                out += [text[done:start], word]
                done = end
                i += n
                break
        else:
            i += 1
    out.append(text[done:])
    return spelling.corrected("".join(out))


def query_groups(
    question: str, synonyms: bool = True, variants: bool = True, glossary: bool = True
) -> list[list[str]]:
    """One group per distinct word of the question: the word, then its synonyms.

    With ``variants`` the question is first passed through :func:`rewrite`.
    """
    text = rewrite(question, glossary) if variants else normalise(question)
    words = dict.fromkeys(_WORD.findall(text)[:_QUESTION_LIMIT])
    # A corrected word keeps the guest's spelling too: it may be a name the hotel writes.
    typed = {right: wrong for wrong, right in spelling.corrections(normalise(question)).items()}
    return [
        [w, *(SYNONYMS.get(w, ()) if synonyms else ()), *([typed[w]] if w in typed else [])]
        for w in words
    ]


def quote_word(word: str) -> str:
    """``word`` as one quoted operand of a ``to_tsquery`` text."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def term_queries(
    question: str,
    synonyms: bool = True,
    variants: bool = True,
    glossary: bool = True,
    ignored: frozenset[str] = frozenset(),
) -> list[str]:
    """``to_tsquery`` text per word of the question, ORing the word with its synonyms.

    Each is weighted by its rarity in the property, so a dish name outweighs "price".
    Words in ``ignored`` are left out (a word left with nothing is dropped): the words the
    text-search configuration drops itself, which need not be sent and parsed to be dropped.
    """
    groups = query_groups(question, synonyms, variants, glossary)
    kept = ([w for w in group if w not in ignored] for group in groups)
    return [" | ".join(quote_word(w) for w in group) for group in kept if group]
