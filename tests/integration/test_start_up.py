"""What the server's entry (app.serving) hands the app: a model load and a database address
begun before the app's modules were imported, and a paused collector. The lifespan uses the
model it was handed, owns it (closes it at shutdown), fails the start with a load's error, and
resumes the collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from concurrent.futures import Future
from typing import TypeVar

import pytest

from app.config import Settings
from app.embedding.encoder import Encoder
from app.main import create_app
from tests.fakes import HashingEncoder
from tests.serving import app_client

pytestmark = pytest.mark.integration

T = TypeVar("T")


class ClosingEncoder(HashingEncoder):
    """A fake model that counts its texts and its closes."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def collector_paused() -> Iterator[None]:
    """The collector paused, as app.serving leaves it; on again afterwards whatever happened."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def done(value: T) -> Future[T]:
    future: Future[T] = Future()
    future.set_result(value)
    return future


async def test_the_lifespan_uses_the_model_it_was_handed_and_resumes_the_collector(
    settings: Settings, db_url: str, sample_loaded: list[str], collector_paused: None
) -> None:
    encoder = ClosingEncoder()
    app = create_app(settings, encoder_loading=done(encoder), url_loading=done(db_url))
    assert not gc.isenabled()
    async with app_client(app) as client:
        assert gc.isenabled()
        assert app.state.services.encoder is encoder
        response = await client.post(
            "/ask", json={"property_id": "sunset-cove", "question": "What is the wifi password?"}
        )
        assert response.status_code == 200, response.text
        assert encoder.calls  # the question was embedded by the handed model
        assert encoder.closed == 0
    assert encoder.closed == 1  # owned by the app: closed at shutdown


async def test_a_failed_load_fails_the_start_with_its_error(
    settings: Settings, db_url: str, sample_loaded: list[str]
) -> None:
    loading: Future[Encoder] = Future()
    loading.set_exception(RuntimeError("the ONNX export of the model is missing"))
    app = create_app(settings, encoder_loading=loading, url_loading=done(db_url))
    with pytest.raises(RuntimeError, match="export of the model is missing"):
        async with app_client(app):
            pass
