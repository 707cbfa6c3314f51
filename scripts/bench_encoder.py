"""Model CPU per question and closeness to the fp32 graph, for ONNX graphs of the model.

For each graph: CPU time of the encoding thread per question at batch 1 and at batch 32 (runs
of eight, sorted by length, as the service encodes), two rounds each over distinct bench
questions, and the cosine of its vectors to the fp32 export's over 800 bench questions and over
the public sets' documents (one vector per section, so up to the model's 256 tokens)::

    PYTHONPATH=scripts .venv/bin/python scripts/bench_encoder.py \\
        .data/models/all-MiniLM-L6-v2-*-int8-smooth-b128.onnx other.onnx
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from benchlib.corpus_text import questions

from app.config import PROJECT_ROOT, Settings
from app.embedding.encoder import default_model_path
from app.embedding.onnx_encoder import OnnxEncoder
from app.embedding.onnx_export import onnx_model_file


def documents() -> list[str]:
    """The sections of the public sets' documents, each of some length."""
    files = sorted((PROJECT_ROOT / "data").glob("**/*.md"))
    sections = [s for f in files for s in f.read_text().split("\n## ")]
    return [s for s in sections if len(s) > 200]


def per_question_ms(encoder: OnnxEncoder, texts: list[str], batch: int) -> float:
    encoder.encode(texts[:batch])
    began = time.thread_time()
    for start in range(0, len(texts), batch):
        encoder.encode(texts[start : start + batch])
    return (time.thread_time() - began) * 1000 / len(texts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("graphs", nargs="+", type=Path)
    args = parser.parse_args()
    model = default_model_path()
    settings = Settings()
    fp32 = onnx_model_file(model, settings.model_cache_dir, settings.embedding_name)
    asked = [q for _, q in itertools.islice(questions([f"p{i}" for i in range(50)], 7), 2000)]
    docs = documents()
    reference = OnnxEncoder(fp32, model, 1, "fp32")
    ref_questions, ref_docs = reference.encode(asked[:800]), reference.encode(docs)
    for graph in args.graphs:
        encoder = OnnxEncoder(graph, model, 1, graph.stem, runs_at_once=1)
        on_questions = np.sum(encoder.encode(asked[:800]) * ref_questions, axis=1)
        on_docs = np.sum(encoder.encode(docs) * ref_docs, axis=1)
        single = [per_question_ms(encoder, asked[800:1000], 1) for _ in range(2)]
        batched = [per_question_ms(encoder, asked[1000:1960], 32) for _ in range(2)]
        print(
            f"{graph.name}: batch 1 {single[0]:.2f} / {single[1]:.2f} ms, batch 32 "
            f"{batched[0]:.2f} / {batched[1]:.2f} ms per question; cosine to fp32: questions "
            f"{on_questions.mean():.5f} (worst {on_questions.min():.5f}), {len(docs)} document "
            f"sections {on_docs.mean():.5f} (worst {on_docs.min():.5f})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
