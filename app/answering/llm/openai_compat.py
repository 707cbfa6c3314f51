"""A backend for any OpenAI-compatible server (vLLM, llama.cpp, Ollama, TGI, hosted APIs).

Requests always stream (``"stream": true``) so that the first token can be timed and shown at
once; the server-sent events are parsed line by line. One ``httpx.AsyncClient`` with a bounded
connection pool is shared by every request. Leaving the iterator early closes the response,
which closes the connection and makes the server stop generating.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import httpx
import orjson

from app.answering.llm.backend import LLMError, Prompt, PromptStyle, chat_payload


class OpenAICompatibleBackend:
    """Streams chat or text completions from ``base_url`` (which ends in ``/v1``)."""

    name = "openai"

    def __init__(
        self,
        client: httpx.AsyncClient,
        model: str,
        style: PromptStyle,
        temperature: float = 0.0,
    ) -> None:
        self._client = client
        self._model = model
        self.style = style
        self._temperature = temperature

    @classmethod
    def create(
        cls,
        base_url: str,
        model: str,
        style: PromptStyle,
        *,
        api_key: str | None = None,
        connect_timeout_s: float = 1.0,
        read_timeout_s: float = 10.0,
        max_connections: int = 8,
        temperature: float = 0.0,
    ) -> OpenAICompatibleBackend:
        """A backend with its own client: bounded pool, connect and read timeouts."""
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s, pool=1.0),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )
        return cls(client, model, style, temperature)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _request(self, prompt: Prompt, max_tokens: int) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": self._model,
            "max_tokens": max_tokens,
            "temperature": self._temperature,
            "stream": True,
        }
        if prompt.stop:
            body["stop"] = list(prompt.stop)
        if prompt.style == "chat":
            body["messages"] = chat_payload(prompt.messages)
            return "chat/completions", body
        body["prompt"] = prompt.text
        return "completions", body

    async def generate(self, prompt: Prompt, max_tokens: int) -> AsyncGenerator[str, None]:
        """Yield the text pieces of one streamed completion."""
        path, body = self._request(prompt, max_tokens)
        try:
            async with self._client.stream("POST", path, json=body) as response:
                if response.status_code != 200:
                    # Its body is not read: an error page can be of any size, or never end.
                    raise LLMError(
                        "http_error",
                        f"status {response.status_code}",
                        retryable=response.status_code >= 500 or response.status_code == 429,
                    )
                finished = False
                async for line in response.aiter_lines():
                    piece, end = _parse_event_line(line)
                    if piece:
                        yield piece
                    if end:
                        finished = True
                        break
                if not finished:
                    raise LLMError("incomplete_stream", "the stream ended without [DONE]")
        # ConnectTimeout is a TimeoutException too: the server was never reached, so first.
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise LLMError("unreachable", type(exc).__name__, retryable=True) from exc
        except httpx.TimeoutException as exc:
            raise LLMError("timeout", type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise LLMError("transport_error", type(exc).__name__) from exc


def _parse_event_line(line: str) -> tuple[str, bool]:
    """One line of the server's event stream → (text piece, end of stream)."""
    line = line.strip()
    if not line or line.startswith(":") or not line.startswith("data:"):
        return "", False  # blank separators, comments, "event:"/"id:" fields
    data = line[5:].strip()
    if data == "[DONE]":
        return "", True
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise LLMError("malformed_event", data[:80]) from exc
    if not isinstance(event, dict):
        raise LLMError("malformed_event", data[:80])
    if "error" in event:
        raise LLMError("server_error", str(event["error"])[:200])
    choices = event.get("choices")
    if not isinstance(choices, list):
        raise LLMError("malformed_event", data[:80])
    if not choices:
        return "", False  # e.g. a usage-only event
    choice = choices[0]
    if not isinstance(choice, dict):
        raise LLMError("malformed_event", data[:80])
    delta = choice.get("delta")
    piece = delta.get("content") if isinstance(delta, dict) else choice.get("text")
    return (piece if isinstance(piece, str) else ""), False
