"""How transport failures of the OpenAI-compatible backend are named (and whether a retry may
help), with the transport replaced by one that fails on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from app.answering.llm.backend import LLMError, Prompt
from app.answering.llm.openai_compat import OpenAICompatibleBackend

PROMPT = Prompt("chat", messages=(("user", "When is check-out?"),))


@pytest.mark.parametrize(
    ("error", "reason", "retryable"),
    [
        (httpx.ConnectError("refused"), "unreachable", True),
        (httpx.ConnectTimeout("no answer to SYN"), "unreachable", True),
        (httpx.ReadTimeout("slow"), "timeout", False),
        (httpx.RemoteProtocolError("garbled"), "transport_error", False),
    ],
)
async def test_transport_failures_are_named(
    error: httpx.HTTPError, reason: str, retryable: bool
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    client = httpx.AsyncClient(base_url="http://llm/v1/", transport=httpx.MockTransport(fail))
    backend = OpenAICompatibleBackend(client, "model", "chat")
    try:
        with pytest.raises(LLMError) as raised:
            async for _ in backend.generate(PROMPT, 16):
                pass
    finally:
        await backend.aclose()
    assert raised.value.reason == reason
    assert raised.value.retryable is retryable


class _EndlessBody(httpx.AsyncByteStream):
    """An error page that never ends (a misbehaving proxy)."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            self.sent += 1
            yield b"x" * 65536
            await asyncio.sleep(0.001)


async def test_an_error_status_fails_at_once_without_reading_the_body() -> None:
    body = _EndlessBody()

    def error_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, stream=body)

    transport = httpx.MockTransport(error_page)
    backend = OpenAICompatibleBackend(
        httpx.AsyncClient(base_url="http://llm/v1/", transport=transport), "model", "chat"
    )

    async def drain() -> None:
        async with asyncio.timeout(2):
            async for _ in backend.generate(PROMPT, 16):
                pass

    try:
        with pytest.raises(LLMError) as raised:
            await drain()
    finally:
        await backend.aclose()
    assert raised.value.reason == "http_error"
    assert raised.value.retryable is True
    assert body.sent <= 1
