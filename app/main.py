"""The application factory: nothing heavy happens at import; the lifespan opens the services."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import admin, admin_batch, admin_facts, admin_properties, openai_chat
from app.api.docs import install_docs
from app.api.errors import install_error_handlers
from app.api.middleware import BodyGuardMiddleware, RequestIdMiddleware
from app.api.openapi import install_openapi
from app.api.pages import router as pages_router
from app.api.plain_ask import PlainAskMiddleware
from app.api.ratelimit import RateLimits
from app.api.routes import ASK_ROUTE, answer_ask, router
from app.api.security import install_security
from app.api.tasks import admin_router as tasks_admin_router
from app.api.tasks import guest_router as tasks_guest_router
from app.api.telemetry import TelemetryMiddleware
from app.api.telemetry import router as metrics_router
from app.config import Settings, get_settings
from app.db.server import release_in_worker
from app.embedding.encoder import Encoder
from app.memory import trimming
from app.observability.logs import configure_logging, write_logs_directly
from app.observability.metrics import Metrics
from app.services import open_services
from ingestion.worker import job_worker

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    encoder: Encoder | None = None,
    job_encoder: Callable[[], Encoder] | None = None,
    encoder_loading: Future[Encoder] | None = None,
    url_loading: Future[str] | None = None,
) -> FastAPI:
    """Build the ASGI app. ``encoder`` replaces the packaged model, ``job_encoder`` makes the
    job worker's (tests pass fake ones); ``encoder_loading`` and ``url_loading`` are the
    packaged model's load and the database address's lookup when they were begun already
    (:mod:`app.serving`)."""
    settings = settings or get_settings()
    configure_logging(settings)
    metrics = Metrics() if settings.metrics_enabled else None
    rate_limits = RateLimits.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = open_services(
            settings,
            encoder,
            rate_limits=rate_limits,
            metrics=metrics,
            encoder_loading=encoder_loading,
            url_loading=url_loading,
        )
        try:
            async with opened as services:
                app.state.services = services
                if settings.gc_freeze:
                    # Start-up objects (model session, modules, pool) never die: keep them out of
                    # every later collection, which makes full collections short and rare.
                    gc.collect()
                    gc.freeze()
                # Paused while the server's modules load (app.serving); on from here.
                gc.enable()
                if metrics is not None:
                    metrics.bind_services(lambda: getattr(app.state, "services", None))
                    if services.tasks is not None:
                        metrics.add_source("tasks", services.tasks.stats.families)
                async with (
                    trimming(settings.malloc_trim_s),
                    job_worker(settings, services.pool, job_encoder) as worker,
                ):
                    services.job_worker = worker
                    log.info(
                        "ready: schema %s, model on %s",
                        services.schema_head,
                        services.encoder.device,
                    )
                    yield
        finally:
            # uvicorn re-raises the stopping signal once it has shut down, which ends the
            # process before a queued record is written: the last lines are written at once.
            write_logs_directly()
            release_in_worker()

    app = FastAPI(
        title="Hotel Concierge API",
        version="0.1.0",
        description="Answers guests' questions from each hotel's own knowledge base, with sources.",
        lifespan=lifespan,
        docs_url=None,  # served from local files by install_docs
        redoc_url=None,
    )
    install_error_handlers(app)
    install_openapi(app, settings)
    install_docs(app)
    app.include_router(router)
    app.include_router(openai_chat.router)
    app.include_router(admin.router)
    app.include_router(admin_properties.router)
    app.include_router(admin_batch.router)
    app.include_router(admin_facts.router)
    app.include_router(tasks_admin_router)
    app.include_router(tasks_guest_router)
    app.include_router(pages_router)
    if metrics is not None:
        app.include_router(metrics_router)
    # Innermost: a plain /ask is answered here, inside every defence below.
    app.add_middleware(PlainAskMiddleware, answer=answer_ask, route=ASK_ROUTE)
    app.add_middleware(
        BodyGuardMiddleware,
        max_bytes=settings.max_body_bytes,
        timeout_s=settings.body_timeout_s,
        prefix_limits={"/admin": settings.admin_max_upload_bytes},
    )
    install_security(app, settings, rate_limits)
    app.add_middleware(TelemetryMiddleware, metrics=metrics, settings=settings)
    app.add_middleware(RequestIdMiddleware)  # added last = outermost
    return app
