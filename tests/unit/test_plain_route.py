"""A plain JSON body skips FastAPI's parsing; any other body gets FastAPI's usual answer."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from app.api.plain_route import plain_json_route


class Question(BaseModel):
    property_id: str = Field(pattern=r"^[a-z-]+$")
    question: str = Field(min_length=1)
    top_k: int | None = Field(None, ge=1)


def _app(plain: bool) -> tuple[FastAPI, list[str]]:
    """The same endpoint routed normally or through the plain route; ``paths`` says which
    handler answered each request."""
    paths: list[str] = []

    async def answer(body: Question, request: Request) -> Response:
        return JSONResponse({"got": body.model_dump(), "raw": (await request.body()).decode()})

    async def fast(body: Question, request: Request) -> Response:
        paths.append("plain")
        return await answer(body, request)

    async def declared(body: Question, request: Request) -> Response:
        paths.append("declared")
        return await answer(body, request)

    router = APIRouter()
    route_class = plain_json_route(Question, fast) if plain else None
    router.add_api_route("/ask", declared, methods=["POST"], route_class_override=route_class)
    app = FastAPI()
    app.include_router(router)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"errors": [(e["loc"], e["msg"]) for e in exc.errors()]}, 422)

    app.add_exception_handler(RequestValidationError, invalid)
    return app, paths


BODIES: list[tuple[bytes, dict[str, str]]] = [
    (b'{"property_id": "harbour", "question": "hi", "top_k": 3}', {}),
    (b'{"property_id": "harbour", "question": "hi"}', {"content-type": "application/json"}),
    (b'{"property_id": "Bad Id", "question": "hi"}', {}),
    (b'{"property_id": "harbour", "question": ""}', {}),
    (b'{"property_id": "harbour"}', {}),
    (b"{not json", {}),
    (b"[]", {}),
    (b"null", {}),
    (b"", {}),
    (b'{"property_id": "harbour", "question": NaN}', {}),
    (b'{"property_id": "harbour", "question": "hi"}', {"content-type": "text/plain"}),
    (b'{"property_id": "harbour", "question": "hi"}', {"content-type": "application/ld+json"}),
    (b'{"property_id": "harbour", "question": "\\ud800"}', {}),
]


@pytest.mark.parametrize(("content", "headers"), BODIES)
async def test_every_body_gets_the_answer_fastapi_gives(
    content: bytes, headers: dict[str, str]
) -> None:
    answers = []
    for plain in (False, True):
        app, _ = _app(plain)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            sent = {"content-type": "application/json", **headers}
            response = await client.post("/ask", content=content, headers=sent)
        answers.append((response.status_code, response.json()))
    assert answers[1] == answers[0]


async def test_only_a_plain_valid_body_takes_the_plain_path() -> None:
    app, paths = _app(plain=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ok = await client.post("/ask", json={"property_id": "harbour", "question": "hi"})
        charset = await client.post(
            "/ask",
            content=b'{"property_id": "harbour", "question": "hi"}',
            headers={"content-type": "application/json; charset=utf-8"},
        )
        bad = await client.post("/ask", json={"property_id": "harbour", "question": ""})
        other = await client.post(
            "/ask",
            content=b'{"property_id": "harbour", "question": "hi"}',
            headers={"content-type": "application/ld+json"},
        )
    assert [r.status_code for r in (ok, charset, bad, other)] == [200, 200, 422, 200]
    assert paths == ["plain", "plain", "declared"]  # the 422 never reaches a handler
    assert ok.json()["got"] == {"property_id": "harbour", "question": "hi", "top_k": None}
    assert other.json()["raw"] == '{"property_id": "harbour", "question": "hi"}'
