"""SIGTERM after a shutdown (uvicorn re-raises it) still writes the lines queued for the log."""

from __future__ import annotations

import signal
import subprocess
import sys

from app.config import PROJECT_ROOT

SCRIPT = """
import logging, signal
from app.config import Settings
from app.observability.logs import configure_logging

configure_logging(Settings(log_format="text", log_queue_records=10_000))
log = logging.getLogger("concierge.test")
for n in range(5_000):
    log.warning("line %d", n)
log.warning("Application shutdown complete.")
signal.raise_signal(signal.SIGTERM)
"""


def test_sigterm_writes_the_queued_lines_before_the_process_ends() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=PROJECT_ROOT, capture_output=True, timeout=60
    )
    err = done.stderr.decode(errors="replace")
    assert done.returncode == -signal.SIGTERM, err[-2000:]
    lines = err.splitlines()
    assert len(lines) == 5_001, err[-2000:]
    assert lines[-1].endswith("Application shutdown complete.")
