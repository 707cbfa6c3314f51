"""The embedded PostgreSQL stops with the last live process using it, even when another one
that used it was killed without running its exit handlers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ATTACH = (
    "import sys, time; from pathlib import Path; from app.db.server import embedded_server; "
    "server = embedded_server(Path(sys.argv[1])); print(server.get_pid(), flush=True); "
    "time.sleep(float(sys.argv[2]))"
)


def attach(data_dir: Path, stay_s: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", ATTACH, str(data_dir), str(stay_s)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_user_does_not_keep_the_server_running(tmp_path: Path) -> None:
    with attach(tmp_path, 120) as killed:
        assert killed.stdout is not None
        postmaster = int(killed.stdout.readline())
        killed.send_signal(signal.SIGKILL)
    try:
        with attach(tmp_path, 0) as last:
            assert last.stdout is not None
            assert int(last.stdout.readline()) == postmaster  # the same server
        assert last.returncode == 0
        deadline = time.monotonic() + 30
        while running(postmaster):
            assert time.monotonic() < deadline, "the server outlived its last user"
            time.sleep(0.1)
        assert json.loads((tmp_path / "pg" / ".handle_pids.json").read_text()) == []
    finally:
        if running(postmaster):
            os.kill(postmaster, signal.SIGTERM)


SHOW = (
    "import sys; from pathlib import Path; from app.db.server import embedded_server; "
    "server = embedded_server(Path(sys.argv[1]), int(sys.argv[2])); "
    "print(server.psql('SHOW shared_buffers').split()[2], flush=True)"
)


def test_shared_buffers_apply_from_the_next_start(tmp_path: Path) -> None:
    def shared_buffers(mb: int) -> str:
        done = subprocess.run(
            [sys.executable, "-c", SHOW, str(tmp_path), str(mb)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout.strip()

    assert shared_buffers(48) == "128MB"  # a new data folder starts with the default
    assert shared_buffers(48) == "48MB"
