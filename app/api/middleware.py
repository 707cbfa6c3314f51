"""Pure ASGI middleware (no BaseHTTPMiddleware): request ids and a request-body size limit."""

from __future__ import annotations

import asyncio
import os
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deadline import Deadline
from app.api.responses import error_response
from app.db.turns import arrived
from app.observability.logs import current_request_id

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


# Request ids are drawn from the system's random source in batches: one system call per
# ``_IDS_PER_DRAW`` requests instead of one each (``uuid4``), the ids as random as before.
_ID_BYTES = 16
_IDS_PER_DRAW = 256
_unused_ids: list[str] = []


def new_request_id() -> str:
    """A fresh request id: 32 random lower-case hex digits, like ``uuid4().hex``."""
    try:
        return _unused_ids.pop()
    except IndexError:
        raw = os.urandom(_ID_BYTES * _IDS_PER_DRAW).hex()
        step = 2 * _ID_BYTES
        _unused_ids.extend(raw[i : i + step] for i in range(0, len(raw), step))
        return _unused_ids.pop()


def _forget_unused_ids() -> None:
    # A forked worker must not hand out the ids its parent drew (nor the parent those of
    # another worker).
    _unused_ids.clear()


os.register_at_fork(after_in_child=_forget_unused_ids)


def request_id_of(scope: Scope) -> str:
    """The request id set by :class:`RequestIdMiddleware` (or a fresh one)."""
    state = scope.get("state") or {}
    return str(state.get("request_id") or new_request_id())


class RequestIdMiddleware:
    """Accepts a well-formed ``X-Request-ID`` from the client or makes one; echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, REQUEST_ID_HEADER.encode())
        request_id = given if given and _VALID_REQUEST_ID.match(given) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        raw_id = request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", raw_id)]
            await send(message)

        token = current_request_id.set(request_id)
        began = arrived.set(time.monotonic())
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            arrived.reset(began)
            current_request_id.reset(token)


class BodyGuardMiddleware:
    """Bounds every request body in size and in time.

    A body larger than ``max_bytes`` (declared, or once streamed past it) gets 413; a body not
    fully received within ``timeout_s`` gets 408, so a client trickling a byte at a time cannot
    hold a connection. ``prefix_limits`` gives other size limits to paths under a prefix
    (uploads under ``/admin``). After either answer the application sees a disconnect and
    whatever it still tries to send is dropped.

    Kept hand-written: uvicorn limits neither the body's size nor the time it takes to arrive
    (``h11_max_incomplete_event_size`` covers headers only), and Starlette reads what it is sent.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout_s: float,
        prefix_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.prefix_limits = sorted((prefix_limits or {}).items(), key=lambda kv: -len(kv[0]))

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.prefix_limits:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope.get("path", ""))
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await self._reject(scope, receive, send, *self._too_large(max_bytes))
            return
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        received = 0
        body_done = started = refused = False

        async def guarded_receive() -> Message:
            nonlocal received, body_done, refused
            if body_done:
                return await receive()
            if refused:
                return {"type": "http.disconnect"}
            try:
                async with Deadline(deadline):
                    message = await receive()
            except TimeoutError:
                problem = self._too_slow()
            else:
                if message["type"] != "http.request":
                    return message
                received += len(message.get("body", b""))
                if received <= max_bytes:
                    body_done = not message.get("more_body", False)
                    return message
                problem = self._too_large(max_bytes)
            refused = True
            if not started:
                await self._reject(scope, receive, send, *problem)
            return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, guarded_receive, guarded_send)

    @staticmethod
    def _too_large(max_bytes: int) -> tuple[int, str, str]:
        return 413, "payload_too_large", f"request body larger than {max_bytes} bytes"

    def _too_slow(self) -> tuple[int, str, str]:
        message = f"the request body was not received within {self.timeout_s:g} s"
        return 408, "request_timeout", message

    @staticmethod
    async def _reject(
        scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
    ) -> None:
        response = error_response(
            status, code, message, request_id_of(scope), headers={"connection": "close"}
        )
        await response(scope, receive, send)


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header, decoded as latin-1."""
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None
