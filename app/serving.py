"""The server's entry point: ``python -m app serve`` hands uvicorn this module's factory.

A server process spends most of its start importing the app's modules, on one core. Two
things make that shorter:

- the embedding model loads and runs its first batches, and the database's address is found
  (the embedded server started where it is not running), on threads begun before those
  imports, so that they mostly run on the other core meanwhile;
- the collector is paused while the modules load. What they make lives as long as the
  process (they leave a few hundred unreachable objects in all), so it is frozen without a
  pass over it, and the lifespan collects only what opening the services left, freezes that
  too and resumes the collector (:func:`app.main.create_app`).

Uvicorn calls the factory once per process, so each worker loads its own model.
"""

from __future__ import annotations

import gc

gc.disable()

import threading  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import Future  # noqa: E402
from typing import TYPE_CHECKING, TypeVar  # noqa: E402

from app.config import get_settings  # noqa: E402
from app.observability.logs import configure_logging  # noqa: E402

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.embedding.encoder import Encoder

T = TypeVar("T")

_settings = get_settings()
# A worker process (``--workers`` above 1) starts here: the threads' records need a handler.
configure_logging(_settings)


def _begin(work: Callable[[], T]) -> Future[T]:
    """``work`` on a thread of its own; its outcome, exception included, in the future."""
    future: Future[T] = Future()

    def run() -> None:
        # Marked running first: a later cancel then leaves the outcome to be set here.
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work())
        except BaseException as exc:  # read by the lifespan, which fails the start with it
            future.set_exception(exc)

    threading.Thread(target=run, name="start-up", daemon=True).start()
    return future


def _load_encoder() -> Encoder:
    from app.embedding.encoder import load_warm_encoder

    return load_warm_encoder(_settings)


def _database_url() -> str:
    from app.db.server import database_url

    return database_url(_settings)


_encoder = _begin(_load_encoder)
_url = _begin(_database_url)

from app import main  # noqa: E402  (after the threads began and the collector paused)

if _settings.gc_freeze:
    gc.freeze()


def create_app() -> FastAPI:
    """The app, opening its services with the model and database address found above."""
    return main.create_app(_settings, encoder_loading=_encoder, url_loading=_url)
