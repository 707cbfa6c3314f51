"""The application factory: nothing heavy happens at import; the lifespan opens the services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.errors import install_error_handlers
from app.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from app.api.routes import router
from app.api.security import install_security
from app.config import Settings, get_settings
from app.embedding import Encoder
from app.services import open_services

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, encoder: Encoder | None = None) -> FastAPI:
    """Build the ASGI app. ``encoder`` replaces the packaged model (tests pass a fake one)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings, encoder) as services:
            app.state.services = services
            log.info("ready: schema %s, model on %s", services.schema_head, services.encoder.device)
            yield

    app = FastAPI(
        title="Hotel Concierge API",
        version="0.1.0",
        description="Answers guests' questions from each hotel's own knowledge base, with sources.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    install_security(app, settings)
    app.add_middleware(RequestIdMiddleware)  # added last = outermost
    return app
