"""Hybrid search in one SQL statement: vector and full-text rankings fused by reciprocal rank.

Both halves run inside PostgreSQL, scoped to one property's live index version:

- a pool of the ``pool`` nearest chunks is taken first (exact search for small properties,
  the HNSW index with iterative scans for larger ones, as in :mod:`app.search.retriever`);
- the vector half ranks the ``depth`` nearest of them;
- the full-text half ranks the pool's chunks that match an OR query over the question's
  words (the stored ``tsv`` column) by the sum over the question's words of
  ``idf(word) * ts_rank`` (headings weigh more), and keeps the ``depth`` best. PostgreSQL's own
  ranking has no notion of rarity, so "Harbour Mule price" would favour every chunk that says
  "Harbour" or "price"; a BM25 idf counted within the pool fixes that.

Bounding the text half by the pool keeps its cost flat whatever the property's size: ranking
every chunk of a large property that shares a common word with the question cost tens of
milliseconds of database CPU per question. A chunk whose words match but whose meaning is
far from the question (outside the pool) is not found by the text half; with a pool of a few
hundred chunks that is rare, and for small properties the pool is the whole property;
- each chunk scores ``w_vec / (rrf_k + vector rank) + w_text / (rrf_k + text rank)``.

The vector half always yields ``min(depth, chunks)`` rows and ``depth >= k``, so ``k`` rows come
back whenever the property has ``k`` chunks. A full-text-only ranking is the same statement with
``w_vec = 0``: chunks the text query misses then follow in vector order. ``score`` stays the
cosine similarity, which is what the answer threshold is calibrated on.

Parameters: $1 version, $2 query vector, $3 property, $4 rrf_k, $5 vector weight, $6 text
weight, $7 one tsquery text per word (the word OR its synonyms). A chunk matches the text half
when it matches one word's query. The text-search configuration must be the one the ``tsv``
column is generated with (``english``: stems, drops stopwords).

The three row counts (``k``, ``depth``, ``pool``) are written into the statement, not passed:
with every limit known, the plan PostgreSQL makes once for a prepared statement (its generic
plan) costs what a plan made for each call's values costs, so after its first few calls a
connection runs the statement without planning it again (planning was about a fifth of the
statement's database time). A limit passed as a parameter made the generic plan look dearer
(PostgreSQL then assumes a tenth of the rows are wanted), so every call was planned anew.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

from app.search.query import quote_word
from app.text import STOPWORDS

if TYPE_CHECKING:
    from app.db.pool import Connection

# The vector candidates: the ``pool`` nearest chunks, exact or through the HNSW index,
# with their tsvectors (read from the row the scan visits, not looked up again by id).
_CANDIDATES_EXACT = """
    SELECT id, embedding <=> $2 AS distance, tsv FROM {table}
    WHERE version_id = $1 AND property_id = $3
    ORDER BY (embedding <=> $2) + 0
    LIMIT {pool}
"""

_CANDIDATES_ANN = """
    SELECT id, embedding <=> $2 AS distance, tsv FROM {table}
    WHERE version_id = $1 AND property_id = $3
    ORDER BY embedding <=> $2
    LIMIT {pool}
"""

_TEMPLATE = """
WITH cand AS MATERIALIZED ({candidates}),
vec AS (
    -- relaxed_order iterative scans may return rows slightly out of order: rank them again.
    SELECT id, row_number() OVER (ORDER BY distance, id) AS rank
    FROM (SELECT id, distance FROM cand ORDER BY distance, id LIMIT {depth}) nearest
),
pool AS MATERIALIZED (
    -- ``|| ''`` stores each tsvector itself in the CTE, not a pointer to its TOAST copy: the
    -- text half reads every pooled tsvector once per word, and each read was a TOAST lookup.
    SELECT id, tsv || ''::tsvector AS tsv FROM cand
),
-- A word made only of stopwords parses to an empty query, which matches nothing: it is left
-- out where the matches are made (filtering here would parse every word twice).
words AS MATERIALIZED (
    SELECT n, to_tsquery('english', w) AS q
    FROM unnest($7::text[]) WITH ORDINALITY AS u (w, n)
),
-- Each pooled chunk is matched against each word once; the words' document frequencies and
-- the chunks' relevance are both counted from these matches.
matches AS MATERIALIZED (
    SELECT p.id, w.n, ts_rank(p.tsv, w.q) AS rank
    FROM pool p, words w
    WHERE numnode(w.q) > 0 AND p.tsv @@ w.q
),
terms AS (
    SELECT n, ln(1 + ((SELECT count(*) FROM pool)::float8 - count(*) + 0.5) / (count(*) + 0.5))
              AS idf
    FROM matches GROUP BY n
),
txt AS (
    SELECT id, row_number() OVER (ORDER BY relevance DESC, id) AS rank
    FROM (
        SELECT m.id, sum(t.idf * m.rank) AS relevance
        FROM matches m JOIN terms t USING (n)
        GROUP BY m.id
        ORDER BY relevance DESC, m.id
        LIMIT {depth}
    ) matched
),
fused AS (
    SELECT id, sum(weight) AS rrf
    FROM (
        SELECT id, $5::float8 / ($4 + rank) AS weight FROM vec
        UNION ALL
        SELECT id, $6::float8 / ($4 + rank) FROM txt
    ) ranked
    GROUP BY id
),
-- Every fused chunk is a candidate, so its distance is known: only the k best are read.
best AS (
    SELECT f.id, f.rrf, cand.distance
    FROM fused f JOIN cand USING (id)
    ORDER BY f.rrf DESC, cand.distance, f.id
    LIMIT {k}
)
SELECT c.id, d.doc_key, d.title, c.heading, c.text, 1 - b.distance AS score,
       coalesce(d.metadata->>'kind', '') AS kind, c.derived
FROM best b
JOIN {table} c ON c.id = b.id AND c.property_id = $3
JOIN documents d ON d.id = c.document_id
ORDER BY b.rrf DESC, b.distance, c.id
"""


@functools.lru_cache(maxsize=4096)
def hybrid_sql(exact: bool, table: str, k: int, depth: int, pool: int) -> str:
    """The statement reading ``table``: ``chunks``, or the property's own partition, which
    the statements prepared on a connection then keep one cached plan for (a plan for the
    partitioned table is made again at each call). ``table`` is a quoted identifier; ``k``
    rows come back, from the ``depth`` best of each half, over the ``pool`` nearest chunks
    (``k <= depth <= pool``)."""
    if not 1 <= k <= depth <= pool:
        raise ValueError(f"need 1 <= k <= depth <= pool, got {k}, {depth}, {pool}")
    candidates = _CANDIDATES_EXACT if exact else _CANDIDATES_ANN
    sql = _TEMPLATE.replace("{candidates}", candidates)
    for name, value in (("{k}", k), ("{depth}", depth), ("{pool}", pool)):
        sql = sql.replace(name, str(int(value)))
    return sql.replace("{table}", table)


# One letter and the pieces a contraction splits into ("don't" -> "don", "t"), beside the
# words the answer writer ignores: the words a guest's question is likely to hold that the
# text-search configuration may drop as stopwords.
_LIKELY_STOPWORDS = (
    STOPWORDS
    | frozenset("abcdefghijklmnopqrstuvwxyz")
    | frozenset("ll re ve don doesn didn isn aren wasn weren hasn haven hadn won wouldn".split())
    | frozenset("shouldn couldn mustn needn shan mightn ain myself yourself ourselves".split())
)

_DROPPED_SQL = """
SELECT w FROM unnest($1::text[], $2::text[]) AS u (w, q)
WHERE numnode(to_tsquery('english', q)) = 0
"""


async def text_stopwords(
    conn: Connection, candidates: Iterable[str] = _LIKELY_STOPWORDS
) -> frozenset[str]:
    """The ``candidates`` the ``english`` text-search configuration drops (its stopwords), as
    this database's configuration says: the text half parses each word of a question on its
    own (about 13 microseconds a word), and about half of a question's words are stopwords.
    Leaving out only the words the configuration itself drops changes no result."""
    words = sorted(set(candidates))
    rows = await conn.fetch(_DROPPED_SQL, words, [quote_word(w) for w in words])
    return frozenset(r["w"] for r in rows)
