"""The model's threads yield the cores to the event loop: a lower scheduling priority.

Every question passes through the one event-loop thread (its HTTP, its search statements, its
composed answer), while the model's threads encode whole batches. Under load the event loop was
runnable nearly all the time and waited for a core about a third of it, behind the model's
threads and PostgreSQL. A model thread a few steps nicer (Linux niceness is per thread) lets the
event loop run as soon as it has work; the batches fill the rest (``RAG_MODEL_NICE``; measured in
the README's performance section). Lowering a thread's priority needs no privilege; elsewhere
than Linux, where niceness is per process, nothing is changed.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)

MAX_NICE = 19


def lower_thread_priority(steps: int) -> None:
    """Make the calling thread ``steps`` nicer than the process's main thread (at most 19),
    whatever thread started it (a new thread inherits its starter's niceness); a thread
    already that nice is left as it is, as on other systems than Linux, or when ``steps`` is 0."""
    if steps <= 0 or not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        target = min(MAX_NICE, os.getpriority(os.PRIO_PROCESS, os.getpid()) + steps)
        if os.getpriority(os.PRIO_PROCESS, thread) < target:
            os.setpriority(os.PRIO_PROCESS, thread, target)
    except OSError as exc:  # a sandbox that forbids it: the thread keeps its priority
        log.debug("the thread's priority could not be lowered: %s", exc)
