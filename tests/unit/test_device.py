"""Embedding device selection, and the CUDA path where a GPU is present."""

from __future__ import annotations

import os

import numpy as np
import pytest

from app.config import Settings
from app.embedding.encoder import load_encoder, select_device


def test_auto_prefers_cuda_when_available() -> None:
    assert select_device("auto", lambda: True) == "cuda"
    assert select_device("auto", lambda: False) == "cpu"


def test_cpu_is_honoured_without_probing_cuda() -> None:
    def probe() -> bool:
        raise AssertionError("must not probe CUDA when cpu is requested")

    assert select_device("cpu", probe) == "cpu"


def test_requesting_cuda_without_a_device_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no CUDA device"):
        select_device("cuda", lambda: False)


def test_unknown_device_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown device"):
        select_device("tpu", lambda: False)


def test_model_threads_leave_a_core_free() -> None:
    assert Settings(embedding_threads=3).model_threads == 3
    assert Settings().model_threads >= 1


def test_a_burst_is_encoded_on_every_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert Settings().model_threads == 1
    assert Settings().model_runs_at_once == 2
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert (Settings().model_threads, Settings().model_runs_at_once) == (4, 2)
    assert Settings(embedding_threads=1).model_runs_at_once == 8
    assert Settings(embedding_runs_at_once=1).model_runs_at_once == 1
    # Workers share the cores: four of one model thread on eight cores take two each.
    assert Settings(embedding_threads=1, workers=4).model_runs_at_once == 2
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert Settings(workers=2).model_runs_at_once == 1
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert (Settings().model_threads, Settings().model_runs_at_once) == (1, 1)


def test_a_copy_with_other_threads_derives_its_own_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    first = Settings()
    assert (first.model_threads, first.model_runs_at_once) == (4, 2)
    copy = first.model_copy(update={"embedding_threads": 2})
    assert (copy.model_threads, copy.model_runs_at_once) == (2, 4)
    pinned = first.model_copy(update={"embedding_threads": 1, "embedding_runs_at_once": 1})
    assert (pinned.model_threads, pinned.model_runs_at_once) == (1, 1)


@pytest.mark.gpu
def test_cuda_encoder_matches_cpu_vectors() -> None:
    gpu = load_encoder(Settings(embedding_device="cuda"))
    cpu = load_encoder(Settings(embedding_device="cpu"))
    texts = ["What time is check-out?", "Is there parking?"]
    cosine = np.sum(gpu.encode(texts) * cpu.encode(texts), axis=1)
    assert gpu.device == "cuda"
    assert np.all(cosine > 0.999)
