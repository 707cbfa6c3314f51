"""Query preparation: variants unified, synonyms added, tsquery text always safely quoted."""

from __future__ import annotations

from app.query import fulltext_query, query_words, rewrite


def test_rewrite_unifies_voice_and_spelling_variants() -> None:
    assert rewrite("What is the WHY FI pw?") == "what is the wifi password?"
    assert rewrite("check kin time") == "check-in time"
    assert rewrite("Wi-Fi   password") == "wifi password"
    # only whole words: "shower" keeps its "hr"-free spelling, "happy hr" becomes hours
    assert rewrite("happy hr, shower") == "happy hours, shower"


def test_query_words_add_hotel_synonyms_once() -> None:
    words = query_words("somewhere to leave my bike? bike")
    assert words.count("bike") == 1
    assert {"bicycle", "cycle"} <= set(words)
    assert "bicycle" not in query_words("bike", synonyms=False)


def test_fulltext_query_ors_quoted_words() -> None:
    assert fulltext_query("wifi pw", synonyms=False) == "'wifi' | 'password'"


def test_fulltext_query_cannot_inject_operators() -> None:
    text = fulltext_query("it's a & b | !c <-> d:* \\ 'x'", synonyms=False)
    # only runs of letters and digits survive, each quoted: no operator reaches to_tsquery
    assert text == "'it' | 's' | 'a' | 'b' | 'c' | 'd' | 'x'"
    assert fulltext_query("?!...", synonyms=False) == ""


def test_fulltext_query_keeps_non_english_letters() -> None:
    assert fulltext_query("Tiroler Gröstl", synonyms=False) == "'tiroler' | 'gröstl'"


def test_hotel_words_in_other_languages_are_translated() -> None:
    assert rewrite("Wann ist Frühstück?") == "when ist breakfast?"
    assert rewrite("mot de passe wifi") == "password wifi"
    assert rewrite("¿cuál es la contraseña del wifi?") == "¿cuál es la password del wifi?"
    # whole words only: "wo" inside "world" or "two" is left alone
    assert rewrite("two worlds") == "two worlds"


def test_variants_can_be_switched_off() -> None:
    assert fulltext_query("why fi pw", synonyms=False, variants=False) == "'why' | 'fi' | 'pw'"
    assert fulltext_query("why fi pw", synonyms=False) == "'wifi' | 'password'"
