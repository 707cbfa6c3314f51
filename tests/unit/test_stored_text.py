"""Text the database cannot store is the client's error: a 422 in the one shape, never a 500."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from app.api.errors import install_error_handlers
from app.api.schemas import StoredText


class Note(BaseModel):
    text: StoredText


def test_a_nul_in_stored_text_fails_validation() -> None:
    assert Note(text="towels, please").text == "towels, please"
    with pytest.raises(ValidationError, match="NUL"):
        Note(text="towels\x00please")


@pytest.mark.parametrize(
    "error", [asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError]
)
async def test_a_database_refusing_the_text_is_a_422_in_the_error_shape(
    error: type[Exception],
) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/store")
    async def store() -> None:
        raise error('invalid byte sequence for encoding "UTF8": 0x00')

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        reply = await client.post("/store")
    assert reply.status_code == 422
    body = reply.json()
    assert set(body["error"]) == {"code", "message", "request_id"}
    assert body["error"]["code"] == "invalid_request"
    assert "NUL" in body["error"]["message"]
