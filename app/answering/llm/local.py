"""An in-process model through llama-cpp-python, for a fully offline concierge.

The model runs on one dedicated thread with its own thread count, so it never blocks the event
loop nor competes with the embedder's thread; a ``Llama`` object must not be used by two
threads at once, and one thread guarantees that. Requests queue for that thread (the writer
bounds how many may wait). Tokens cross to the event loop through ``call_soon_threadsafe``;
closing the iterator sets a flag that the thread checks after each token, so a guest who leaves
stops the generation within one token.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from app.answering.llm.backend import LLMError, Prompt, PromptStyle, chat_payload

_END = object()


class LocalBackend:
    """Generates with a GGUF model loaded in this process."""

    name = "local"

    def __init__(self, llama: Any, style: PromptStyle, temperature: float = 0.0) -> None:
        self._llama = llama
        self.style = style
        self._temperature = temperature
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm")

    @classmethod
    def load(
        cls, model_path: Path, style: PromptStyle, threads: int, context_tokens: int
    ) -> LocalBackend:
        """Load the model (blocking, about half a second for the packaged one)."""
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # the optional extra is not installed
            raise RuntimeError(
                "the local writer needs llama-cpp-python: run scripts/setup (installs '.[llm]')"
            ) from exc
        llama = Llama(
            model_path=str(model_path),
            n_threads=threads,
            n_threads_batch=threads,
            n_ctx=context_tokens,
            logits_all=False,
            verbose=False,
        )
        # The first evaluation allocates the compute buffers: pay for it here, not in an answer.
        llama.create_completion("Hello", max_tokens=1, temperature=0.0)
        llama.reset()  # type: ignore[no-untyped-call]
        return cls(llama, style)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._thread.shutdown, wait=True, cancel_futures=True)
        llama, self._llama = self._llama, None
        close = getattr(llama, "close", None)
        if close is not None:
            close()  # frees the model now rather than at interpreter exit

    def _pieces(self, prompt: Prompt, max_tokens: int) -> Iterator[str]:
        if self._llama is None:
            raise LLMError("closed", "the model is closed")
        common: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": self._temperature,
            "stop": list(prompt.stop) or None,
            "stream": True,
        }
        if prompt.style == "chat":
            for chunk in self._llama.create_chat_completion(
                messages=chat_payload(prompt.messages), **common
            ):
                content = chunk["choices"][0].get("delta", {}).get("content")
                if content:
                    yield content
        else:
            for chunk in self._llama.create_completion(prompt.text, **common):
                text = chunk["choices"][0].get("text")
                if text:
                    yield text

    def _run(
        self,
        prompt: Prompt,
        max_tokens: int,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[object],
        stop: threading.Event,
    ) -> None:
        # Runs on the model thread; every result goes back through the loop.
        try:
            if stop.is_set():
                return
            pieces = self._pieces(prompt, max_tokens)
            try:
                for piece in pieces:
                    loop.call_soon_threadsafe(queue.put_nowait, piece)
                    if stop.is_set():
                        break
            finally:
                close = getattr(pieces, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            error = exc if isinstance(exc, LLMError) else LLMError("model_error", repr(exc)[:200])
            loop.call_soon_threadsafe(queue.put_nowait, error)
        finally:
            # A closed loop means nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, _END)

    async def generate(self, prompt: Prompt, max_tokens: int) -> AsyncGenerator[str, None]:
        """Yield the pieces generated on the model thread."""
        loop = asyncio.get_running_loop()
        # Unbounded is safe here: at most ``max_tokens`` pieces plus two markers.
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()
        try:
            future = loop.run_in_executor(
                self._thread, self._run, prompt, max_tokens, loop, queue, stop
            )
        except RuntimeError as exc:  # executor shut down
            raise LLMError("closed", str(exc)) from exc
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, LLMError):
                    raise item
                assert isinstance(item, str)
                yield item
            await future
        finally:
            # Early exit (timeout, disconnect): the thread stops after its current token.
            stop.set()
