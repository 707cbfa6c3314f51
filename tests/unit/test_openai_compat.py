"""How transport failures of the OpenAI-compatible backend are named (and whether a retry may
help), with the transport replaced by one that fails on purpose."""

from __future__ import annotations

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
