"""Hybrid search in one SQL statement: vector and full-text rankings fused by reciprocal rank.

Both halves run inside PostgreSQL, scoped to one property's live index version:

- the vector half takes the ``depth`` nearest chunks (exact search for small properties, the
  HNSW index with iterative scans for larger ones, as in :mod:`app.retrieval`);
- the full-text half takes the ``depth`` best chunks for an OR query over the question's
  words (the stored, GIN-indexed ``tsv`` column), ranked by the sum over the question's words
  of ``idf(word) * ts_rank`` (headings weigh more). PostgreSQL's own ranking has no notion of
  rarity, so "Harbour Mule price" would favour every chunk that says "Harbour" or "price";
  the BM25 idf, counted in the property's live version through the GIN index, fixes that;
- each chunk scores ``w_vec / (rrf_k + vector rank) + w_text / (rrf_k + text rank)``.

The vector half always yields ``min(depth, chunks)`` rows and ``depth >= k``, so ``k`` rows come
back whenever the property has ``k`` chunks. A full-text-only ranking is the same statement with
``w_vec = 0``: chunks the text query misses then follow in vector order. ``score`` stays the
cosine similarity, which is what the answer threshold is calibrated on.

Parameters: $1 version, $2 query vector, $3 k, $4 property, $5 tsquery text, $6 depth,
$7 rrf_k, $8 vector weight, $9 text weight, $10 one tsquery text per word (the word OR its
synonyms), $11 the version's chunk count. The query's text-search configuration must be the
one the ``tsv`` column is generated with (``english``: stems, drops stopwords).
"""

from __future__ import annotations

from typing import Literal

_VECTOR_EXACT = """
    SELECT id, row_number() OVER (ORDER BY distance) AS rank
    FROM (
        SELECT id, embedding <=> $2 AS distance FROM chunks
        WHERE version_id = $1 AND property_id = $4
        ORDER BY (embedding <=> $2) + 0
        LIMIT $6
    ) nearest
"""

# relaxed_order iterative scans may return rows slightly out of order: rank them again.
_VECTOR_ANN = """
    SELECT id, row_number() OVER (ORDER BY distance) AS rank
    FROM (
        SELECT id, embedding <=> $2 AS distance FROM chunks
        WHERE version_id = $1 AND property_id = $4
        ORDER BY embedding <=> $2
        LIMIT $6
    ) nearest
"""

_TEMPLATE = """
WITH query AS (
    SELECT to_tsquery('english', $5) AS q
),
terms AS MATERIALIZED (
    SELECT t.q, ln(1 + (greatest($11::float8, d.df) - d.df + 0.5) / (d.df + 0.5)) AS idf
    FROM (SELECT to_tsquery('english', w) AS q FROM unnest($10::text[]) w) t,
    LATERAL (
        SELECT count(*) AS df FROM chunks c
        WHERE c.version_id = $1 AND c.property_id = $4 AND c.tsv @@ t.q
    ) d
    WHERE numnode(t.q) > 0
),
vec AS ({vector}),
txt AS (
    SELECT id, row_number() OVER (ORDER BY relevance DESC, id) AS rank
    FROM (
        SELECT c.id, sum(t.idf * ts_rank(c.tsv, t.q)) AS relevance
        FROM chunks c, query, terms t
        WHERE c.version_id = $1 AND c.property_id = $4 AND c.tsv @@ query.q AND c.tsv @@ t.q
        GROUP BY c.id
        ORDER BY relevance DESC, c.id
        LIMIT $6
    ) matched
),
fused AS (
    SELECT id, sum(weight) AS rrf
    FROM (
        SELECT id, $8::float8 / ($7 + rank) AS weight FROM vec
        UNION ALL
        SELECT id, $9::float8 / ($7 + rank) FROM txt
    ) ranked
    GROUP BY id
)
SELECT c.id, d.doc_key, d.title, c.heading, c.text, 1 - (c.embedding <=> $2) AS score
FROM fused f
JOIN chunks c ON c.id = f.id
JOIN documents d ON d.id = c.document_id
WHERE c.version_id = $1 AND c.property_id = $4
ORDER BY f.rrf DESC, score DESC, c.id
LIMIT $3
"""

HYBRID_EXACT_SQL = _TEMPLATE.format(vector=_VECTOR_EXACT)
HYBRID_ANN_SQL = _TEMPLATE.format(vector=_VECTOR_ANN)

RetrievalMode = Literal["vector", "fulltext", "hybrid"]
