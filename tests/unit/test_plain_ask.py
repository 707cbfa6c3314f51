"""A plain /ask is answered by the middleware; every other request reaches the route intact,
and errors keep the one shape."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from app.api.errors import install_error_handlers
from app.api.middleware import RequestIdMiddleware
from app.api.plain_ask import PlainAskMiddleware
from app.api.schemas import AskRequest
from app.api.telemetry import route_template
from app.errors import RateLimited

PLAIN = b'{"property_id": "harbour-grand", "question": "Check-out?"}'


def _app() -> tuple[FastAPI, list[str]]:
    handled: list[str] = []
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/ask")
    async def declared(body: AskRequest, request: Request) -> Response:
        handled.append("route")
        raw = (await request.body()).decode()
        return JSONResponse({"by": "route", "question": body.question, "raw": raw})

    async def answer(body: AskRequest, request: Request) -> Response:
        handled.append(f"plain:{route_template(request.scope)}")
        if body.question == "limit":
            raise RateLimited("too many", 7)
        if body.question == "boom":
            raise RuntimeError("unexpected")
        return JSONResponse({"by": "plain", "question": body.question})

    app.add_middleware(PlainAskMiddleware, answer=answer, route=app.routes[-1])
    app.add_middleware(RequestIdMiddleware)
    return app, handled


async def _post(app: FastAPI, content: bytes, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        sent = {"content-type": "application/json", "x-request-id": "rid-1", **headers}
        return await client.post("/ask", content=content, headers=sent)


async def test_a_plain_question_is_answered_without_the_route() -> None:
    app, handled = _app()
    response = await _post(app, PLAIN)
    assert response.json() == {"by": "plain", "question": "Check-out?"}
    assert response.headers["x-request-id"] == "rid-1"
    assert handled == ["plain:/ask"]  # telemetry still sees the route's template


async def test_anything_else_reaches_the_route_with_its_body() -> None:
    app, handled = _app()
    ld = await _post(app, PLAIN, **{"content-type": "application/ld+json"})
    assert ld.json() == {"by": "route", "question": "Check-out?", "raw": PLAIN.decode()}
    invalid = await _post(app, b'{"property_id": "Bad Id", "question": "Hi"}')
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "invalid_request"
    assert invalid.json()["error"]["request_id"] == "rid-1"
    broken = await _post(app, b"{not json")
    assert broken.status_code == 422
    assert handled == ["route"]  # the 422s never reach a handler


async def test_a_question_asking_for_a_stream_is_read_once() -> None:
    app, handled = _app()
    stream = b'{"property_id": "harbour-grand", "question": "Hi", "stream": true}'
    response = await _post(app, stream)
    assert response.json() == {"by": "plain", "question": "Hi"}
    by_header = await _post(app, PLAIN, accept="text/event-stream")
    assert by_header.json() == {"by": "plain", "question": "Check-out?"}
    assert handled == ["plain:/ask", "plain:/ask"]


async def test_errors_raised_while_answering_keep_the_one_shape() -> None:
    app, _ = _app()
    limited = await _post(app, b'{"property_id": "harbour-grand", "question": "limit"}')
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert limited.json() == {
        "error": {"code": "rate_limited", "message": "too many", "request_id": "rid-1"}
    }
    boom = await _post(app, b'{"property_id": "harbour-grand", "question": "boom"}')
    assert boom.status_code == 500
    assert boom.json()["error"]["code"] == "internal_error"


async def test_other_paths_and_methods_pass_through() -> None:
    app, handled = _app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/ask")).status_code == 405
        assert (await client.post("/other", content=PLAIN)).status_code == 404
    assert handled == []
