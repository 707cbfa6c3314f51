"""What every language-model backend offers: a prompt in, a stream of text pieces out."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

PromptStyle = Literal["chat", "completions"]


class LLMError(Exception):
    """The model could not produce an answer. ``reason`` is a short stable name for logs and
    the response's ``fallback_reason``; ``retryable`` says whether a new attempt may help."""

    def __init__(self, reason: str, detail: str = "", retryable: bool = False) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt in the form the backend's API takes: chat messages, or one completion text."""

    style: PromptStyle
    messages: tuple[tuple[str, str], ...] = ()
    text: str = ""
    stop: tuple[str, ...] = ()


class LLMBackend(Protocol):
    """A language model reachable from the event loop.

    ``generate`` yields text pieces as they are produced; closing the iterator early (the
    guest left, a timeout fired) must stop the generation and release its connection or thread.
    Failures are raised as :class:`LLMError`.
    """

    name: str
    style: PromptStyle

    def generate(self, prompt: Prompt, max_tokens: int) -> AsyncGenerator[str, None]: ...

    async def aclose(self) -> None: ...


def chat_payload(messages: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """Messages in the OpenAI wire format."""
    return [{"role": role, "content": content} for role, content in messages]
