"""Settings as an operator meets them: a one-line error naming the variable, a busy port named
before the model loads, and a ``.env.example`` and README that cannot drift from the class."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from app.config import PROJECT_ROOT, Settings
from app.preflight import check_port
from app.settings_env import ENV_EXAMPLE, SettingsError, env_example, load_settings, variable


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=PROJECT_ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_bad_value_names_the_variable_and_the_accepted_values() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(embedding_device="gpu", batch_max_size=0)
    assert str(caught.value) == (
        "RAG_EMBEDDING_DEVICE='gpu' is not accepted: one of auto, cpu, cuda; "
        "RAG_BATCH_MAX_SIZE=0 is not accepted: a whole number >= 1 and <= 1024"
    )


def test_a_secret_is_never_echoed() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(admin_token=["hunter2"])
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("RAG_ADMIN_TOKEN=(secret) is not accepted")


def test_serve_with_a_bad_setting_prints_one_line_not_a_traceback() -> None:
    done = _run("serve", RAG_EMBEDDING_DEVICE="gpu")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: RAG_EMBEDDING_DEVICE='gpu' is not accepted: one of auto, cpu, cuda"
    ]


def test_check_port_names_rag_port_when_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            SettingsError, match=f"port {port} on 127.0.0.1 is already in use.*RAG_PORT"
        ):
            check_port("127.0.0.1", port)
    check_port("127.0.0.1", port)  # free again


def test_serve_on_a_busy_port_stops_before_loading_the_model() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.perf_counter()
        done = _run("serve", RAG_PORT=str(port))
        elapsed = time.perf_counter() - started
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: port {port} on 127.0.0.1 is already in use")
    assert f"RAG_PORT={port + 1}" in line
    assert elapsed < 20  # the model (seconds to load) was never touched


def test_env_example_is_generated_from_the_settings_class() -> None:
    assert ENV_EXAMPLE.read_text() == env_example(), (
        ".env.example is out of date: python -m app env-example > .env.example"
    )
    for name in Settings.model_fields:
        assert f"# {variable(name)}=" in ENV_EXAMPLE.read_text()


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    missing = [variable(n) for n in Settings.model_fields if variable(n) not in readme]
    assert missing == []
