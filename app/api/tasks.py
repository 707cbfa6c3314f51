"""Staff routes for tasks, knowledge gaps and feedback (``/admin/…``), and the guest's view
of a task and rating of an answer. Every change writes an audit row in PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from app.api.deps import ServicesDep
from app.api.middleware import request_id_of
from app.api.responses import JSONBytes
from app.api.schemas import PROPERTY_ID_PATTERN, ErrorResponse, StoredText
from app.api.sse import event_stream, sse_event
from app.api.staff import StaffDep
from app.errors import Conflict, DependencyUnavailable, Forbidden, NotFound
from app.services import Services
from app.tasks import gaps, staff, store
from app.tasks.gaps import Signal
from app.tasks.runtime import TaskServices, load_property_examples

TaskId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
PropertyQuery = Annotated[str | None, Query(pattern=PROPERTY_ID_PATTERN)]
_SESSION = r"^[A-Za-z0-9._:-]{1,128}$"

admin_router = APIRouter(
    prefix="/admin",
    tags=["staff"],
    responses={code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 422, 503)},
)
guest_router = APIRouter(tags=["guest"])


def _tasks(services: Services) -> TaskServices:
    if services.tasks is None:
        raise DependencyUnavailable("requests are turned off (RAG_REQUESTS_ENABLED)")
    return services.tasks


def _scope(who: staff.Principal, property_id: str | None) -> list[str] | None:
    scope = who.scope(property_id)
    if scope == [] and property_id is not None:
        raise Forbidden(f"this token may not see {property_id}")
    return scope


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "acknowledged", "done", "cancelled"]


class ExampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: StoredText = Field(min_length=1, max_length=500)
    kind: Literal["information", "service_request", "complaint", "safety", "small_talk"]
    category: str | None = Field(None, pattern=r"^[a-z_]{1,32}$")


class ExamplesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    examples: list[ExampleIn] = Field(min_length=1, max_length=200)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    property_id: str = Field(pattern=PROPERTY_ID_PATTERN)
    request_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    rating: Literal["up", "down"]
    question: StoredText = Field(min_length=1, max_length=1000)
    answer: StoredText | None = Field(None, max_length=4000)


@admin_router.get("/tasks")
async def list_tasks(
    services: ServicesDep,
    who: StaffDep,
    property_id: PropertyQuery = None,
    status: Annotated[Literal["open", "acknowledged", "done", "cancelled"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> JSONBytes:
    """Tasks newest first, filtered by property and status (a staff token sees its own)."""
    scope = _scope(who, property_id)
    async with services.pool.acquire() as conn:
        rows = await store.listing(conn, scope, status, limit, before)
    return JSONBytes({"tasks": [store.public(r) for r in rows]})


@admin_router.get("/tasks/stream")
async def stream_tasks(
    request: Request, services: ServicesDep, who: StaffDep, property_id: PropertyQuery = None
) -> EventSourceResponse:
    """Server-Sent Events: ``ready``, then ``task`` for every new or changed task (the stream
    ends when the server shuts down; the console reconnects)."""
    scope = _scope(who, property_id)
    feed = _tasks(services).feed
    heartbeat = services.settings.task_stream_heartbeat_s
    sub = feed.subscribe(None if scope is None else frozenset(scope))

    async def events() -> AsyncGenerator[bytes, None]:
        try:
            yield sse_event("ready", {"request_id": request_id_of(request.scope)})
            async for event in sub.events(heartbeat):
                yield b": keep-alive\n\n" if event is None else sse_event("task", event)
        finally:
            feed.unsubscribe(sub)

    # The feed sends its own keep-alives, so the response sends no pings.
    return event_stream(events(), ping_s=0)


@admin_router.patch("/tasks/{task_id}")
async def update_task(
    task_id: TaskId, body: StatusIn, request: Request, services: ServicesDep, who: StaffDep
) -> JSONBytes:
    """Acknowledge, finish, cancel or reopen a task; records who did it."""
    async with services.pool.acquire() as conn:
        row = await store.set_status(conn, task_id, body.status, who.name, who.scope(None))
        await staff.audit(
            conn, who.name, f"task.{body.status}", row["property_id"], row["ref"],
            request_id_of(request.scope), role=who.role,
        )  # fmt: skip
    return JSONBytes(store.public(row))


@admin_router.get("/gaps")
async def knowledge_gaps(
    services: ServicesDep,
    who: StaffDep,
    property_id: PropertyQuery = None,
    days: Annotated[float, Query(gt=0, le=366)] = 7,
) -> JSONBytes:
    """Hand-overs and thumbs-down of the period, similar questions grouped, largest first."""
    scope = _scope(who, property_id)
    async with services.pool.acquire() as conn:
        groups = await gaps.report(conn, scope, days)
    return JSONBytes({"days": days, "groups": groups})


@admin_router.get("/feedback")
async def list_feedback(
    services: ServicesDep,
    who: StaffDep,
    property_id: PropertyQuery = None,
    days: Annotated[float, Query(gt=0, le=366)] = 7,
) -> JSONBytes:
    """Guests' ratings of answers, newest first (personal data masked)."""
    scope = _scope(who, property_id)
    async with services.pool.acquire() as conn:
        rows = await gaps.feedback(conn, scope, days)
    return JSONBytes({"days": days, "feedback": rows})


@admin_router.post("/properties/{property_id}/examples", status_code=201)
async def add_examples(
    property_id: Annotated[str, PathParam(pattern=PROPERTY_ID_PATTERN)],
    body: ExamplesIn,
    request: Request,
    services: ServicesDep,
    who: StaffDep,
) -> JSONBytes:
    """Teach the message classifier this property's own wording (labelled examples)."""
    _scope(who, property_id)
    tasks = _tasks(services)
    async with services.pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT 1 FROM properties WHERE id = $1", property_id):
            raise NotFound(f"unknown property {property_id!r}")
        await conn.executemany(
            "INSERT INTO classifier_examples (property_id, text, kind, category) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (property_id, text) "
            "DO UPDATE SET kind = EXCLUDED.kind, category = EXCLUDED.category",
            [(property_id, e.text, e.kind, e.category) for e in body.examples],
        )
        held = await conn.fetchval(
            "SELECT count(*) FROM classifier_examples WHERE property_id = $1", property_id
        )
        most = tasks.classifier.max_property_examples
        if held > most:  # the classifier would leave the newest ones out
            raise Conflict(f"{property_id} may have at most {most} classifier examples")
        await staff.audit(
            conn, who.name, "classifier.examples", property_id, None,
            request_id_of(request.scope), count=len(body.examples),
        )  # fmt: skip
    await load_property_examples(services.pool, tasks.classifier, property_id)
    return JSONBytes({"property_id": property_id, "added": len(body.examples)}, status_code=201)


@guest_router.get("/tasks/{ref}")
async def guest_task(
    ref: Annotated[str, PathParam(pattern=r"^R-[A-Z0-9]{6}$")],
    session_id: Annotated[str, Query(pattern=_SESSION)],
    services: ServicesDep,
) -> JSONBytes:
    """The status of a guest's own request (found by its reference and the guest's session)."""
    async with services.pool.acquire() as conn:
        row = await store.for_guest(conn, ref, session_id)
    return JSONBytes(store.public(row))


@guest_router.post("/feedback", status_code=202)
async def feedback(body: FeedbackIn, services: ServicesDep) -> JSONBytes:
    """A guest's thumbs up or down on one answer (the latest vote per answer counts)."""
    tasks = _tasks(services)
    await services.registry.get(body.property_id)  # 404 for an unknown property
    kind = "thumbs_up" if body.rating == "up" else "thumbs_down"
    tasks.stats.feedback[body.rating] += 1
    tasks.recorder.record(
        Signal(body.property_id, kind, body.rating, body.question, body.answer, body.request_id)
    )
    return JSONBytes({"recorded": True}, status_code=202)
