"""Settings: one pydantic-settings class, read once from RAG_* variables (or .env), passed down."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every tunable of the service. Environment variables use the ``RAG_`` prefix."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_file=".env", extra="ignore", frozen=True
    )

    # Database: an external URL, or the embedded PostgreSQL in ``data_dir``.
    database_url: SecretStr | None = None
    data_dir: Path = PROJECT_ROOT / ".data"
    database_name: str = "concierge"
    # The embedded server's shared_buffers (from its next start); an external server's own.
    embedded_shared_buffers_mb: int = Field(512, ge=16, le=65536)
    db_pool_min: int = Field(2, ge=1)
    db_pool_max: int = Field(8, ge=1)
    # Opening a new connection, and a search's wait for a busy pool's connection.
    db_acquire_timeout_s: float = Field(2.0, gt=0)
    db_command_timeout_s: float = Field(3.0, gt=0)
    # Guests' searches run at once (at most the pool's size); the rest wait, the request that
    # reached the service first going first (see app.db.turns).
    searches_at_once: int = Field(4, ge=1, le=1000)

    # Embedding model and micro-batcher. "minilm": all-MiniLM-L6-v2 (English); "e5":
    # multilingual-e5-small, 4-bit (questions in any language). Switching is a re-index.
    embedding_model: Literal["minilm", "e5"] = "minilm"
    # A model folder (default: the packaged MiniLM), or a served-model folder with its ONNX
    # graph (python -m app export-model --bundle DIR), which is all the CPU runtime needs.
    embedding_model_path: Path | None = None
    # Recorded with each index version; defaults to the chosen model's name.
    embedding_model_name: str = "all-MiniLM-L6-v2"
    embedding_device: Literal["auto", "cpu", "cuda"] = "auto"
    embedding_threads: int | None = Field(None, ge=1)
    # Runs of a burst's batch encoded at once, each on its own thread of ``embedding_threads``
    # (default: as many as the cores hold, shared among the workers).
    embedding_runs_at_once: int | None = Field(None, ge=1, le=64)
    # Steps of lower scheduling priority (niceness) for the model's threads than the event
    # loop's, so that the event loop runs as soon as it has work (Linux; see
    # app.embedding.priority). 0 keeps them equal.
    model_nice: int = Field(5, ge=0, le=19)
    batch_max_size: int = Field(32, ge=1, le=1024)
    batch_max_wait_ms: float = Field(0.0, ge=0, le=100)
    batch_queue_size: int = Field(256, ge=1)

    # Retrieval.
    top_k: int = Field(5, ge=1, le=50)
    max_top_k: int = Field(20, ge=1, le=100)
    # Exact search reads every chunk of the property; each property's partition has its own
    # HNSW graph (m 32), which costs less database CPU than the exact scan from about 1,000
    # chunks up for a hybrid search (100k-chunk bench, plans kept per connection, database CPU
    # per hybrid search, exact against the index at ef_search 150: 0.88 / 1.28 ms at 778
    # chunks, 1.12 / 1.60 at 898, about even at 930-1,030, 1.95 / 1.82 at 1,107). Exact search
    # also finds every nearest chunk: at 800 the bench's 898-chunk property had recall@5 0.986.
    exact_search_max_chunks: int = Field(1000, ge=0)
    # The graphs are built with m 32, ef_construction 200 (migration ``denser_hnsw``): recall@5
    # on the 100k bench's partitions, each read through its index, is 0.994 or more at 150
    # for up to 5k chunks (0.989 at 100 for 6.9k chunks) and 0.996 or more at 200 above.
    hnsw_ef_search: int = Field(150, ge=10, le=1000)
    # From each size (chunks) up, the ``hnsw.ef_search`` used instead. JSON in the env.
    hnsw_ef_search_by_size: dict[int, int] = {5_000: 200}
    # Seconds, at most, spent after start-up reading every partition's HNSW graph and rows
    # into the database's buffers (largest first; 0: not done). About 0.3 s per 18k chunks.
    search_warm_budget_s: float = Field(30.0, ge=0, le=600)

    # Answers.
    answer_writer: Literal["extractive", "openai", "local"] = "extractive"
    # Cosine similarity below which the extractive writer hands over; unset with e5, the one
    # measured for e5 (see answer_threshold).
    answer_min_score: float = Field(0.16, ge=-1, le=1)
    # Below this similarity a subject word missing from every source means a hand-over.
    answer_confident_score: float = Field(0.50, ge=-1, le=1)
    # Cosine of the model's word vectors at which a word of the sources stands for a missing
    # subject word ("booking" for "reservation"); unset with e5, whose vectors are not
    # calibrated for it (off). The vectors come from ``python -m app prepare``.
    answer_meaning_similarity: float | None = Field(0.65, ge=-1, le=1)
    # Floor for a question over sources in another language (unset: 0.80 with e5; with
    # minilm such questions follow the rules above, its similarities do not carry over).
    answer_min_score_other_languages: float | None = Field(None, ge=-1, le=1)
    answer_max_sentences: int = Field(3, ge=1, le=10)
    # Retrieved sources the extractive writer picks sentences from (the best ones are cited).
    answer_max_sources: int = Field(5, ge=1, le=10)
    # Longest answer text in characters (a quoted sentence past it is cut at a word).
    answer_max_chars: int = Field(1200, ge=100)

    # The clock opening-hours answers are computed at; set only to pin it in tests and demos
    # (an ISO time with its offset, e.g. 2026-07-01T20:15:00+02:00). Off: the real time.
    fixed_clock: datetime | None = None

    # Answer cache.
    cache_max_entries: int = Field(10_000, ge=0)
    cache_ttl_s: float = Field(600.0, gt=0)
    # Size of the cached answers (text, sources) together; 0 = bounded by entries only. An
    # answer weighs about 5 KB (its sources' texts), so 16 MiB holds about 3,000: more distinct
    # questions than a process sees in the ten minutes an answer is kept, short of a load test
    # (whose thousands of distinct questions are never asked twice: every one is a miss).
    cache_max_bytes: int = Field(16 * 1024 * 1024, ge=0)

    # Property registry: NOTIFY keeps it current; the periodic reload is a safety net.
    registry_refresh_s: float = Field(30.0, gt=0)

    # Requests.
    request_timeout_s: float = Field(10.0, gt=0)
    max_question_chars: int = Field(1000, ge=1)
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    retry_after_s: int = Field(1, ge=1)

    # Server.
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Worker processes ``python -m app serve`` starts (its ``--workers``), each with its model.
    workers: int = Field(1, ge=1, le=64)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # Sample data loaded by ``make run`` into an empty database.
    sample_data_dir: Path = PROJECT_ROOT / "data" / "sample"

    # --- ingestion, index versions and the admin API ---
    # ``development`` lets the admin API run without RAG_ADMIN_TOKEN (a fixed local token).
    env: Literal["development", "production"] = "production"
    admin_token: SecretStr | None = None
    admin_max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    # Questions one ask-batch request (and one ``scripts/ingest check``) may carry.
    admin_batch_max_questions: int = Field(50, ge=1, le=1000)
    # Seconds one ask-batch request (and one ``scripts/ingest check``) may take in all; the
    # questions not reached by then are reported as not answered in time.
    admin_batch_timeout_s: float = Field(60.0, gt=0)
    ingest_max_file_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    ingest_embed_batch: int = Field(64, ge=1, le=4096)
    # Reading one file, in a child process at low priority: CPU seconds, memory, and wall
    # seconds (for an upload, the wall time is for all its files together).
    ingest_load_cpu_s: float = Field(15.0, gt=0)
    ingest_load_memory_mb: int = Field(1024, ge=128)
    ingest_load_timeout_s: float = Field(20.0, gt=0)
    # Statements of the staff command (bulk writes of a large file's chunks).
    ingest_command_timeout_s: float = Field(300.0, gt=0)
    # Share of the time the staff command may keep the model busy (lower it on a shared box).
    ingest_duty_cycle: float = Field(1.0, gt=0, le=1)
    # Jobs inside a server: small batches, and the encoder busy at most this share of the time.
    job_embed_batch: int = Field(8, ge=1, le=1024)
    job_duty_cycle: float = Field(0.25, gt=0, le=1)
    job_heartbeat_s: float = Field(2.0, gt=0)
    job_stale_after_s: float = Field(30.0, gt=0)
    # A job whose worker died (no heartbeat) is queued again until it has had this many tries.
    job_max_attempts: int = Field(3, ge=1)
    job_poll_s: float = Field(2.0, gt=0)
    job_worker_enabled: bool = True
    # A retired version is deleted this long after the switch (covers in-flight requests).
    retire_grace_s: float = Field(15.0, ge=0)

    # --- answer writers: LLMs, streaming, fallback, follow-ups ---
    # ``llm_api``: "chat" (chat-completions, for instruct models) or "completions" (a plain
    # prompt, for base models such as the packaged Gemma-3-270M); "auto" picks "completions"
    # for the packaged base model and "chat" otherwise.
    llm_api: Literal["auto", "chat", "completions"] = "auto"
    # The packaged model of the ``local`` writer (RAG_LLM_MODEL_PATH takes any GGUF instead).
    llm_packaged_model: Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "gemma-3-270m"] = (
        "qwen2.5-coder-0.5b"
    )
    llm_base_url: str = "http://127.0.0.1:8080/v1"
    llm_model: str = "default"
    llm_api_key: SecretStr | None = None
    llm_model_path: Path | None = None
    llm_threads: int = Field(1, ge=1)
    llm_context_tokens: int = Field(2048, ge=256)
    llm_max_tokens: int = Field(160, ge=8, le=4096)
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_connect_timeout_s: float = Field(1.0, gt=0)
    llm_ttft_timeout_s: float = Field(4.0, gt=0)
    llm_stall_timeout_s: float = Field(3.0, gt=0)
    llm_total_timeout_s: float = Field(8.0, gt=0)
    llm_retries: int = Field(1, ge=0, le=3)
    llm_max_concurrency: int = Field(4, ge=1)
    llm_queue_wait_s: float = Field(0.5, ge=0)
    llm_breaker_failures: int = Field(3, ge=1)
    llm_breaker_reset_s: float = Field(30.0, gt=0)
    llm_prompt_sources: int = Field(3, ge=1, le=20)
    # What the model is given: "sentences" (the composed answer's sentences, which it only
    # phrases; hand-over is decided without it) or "sources" (whole chunks, which it answers
    # from). "auto": sentences for a chat model in this process, sources for a server.
    llm_context: Literal["auto", "sentences", "sources"] = "auto"
    llm_source_chars: int = Field(1200, ge=100)
    llm_rewrite_timeout_s: float = Field(1.5, gt=0)
    # Follow-up sessions: in PostgreSQL (seen by every worker and replica) or in this process.
    session_store: Literal["postgres", "memory"] = "postgres"
    session_max: int = Field(10_000, ge=1)
    session_turns: int = Field(4, ge=1, le=20)
    session_ttl_s: float = Field(1800.0, gt=0)

    # --- performance ---
    # auto: ONNX Runtime on CPU (exported once into model_cache_dir), torch fp16 on CUDA.
    embedding_backend: Literal["auto", "torch", "onnx"] = "auto"
    # The ONNX graph's arithmetic: int8 (quantised once from the fp32 export,
    # app/embedding/onnx_quantize.py: about half the model CPU of a single question where the
    # CPU has 8-bit dot products; every retrieval nDCG of scripts/eval within 0.003 of fp32's,
    # the classifier's figures unchanged), mixed (the products after a layer norm in 8 bits,
    # the rest fp32: about a sixth less model CPU than fp32 on an AVX2 CPU without those
    # instructions, nDCG within 0.004 of fp32's), fp32 (the reference), or auto: int8 where the
    # CPU has 8-bit dot products, mixed on x86 with AVX2 without them, fp32 elsewhere
    # (app/embedding/cpu_features.py).
    embedding_precision: Literal["auto", "int8", "mixed", "fp32"] = "auto"
    model_cache_dir: Path = PROJECT_ROOT / ".data" / "models"
    # Move start-up objects out of the collector's reach so later collections stay short.
    gc_freeze: bool = True
    # Free memory is handed back to the system once start-up is done and then every this many
    # seconds (glibc's malloc_trim; 0: only at start-up). See app/memory.py.
    malloc_trim_s: float = Field(10.0, ge=0)

    # --- retrieval quality ---
    # How chunks are ranked: "vector", "fulltext" or "hybrid" (both fused by reciprocal rank,
    # in one SQL statement); defaults are the best measured by scripts/eval.
    retrieval_mode: Literal["vector", "fulltext", "hybrid"] = "hybrid"
    rrf_k: int = Field(60, ge=1, le=1000)
    hybrid_depth: int = Field(40, ge=1, le=1000)
    # Nearest chunks whose text the full-text half ranks (its cost is bounded by this; 50
    # ranks the evaluation sets' questions as 100 did, for ~20% less database CPU).
    hybrid_pool: int = Field(50, ge=1, le=5000)
    hybrid_vector_weight: float = Field(1.0, ge=0, le=10)
    hybrid_text_weight: float = Field(0.5, ge=0, le=10)
    query_synonyms: bool = True
    query_rewrite: bool = True
    # Put hotel words in German, French and Spanish into English before searching; unset:
    # on for minilm (English-only), off for e5 (which understands them).
    query_glossary: bool | None = None
    # Full-text weight for questions not in English (the text index is English); unset:
    # hybrid_text_weight for minilm (the glossary gives it English words), 0 for e5.
    hybrid_text_weight_other_languages: float | None = Field(None, ge=0, le=10)
    reranker: Literal["none", "term-overlap"] = "none"
    rerank_depth: int = Field(20, ge=1, le=200)

    # --- shadow mode: a candidate index version beside the live one ---
    # Share of answered questions also answered from the property's candidate version (off
    # the guest's path; 0 = off); the model for candidates another model built; queue bound;
    # runs kept per property.
    shadow_share: float = Field(0.0, ge=0, le=1)
    shadow_model: Literal["minilm", "e5"] | None = None
    shadow_queue: int = Field(64, ge=1, le=10_000)
    shadow_keep: int = Field(1000, ge=1, le=1_000_000)

    # --- widget, observability and logs ---
    # Log lines as JSON objects (one per line) or key=value text; one line per request.
    log_format: Literal["json", "text"] = "json"
    access_log: bool = True
    # Log lines are written by a thread, off the event loop, through a queue of at most this
    # many records (a full queue drops lines rather than delay requests); 0 writes at once.
    log_queue_records: int = Field(2_000, ge=0, le=1_000_000)
    # The writer thread gathers lines this long (or until 64 have gathered) before it writes
    # them; a warning or an error is written at once. Each wake-up costs the thread more than
    # formatting a line.
    log_batch_s: float = Field(0.1, ge=0, le=5)
    # Guests' questions are personal data: only their length is logged unless this is set.
    log_questions: bool = False
    metrics_enabled: bool = True
    # Browsers may reuse /widget.js this long before revalidating it with its ETag.
    widget_max_age_s: int = Field(300, ge=0)

    # --- reliability and security ---
    # Token buckets on /ask, per server process: requests per second and burst; 0 = no limit.
    rate_limit_per_client: float = Field(10.0, ge=0)
    rate_limit_client_burst: int = Field(20, ge=1)
    rate_limit_per_property: float = Field(100.0, ge=0)
    rate_limit_property_burst: int = Field(200, ge=1)
    rate_limit_max_keys: int = Field(100_000, ge=1)
    # Take the client address from X-Forwarded-For (only behind a proxy that sets it).
    trust_proxy_headers: bool = False
    # Comma-separated widget origins allowed by CORS ("*" for any); empty = no CORS headers.
    cors_origins: str = ""
    # Seconds a client may take to send its request body (408 past it).
    body_timeout_s: float = Field(10.0, gt=0)
    # Connections (app/api/connections.py): seconds to send the request line and headers
    # (from connecting, or from the previous response); their size; seconds a client may
    # take none of a reply's bytes; open connections (kept below the descriptor limit).
    header_timeout_s: float = Field(10.0, gt=0)
    max_header_bytes: int = Field(32 * 1024, ge=1024)
    send_timeout_s: float = Field(15.0, gt=0)
    max_connections: int = Field(1000, ge=1)
    # Seconds an idle keep-alive connection stays open after a response.
    keep_alive_s: float = Field(5.0, gt=0)
    # Seconds between keep-alive comments (``: ping``) on an answer stream (``/ask`` and
    # ``/v1/chat/completions`` with ``"stream": true``), so proxies do not close a quiet one.
    stream_ping_s: float = Field(15.0, gt=0)

    # --- requests, safety and hand-over to staff ---
    # Classify each message; requests, complaints and safety messages become staff tasks.
    requests_enabled: bool = True
    # Said to guests in emergencies unless the knowledge base names another number.
    emergency_number: str = Field("112", pattern=r"^\+?[0-9 ]{2,20}$")
    classifier_cache_entries: int = Field(10_000, ge=0)
    # "auto": with minilm (English only), messages the language detector reads as another
    # language are classified with e5 (loaded at the first one: ~22 MiB, ~10 ms of CPU per
    # such message); "off": every message on the main model.
    classifier_multilingual: Literal["off", "auto"] = "auto"
    # Optional webhook for each new task (Slack-style JSON with a "text" field), signed with
    # HMAC-SHA256 of "<timestamp>.<body>" in X-Concierge-Signature when a secret is set.
    task_webhook_url: str | None = None
    task_webhook_secret: SecretStr | None = None
    task_webhook_max_attempts: int = Field(5, ge=1, le=20)
    task_webhook_backoff_s: float = Field(0.5, gt=0)
    task_webhook_timeout_s: float = Field(5.0, gt=0)
    task_webhook_queue: int = Field(1000, ge=1)
    # Live task streams (/admin/tasks/stream) per process, and their keep-alive interval.
    task_stream_max: int = Field(200, ge=1)
    task_stream_heartbeat_s: float = Field(15.0, gt=0)
    # Hand-overs and ratings (masked) are kept this long; the recorder's queue is bounded.
    signals_retention_days: float = Field(90.0, gt=0)
    signals_queue: int = Field(1000, ge=1)

    @field_validator("hnsw_ef_search_by_size")
    @classmethod
    def _check_ef_search_by_size(cls, value: dict[int, int]) -> dict[int, int]:
        if any(size < 0 or not 10 <= ef <= 1000 for size, ef in value.items()):
            raise ValueError("sizes must be >= 0 and ef_search values between 10 and 1000")
        return value

    @property
    def embedding_name(self) -> str:
        """The model's name as index versions record it."""
        if self.embedding_model == "e5" and "embedding_model_name" not in self.model_fields_set:
            return "multilingual-e5-small-q4"
        return self.embedding_model_name

    @property
    def glossary(self) -> bool:
        """Whether questions' hotel words in other languages are put in English."""
        if self.query_glossary is not None:
            return self.query_glossary
        return self.embedding_model == "minilm"

    @property
    def other_language_text_weight(self) -> float | None:
        """The full-text weight for questions not in English (None: the same as English)."""
        if self.hybrid_text_weight_other_languages is not None:
            return self.hybrid_text_weight_other_languages
        return 0.0 if self.embedding_model == "e5" else None

    @property
    def answer_threshold(self) -> float:
        """``answer_min_score`` if set, else the threshold measured for the chosen model.

        e5's similarities sit much higher than MiniLM's (unrelated texts score about 0.7), so
        one number cannot serve both.
        """
        if self.embedding_model == "e5" and "answer_min_score" not in self.model_fields_set:
            return E5_ANSWER_MIN_SCORE
        return self.answer_min_score

    @property
    def answer_other_language_threshold(self) -> float | None:
        """The similarity floor for a question over sources in another language, if any."""
        if self.answer_min_score_other_languages is not None:
            return self.answer_min_score_other_languages
        return E5_OTHER_LANGUAGE_MIN_SCORE if self.embedding_model == "e5" else None

    @property
    def answer_confident_threshold(self) -> float:
        """``answer_confident_score`` if set, else the one for the chosen model."""
        if self.embedding_model == "e5" and "answer_confident_score" not in self.model_fields_set:
            return E5_ANSWER_CONFIDENT_SCORE
        return self.answer_confident_score

    @property
    def answer_meaning_threshold(self) -> float | None:
        """``answer_meaning_similarity`` for minilm or when set; None (off) for e5 otherwise."""
        if (
            self.embedding_model == "e5"
            and "answer_meaning_similarity" not in self.model_fields_set
        ):
            return None
        return self.answer_meaning_similarity

    @property
    def classifier_similarities(self) -> tuple[float, float]:
        """The message classifier's (vote, safety) similarity floors for the chosen model.

        Similarities are taken between language-centred vectors (app/tasks/centres.py), so
        both models sit on a similar scale. Chosen on the ``held_out`` messages, the examples
        scored leave-one-out (data/eval/messages.jsonl) and, for e5, how few of the retrieval
        questions (data/eval/questions.jsonl) become tasks; never on ``blind2``. MiniLM keeps
        a low vote floor: above it, safety messages in other languages are missed.
        """
        return classifier_floors(self.embedding_model)[:2]

    @property
    def classifier_task_similarity(self) -> float:
        """How similar a request, complaint or small-talk example must be for the classifier's
        vote to make a task or a desk reply instead of an answer (between centred vectors).

        Chosen on the ``held_out`` messages, the examples scored leave-one-out and the
        retrieval sets' questions (all information questions; ``scripts/eval`` prints how many
        go to the desk): MiniLM sent 42 of the 196 hotel questions and 261 of the 598
        multilingual ones to the desk without it; for e5 a floor above 0.30 costs
        leave-one-out request recall.
        """
        return classifier_floors(self.embedding_model)[2]

    @property
    def classifier_second_model(self) -> Literal["e5"] | None:
        """The model that classifies messages not in English, when it is not the main one."""
        if self.classifier_multilingual == "auto" and self.embedding_model == "minilm":
            return "e5"
        return None

    @property
    def model_threads(self) -> int:
        """Threads for the embedding model: leave a core for the event loop and PostgreSQL."""
        if self.embedding_threads is not None:
            return self.embedding_threads
        cores = os.cpu_count() or 1
        return max(1, cores // 2)

    @property
    def model_runs_at_once(self) -> int:
        """Runs of a batch encoded at once: a burst's batch takes this worker's share of the
        cores, since the event loop and PostgreSQL wait for its questions meanwhile."""
        if self.embedding_runs_at_once is not None:
            return self.embedding_runs_at_once
        return max(1, (os.cpu_count() or 1) // (self.model_threads * self.workers))


# Measured by scripts/eval (the answer-step sweep) on the public questions with e5.
E5_ANSWER_MIN_SCORE = 0.83
# MiniLM's confident similarity (0.50) mapped onto e5's scale the same way.
E5_ANSWER_CONFIDENT_SCORE = 0.87
# e5 across languages: answerable translated questions' best source scored 0.78-0.83 at the
# 10th percentile, unanswerable ones 0.80-0.86 at the 90th (scripts/eval --languages).
E5_OTHER_LANGUAGE_MIN_SCORE = 0.80


def classifier_floors(model: str) -> tuple[float, float, float]:
    """The classifier's (vote, safety, task) similarity floors measured for ``model``."""
    return (0.30, 0.55, 0.30) if model == "e5" else (0.20, 0.55, 0.35)


def get_settings() -> Settings:
    """Read the settings from the environment (call once, at the edge of the program)."""
    return Settings()
