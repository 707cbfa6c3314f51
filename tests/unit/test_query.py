"""Query preparation: variants unified, synonyms added, tsquery text always safely quoted."""

from __future__ import annotations

from app.search.query import query_groups, rewrite, term_queries


def test_rewrite_unifies_voice_and_spelling_variants() -> None:
    assert rewrite("What is the WHY FI pw?") == "what is the wifi password?"
    assert rewrite("check kin time") == "check-in time"
    assert rewrite("Wi-Fi   password") == "wifi password"
    # only whole words: "shower" keeps its "hr"-free spelling, "happy hr" becomes hours
    assert rewrite("happy hr, shower") == "happy hours, shower"


def test_query_groups_add_hotel_synonyms_once() -> None:
    groups = query_groups("somewhere to leave my bike? bike")
    bike = [g for g in groups if g[0] == "bike"]
    assert len(bike) == 1
    assert {"bicycle", "cycle"} <= set(bike[0])
    assert query_groups("bike", synonyms=False) == [["bike"]]


def test_term_queries_or_a_word_with_its_synonyms_quoted() -> None:
    assert term_queries("wifi pw", synonyms=False) == ["'wifi'", "'password'"]
    assert term_queries("bike")[0].startswith("'bike' | 'bicycle'")


def test_term_queries_cannot_inject_operators() -> None:
    queries = term_queries("it's a & b | !c <-> d:* \\ 'x'", synonyms=False)
    # only runs of letters and digits survive, each quoted: no operator reaches to_tsquery
    assert queries == ["'it'", "'s'", "'a'", "'b'", "'c'", "'d'", "'x'"]
    assert term_queries("?!...", synonyms=False) == []


def test_term_queries_keep_non_english_letters() -> None:
    assert term_queries("Tiroler Gröstl", synonyms=False) == ["'tiroler'", "'gröstl'"]


def test_hotel_words_in_other_languages_are_translated() -> None:
    assert rewrite("Wann ist Frühstück?") == "when ist breakfast?"
    assert rewrite("mot de passe wifi") == "password wifi"
    assert rewrite("¿cuál es la contraseña del wifi?") == "¿cuál es la password del wifi?"
    # whole words only: "wo" inside "world" or "two" is left alone
    assert rewrite("two worlds") == "two worlds"


def test_variants_can_be_switched_off() -> None:
    assert term_queries("why fi pw", synonyms=False, variants=False) == ["'why'", "'fi'", "'pw'"]
    assert term_queries("why fi pw", synonyms=False) == ["'wifi'", "'password'"]


def test_ignored_words_are_left_out_and_a_group_left_empty_is_dropped() -> None:
    ignored = frozenset({"the", "at", "bicycle"})
    queries = term_queries("the bike at night", ignored=ignored)
    assert queries[0].startswith("'bike'")
    assert "'bicycle'" not in queries[0]
    assert queries[1:] == ["'night'"]
    assert term_queries("the at", ignored=ignored) == []
