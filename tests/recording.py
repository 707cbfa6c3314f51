"""A text stream that remembers which thread wrote each piece, for the logging tests."""

from __future__ import annotations

import io
import threading


class ThreadRecordingStream(io.StringIO):
    """A ``StringIO`` whose ``writers`` lists the name of the thread behind every write."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: list[str] = []

    def write(self, text: str) -> int:
        self.writers.append(threading.current_thread().name)
        return super().write(text)
