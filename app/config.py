"""Settings: one pydantic-settings class, read once from RAG_* variables (or .env), passed down."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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
    db_pool_min: int = Field(2, ge=1)
    db_pool_max: int = Field(8, ge=1)
    db_acquire_timeout_s: float = Field(2.0, gt=0)
    db_command_timeout_s: float = Field(3.0, gt=0)

    # Embedding model and micro-batcher.
    embedding_model_path: Path | None = None
    embedding_model_name: str = "all-MiniLM-L6-v2"
    embedding_device: Literal["auto", "cpu", "cuda"] = "auto"
    embedding_threads: int | None = Field(None, ge=1)
    batch_max_size: int = Field(32, ge=1, le=1024)
    batch_max_wait_ms: float = Field(0.0, ge=0, le=100)
    batch_queue_size: int = Field(256, ge=1)

    # Retrieval.
    top_k: int = Field(5, ge=1, le=50)
    max_top_k: int = Field(20, ge=1, le=100)
    exact_search_max_chunks: int = Field(20_000, ge=0)
    hnsw_ef_search: int = Field(100, ge=10, le=1000)

    # Answers.
    answer_writer: Literal["extractive"] = "extractive"
    answer_min_score: float = Field(0.30, ge=-1, le=1)
    answer_max_sentences: int = Field(3, ge=1, le=10)
    answer_max_sources: int = Field(3, ge=1, le=10)

    # Answer cache.
    cache_max_entries: int = Field(10_000, ge=0)
    cache_ttl_s: float = Field(600.0, gt=0)

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
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # Sample data loaded by ``make run`` into an empty database.
    sample_data_dir: Path = PROJECT_ROOT / "data" / "sample"

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

    @cached_property
    def model_threads(self) -> int:
        """Threads for the embedding model: leave a core for the event loop and PostgreSQL."""
        if self.embedding_threads is not None:
            return self.embedding_threads
        cores = os.cpu_count() or 1
        return max(1, cores // 2)


def get_settings() -> Settings:
    """Read the settings from the environment (call once, at the edge of the program)."""
    return Settings()
