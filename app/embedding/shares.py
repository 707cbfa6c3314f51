"""A batch's work spread over threads: the caller's and a small pool of helpers.

Both CPU encoders encode a burst's batch on as many cores as ``RAG_EMBEDDING_RUNS_AT_ONCE``
(ONNX Runtime's sessions and the e5 engine run several calls at once, the GIL released):
the batch's parts are dealt out every n-th to n shares, so that each share gets parts of
every length, and the caller's thread takes the first share itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from app.embedding.priority import lower_thread_priority

Part = TypeVar("Part")
Result = TypeVar("Result")


class Shares:
    """Runs the shares of a batch at once: ``at_once - 1`` helper threads besides the caller,
    ``nice`` steps lower in priority than the thread that starts them (as the model's own)."""

    def __init__(self, at_once: int, thread_name: str, nice: int = 0) -> None:
        self._at_once = at_once
        self._helpers = (
            ThreadPoolExecutor(
                at_once - 1,
                thread_name_prefix=thread_name,
                initializer=lower_thread_priority,
                initargs=(nice,),
            )
            if at_once > 1
            else None
        )

    def run(self, parts: Sequence[Part], work: Callable[[Sequence[Part]], Result]) -> list[Result]:
        """``work`` of each share, in share order: share ``i`` is ``parts[i::len(result)]``
        (a single share, all of ``parts`` on the caller's thread, when there is no helper or
        only one part)."""
        helpers = self._helpers
        count = min(self._at_once, len(parts))
        if helpers is None or count <= 1:
            return [work(parts)]
        helping = [helpers.submit(work, parts[i::count]) for i in range(1, count)]
        first = work(parts[0::count])
        return [first, *(done.result() for done in helping)]

    def close(self) -> None:
        """Stop the helper threads once their shares are done; later batches run on the
        caller's thread alone."""
        helpers, self._helpers = self._helpers, None
        if helpers is not None:
            helpers.shutdown(wait=True)
