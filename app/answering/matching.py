"""Whether the question's words are found in the sources, allowing typos and misheard words.

Guests type "chek in tme" and speech recognition writes "is there a pull" or "why fi". A
question word counts as found in a source's vocabulary when it is there as such (after the
light stemming of :func:`app.text.content_terms`), when a word there is spelled almost the
same (edit similarity), or when both sound alike (a small consonant key: "gem"/"gym",
"sana"/"sauna", "weak"/"wake"). Two adjacent question words also match one source word
written together ("why fi" → "wifi", "glue ten" → "gluten"), and a word the first part of
a compound the hotel writes as one ("roof" → "rooftop"), another form of the same word (most
of the shorter one a common beginning: "teenagers" → "teens"), and a four-letter word the short form
of a name the hotel writes in two capitalised words ("amex" → "American Express").
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from app.reading import WORD, text_words
from app.search import spelling
from app.search.query import query_groups, rewrite
from app.text import COMPOUNDS, STOPWORDS, content_terms

_VOWELS = frozenset("aeiouyàáâäèéêëìíîïòóôöùúûü")
_DIGRAPHS = (("sch", "sk"), ("ph", "f"), ("ck", "k"), ("th", "t"), ("gh", "g"), ("wh", "w"),
             ("qu", "kw"), ("kn", "n"))  # fmt: skip
_SIMILAR = 80.0  # rapidfuzz ratio for "spelled almost the same"
# Two adjacent capitalised words (a name such as "American Express"); the lookahead lets
# pairs overlap ("Hochtal Card" in "Hochtal Card Office").
_NAME_PAIR = re.compile(r"\b([A-Z][a-z]+)\s+(?=([A-Z][a-z]+)\b)")
_MIN_FUZZY_CHARS = 4
_SHORT_FORM_CHARS = 4  # "amex": two letters of each word of a name
_COMPOUND_REST = 4  # letters a compound may add to a guest's word ("roof" + "top")
# Two forms of one word: both at least this long, sharing this much of the shorter one, the
# longer adding at most this many letters after their common beginning.
_FORM_CHARS = 5
_FORM_SHARE = 0.8
_FORM_REST = 4


@lru_cache(maxsize=65536)
def sound_key(word: str) -> str:
    """Consonant skeleton of a word: soft c/g, digraphs and voiced pairs folded, vowels
    (after the first letter) and doubled letters dropped."""
    w = word.lower()
    for old, new in _DIGRAPHS:
        w = w.replace(old, new)
    out: list[str] = []
    for i, ch in enumerate(w):
        nxt = w[i + 1] if i + 1 < len(w) else ""
        if ch == "c":
            ch = "s" if nxt in ("e", "i", "y") else "k"
        elif ch == "g":
            ch = "j" if nxt in ("e", "i", "y") else "k"
        elif ch in "qx":
            ch = "k"
        elif ch == "z":
            ch = "s"
        elif ch == "v":
            ch = "f"
        elif ch == "d":
            ch = "t"
        elif ch == "b":
            ch = "p"
        if i > 0 and (ch in _VOWELS or ch in "hw"):
            continue
        if out and out[-1] == ch:
            continue
        out.append(ch)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _FuzzyIndex:
    """The words of some texts long enough for a fuzzy lookup, in alphabetical order (the
    words a prefix begins are one run of them), and the words of each sound key."""

    listed: list[str]
    keys: dict[str, list[str]]

    @classmethod
    def of(cls, parts: Sequence[frozenset[str]]) -> _FuzzyIndex:
        listed = sorted([w for w in frozenset().union(*parts) if len(w) >= 3])
        keys: dict[str, list[str]] = {}
        for word in listed:
            key = sound_key(word)
            if len(key) >= 2:
                alike = keys.get(key)
                if alike is None:
                    keys[key] = [word]
                else:
                    alike.append(word)
        return cls(listed, keys)

    def begun(self, prefix: str) -> list[str]:
        """The listed words that begin with ``prefix``."""
        listed = self.listed
        out = []
        for i in range(bisect.bisect_left(listed, prefix), len(listed)):
            word = listed[i]
            if not word.startswith(prefix):
                break
            out.append(word)
        return out


def _short_forms(text: str) -> dict[str, str]:
    """The names of two capitalised words of a text by their short form, the first two letters
    of each ("amex": "american express")."""
    short: dict[str, str] = {}
    for first, second in _NAME_PAIR.findall(text):
        short.setdefault((first[:2] + second[:2]).lower(), f"{first.lower()} {second.lower()}")
    return short


class Vocabulary:
    """The words of some sources, for exact, fuzzy and sound-alike lookups.

    Each text's words are read once (and kept for the next question over the same chunk); the
    index for fuzzy and sound-alike lookups is built over all the texts' words on the first
    lookup that needs it (most questions find most of their words as such), and a lookup is
    remembered for the next lookup of the same term.
    """

    __slots__ = ("_index", "_matched", "_parts", "_short", "_texts")

    def __init__(self, texts: Sequence[str], parts: Sequence[frozenset[str]] | None = None) -> None:
        self._texts = texts
        self._parts = [text_words(t) for t in texts] if parts is None else parts
        self._matched: dict[str, set[str]] = {}
        self._index: _FuzzyIndex | None = None
        self._short: list[dict[str, str]] | None = None

    @classmethod
    def of(cls, texts: Iterable[str]) -> Vocabulary:
        return cls(list(dict.fromkeys(texts)))

    @classmethod
    def of_kept(cls, texts: Iterable[tuple[str, str | None]]) -> Vocabulary:
        """The vocabulary of texts, each with its kept form (None: read from the text)."""
        unique = dict(texts)
        return cls(list(unique), [text_words(t, d) for t, d in unique.items()])

    def has(self, term: str) -> bool:
        """True when ``term`` (a content term) is in the vocabulary, maybe misspelt or
        misheard."""
        return bool(self.matches(term))

    def matches(self, term: str) -> set[str]:
        """The vocabulary's words that ``term`` stands for (itself, a near spelling or a
        sound-alike)."""
        found = self._matched.get(term)
        if found is None:
            found = self._matched[term] = self._lookup(term)
        return found

    def widen(self, term: str, words: Iterable[str]) -> None:
        """Let ``term`` also stand for ``words`` (of the same meaning, found otherwise)."""
        self._matched[term] = self.matches(term) | set(words)

    def _lookup(self, term: str) -> set[str]:
        if any(term in part for part in self._parts):
            return {term}
        if len(term) < 3 or term.isdigit():
            return set()
        out: set[str] = set()
        index = self._index
        if index is None:
            index = self._index = _FuzzyIndex.of(self._parts)
        if len(term) == _SHORT_FORM_CHARS:
            if self._short is None:
                self._short = [_short_forms(t) for t in self._texts]
            for short in self._short:
                out.update(_words(short.get(term)))
        if len(term) >= _MIN_FUZZY_CHARS:
            near = {
                word: score
                for word, score, _ in process.extract(
                    term, index.listed, scorer=fuzz.ratio, score_cutoff=_SIMILAR, limit=None
                )
            }
            # The nearest three; among equally near words, alphabetically (not in the
            # order of a set, which differs from one process to the next).
            out.update(sorted(near, key=lambda word: (-near[word], word))[:3])
            # The first part of a compound the hotel writes as one word ("roof": "rooftop").
            out.update(w for w in index.begun(term) if len(w) - len(term) <= _COMPOUND_REST)
            # Another form of the same word: most of the shorter one is a common beginning
            # ("teenagers": "teens"; not "haircut": "hair", a word of its own).
            if len(term) >= _FORM_CHARS:
                out.update(w for w in index.begun(term[:4]) if _same_beginning(term, w))
        key = sound_key(term)
        if len(key) >= 2:
            out.update(index.keys.get(key, ()))
        return out


def _words(joined: str | None) -> list[str]:
    """The words of a name kept as one string (none for None)."""
    return joined.split(" ") if joined else []


def _same_beginning(a: str, b: str) -> bool:
    """Whether two words of at least five letters share a beginning of at least four letters
    that is most of the shorter one, the longer adding no more than an ending ("terrace" and
    "terraceheated", two words run together, are not one)."""
    shorter = min(len(a), len(b))
    if shorter < _FORM_CHARS or a[:4] != b[:4]:
        return False
    common = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), shorter)
    return common >= _FORM_SHARE * shorter and max(len(a), len(b)) - common <= _FORM_REST


# Words that frame a guest's question rather than name its subject: whether the hotel's
# text repeats them says nothing about whether it answers ("how much", "what time", "near").
FRAME_WORDS = frozenset(
    """much price pric cost time tim hour open close clos near nearby far nice ok okay
    possible want need come go see use somewhere someone someth anyth anywhere work good best
    way get have do does allow available where when what which who how many long big small
    includ day night person people per week today tomorrow tonight ask book wanna like
    dont cant wont doesnt isnt arent didnt problem place round around offer provide grab find
    outside inside take
    ist gibt eine ein der die das den dem sind kann man wann wie was bitte
    les une des du pour quelle quel atil est il elle avez vous
    los las una hay que qué cuál cual para tiene tienen hotel""".split()
)
_MIN_TERM_CHARS = 3


@dataclass(frozen=True, slots=True)
class QuestionTerms:
    """The question's subject terms, each with the words that may stand for it."""

    groups: tuple[tuple[str, ...], ...]
    raw: tuple[str, ...]


def question_terms(question: str) -> QuestionTerms:
    """Subject terms of a question (frame words and stopwords out), spelling variants and
    translated hotel words unified, each widened by its hotel synonyms (read again once the
    spelling lists are ready when they were not)."""
    return _question_terms(question, spelling.ready())


@lru_cache(maxsize=1024)
def _question_terms(question: str, corrected: bool) -> QuestionTerms:
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for group in query_groups(question):
        head = content_terms(group[0].replace("-", ""))
        if not head or head[0] in FRAME_WORDS or head[0] in seen or head[0].isdigit():
            continue
        if len(head[0]) < _MIN_TERM_CHARS or _misspelt_stopword(head[0]):
            continue
        seen.add(head[0])
        alternatives = [head[0]] + [t for w in group[1:] for t in content_terms(w)]
        groups.append(tuple(dict.fromkeys(alternatives)))
    # "check in" is one subject ("checkin"), not "check" (which check-out shares).
    for compound in (t for t in content_terms(rewrite(question)) if t in COMPOUNDS):
        groups = [g for g in groups if not (compound.startswith(g[0]) or compound.endswith(g[0]))]
        groups.append((compound,))
    raw = tuple(w.lower() for w in WORD.findall(rewrite(question)))
    return QuestionTerms(tuple(groups), raw)


def _misspelt_stopword(word: str) -> bool:
    """ "ther", "wat": a short word that is a typo of a stopword frames the question too. A
    typo keeps the first letter and drops or swaps letters rather than adding one: "hat" and
    "wash" are words of their own, not "what" and "was" misspelt."""
    if len(word) > 5 or not word:
        return False
    alike = [w for w in _STOPS_BY_LETTER.get(word[0], []) if len(w) >= len(word)]
    return process.extractOne(word, alike, scorer=fuzz.ratio, score_cutoff=85) is not None


_STOPS_BY_LETTER: dict[str, list[str]] = {}
for _stop in sorted(w for w in STOPWORDS if len(w) >= 3):
    _STOPS_BY_LETTER.setdefault(_stop[0], []).append(_stop)


def coverage(question: str, vocabulary: Vocabulary) -> tuple[float, list[str]]:
    """Share of the question's subject terms found in ``vocabulary``, and the ones missing.

    Adjacent words found together as one word ("why fi" → "wifi") count as found. A question
    with no subject term at all ("when?") counts as fully covered.
    """
    terms = question_terms(question)
    if not terms.groups:
        return 1.0, []
    found = {g[0] for g in terms.groups if any(vocabulary.has(t) for t in g)}
    heads = {g[0] for g in terms.groups}
    raw = list(terms.raw)
    for a, b in itertools.pairwise(raw):
        if (a in STOPWORDS and b in STOPWORDS) or (a in found and b in found):
            continue
        # Looked up only when it would find a subject word still missing.
        said = [t for w in (a, b) for t in content_terms(w)]
        if any(t in heads and t not in found for t in said) and vocabulary.has(a + b):
            found.update(said)
    missing = [g[0] for g in terms.groups if g[0] not in found]
    return 1 - len(missing) / len(terms.groups), missing


# Words that open a phrase about the circumstances of a question ("a massage after the
# flight", "a quiet place to work on my laptop") rather than the thing asked about.
_PREPOSITIONS = frozenset(
    "after before during on for in at with from near outside inside by until".split()
)
_PHRASE_WORDS = 3  # words after a preposition that belong to its phrase


def circumstantial(question: str, terms: Sequence[str]) -> bool:
    """Whether every one of ``terms`` (subject terms of ``question``) is said in a phrase
    that a preposition opens: the circumstances of the question, not what it asks about."""
    raw = question_terms(question).raw
    inside: set[str] = set()
    for i, word in enumerate(raw):
        if word in _PREPOSITIONS:
            for after in raw[i + 1 : i + 1 + _PHRASE_WORDS]:
                inside.update(content_terms(after))
    return all(term in inside for term in terms)
