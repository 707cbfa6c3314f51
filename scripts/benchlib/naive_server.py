"""The baseline: /ask built the way the slow prototypes were, run in the same benchmark.

The model is called inside the async handler (the event loop stalls for every encode, nothing
is batched), torch uses its default thread count, every request opens a new database
connection and looks the property up before searching, and nothing is cached. The search SQL,
the answer writer and the response shape are the service's own, so the comparison isolates
design. Run as ``python -m benchlib.naive_server`` with ``NAIVE_DATABASE_URL`` and
``NAIVE_PORT`` set by the harness.
"""

from __future__ import annotations

import os
import time
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pgvector.asyncpg import register_vector
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer

from app.answering.extractive import ExtractiveWriter
from app.answering.types import number_sources
from app.embedding.encoder import default_model_path
from app.search.retriever import nearest_sql
from app.search.types import Hit

DATABASE_URL = os.environ["NAIVE_DATABASE_URL"]
model = SentenceTransformer(str(default_model_path()), device="cpu")
writer = ExtractiveWriter(0.30)
app = FastAPI()


class Ask(BaseModel):
    property_id: str
    question: str
    top_k: int = 5


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/ask")
async def ask(body: Ask) -> Any:
    t0 = time.perf_counter()
    vector = model.encode([body.question], normalize_embeddings=True)[0]
    t1 = time.perf_counter()
    conn = await asyncpg.connect(
        DATABASE_URL,
        server_settings={"hnsw.ef_search": "100", "hnsw.iterative_scan": "relaxed_order"},
    )
    try:
        await register_vector(conn)
        version = await conn.fetchval(
            "SELECT live_version FROM properties WHERE id = $1", body.property_id
        )
        if version is None:
            return JSONResponse({"error": "unknown property"}, status_code=404)
        rows = await conn.fetch(
            nearest_sql(False, "chunks", body.top_k), version, vector, body.property_id
        )
    finally:
        await conn.close()
    t2 = time.perf_counter()
    hits = [
        Hit(r["id"], r["doc_key"], r["title"], r["heading"], r["text"], float(r["score"]))
        for r in rows
    ]
    sources = number_sources(hits)
    answer = await writer.write(body.question, sources)
    t3 = time.perf_counter()
    return {
        "answer": answer.text,
        "sources": [
            {
                "n": s.n,
                "document_id": s.hit.document_id,
                "title": s.hit.title,
                "chunk_id": s.hit.chunk_id,
                "score": s.hit.score,
                "text": s.hit.text,
            }
            for s in sources
        ],
        "cached": False,
        "timings_ms": {
            "embed": (t1 - t0) * 1000,
            "search": (t2 - t1) * 1000,
            "answer": (t3 - t2) * 1000,
            "total": (t3 - t0) * 1000,
        },
    }


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["NAIVE_PORT"]), log_level="warning")
