"""A batch's shares: dealt every n-th part, the first on the caller's thread, in order."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from app.embedding.shares import Shares


def test_parts_are_dealt_every_nth_and_come_back_in_share_order() -> None:
    shares = Shares(3, "test-share")
    names: set[str] = set()
    # Every share waits for the others: the three run at once, or the barrier breaks.
    together = threading.Barrier(3, timeout=30)

    def work(share: Sequence[int]) -> list[int]:
        names.add(threading.current_thread().name)
        together.wait()
        return [part * 10 for part in share]

    assert shares.run(list(range(7)), work) == [[0, 30, 60], [10, 40], [20, 50]]
    assert threading.current_thread().name in names
    assert sum(name.startswith("test-share") for name in names) == 2
    # Fewer parts than threads: one share per part.
    assert shares.run([1, 2], lambda share: [part * 10 for part in share]) == [[10], [20]]
    shares.close()


def test_one_share_without_helpers_or_after_close() -> None:
    alone = Shares(1, "test-alone")
    assert alone.run([1, 2, 3], list) == [[1, 2, 3]]
    shared = Shares(2, "test-closed")
    assert shared.run([1, 2, 3], list) == [[1, 3], [2]]
    helpers = [t for t in threading.enumerate() if t.name.startswith("test-closed")]
    assert helpers
    shared.close()
    assert not any(t.is_alive() for t in helpers)
    assert shared.run([1, 2, 3], list) == [[1, 2, 3]]
    shared.close()  # twice is harmless
