"""Admin routes a back office needs besides uploads: list, create and delete properties, list
jobs with filters. Same bearer token and audit log as :mod:`app.api.admin`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.admin import AdminDep, PropertyId, PropertyIn, audit_event
from app.api.deps import ServicesDep
from app.api.responses import JSONBytes
from app.api.schemas import PROPERTY_ID_PATTERN, ErrorResponse
from app.errors import Conflict, PropertyNotFound
from ingestion import jobs, store

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 422, 503)},
)

MAX_JOBS_PAGE = 200


class NewProperty(PropertyIn):
    """A property to create: its id (used in URLs and by the widget) and display name."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    property_id: str = Field(pattern=PROPERTY_ID_PATTERN, examples=["my-hotel"])


class PropertyOut(BaseModel):
    property_id: str
    name: str
    live_version: int | None
    revision: int
    documents: int
    chunks: int
    created_at: str
    updated_at: str


class PropertiesOut(BaseModel):
    properties: list[PropertyOut]


@router.get("/properties", response_model=PropertiesOut)
async def list_properties(services: ServicesDep, actor: AdminDep) -> JSONBytes:
    """Every property with its live index version and document and chunk counts."""
    async with services.pool.acquire() as conn:
        return JSONBytes({"properties": await store.list_properties(conn)})


@router.post("/properties", status_code=201)
async def create_property(
    body: NewProperty, request: Request, services: ServicesDep, actor: AdminDep
) -> JSONBytes:
    """Create a property (409 when the id is taken; ``PUT /admin/properties/{id}`` renames)."""
    async with services.pool.acquire() as conn, conn.transaction():
        if await conn.fetchval("SELECT 1 FROM properties WHERE id = $1", body.property_id):
            raise Conflict(f"property {body.property_id!r} already exists")
        await store.ensure_property(conn, body.property_id, body.name)
        await store.announce_change(conn, body.property_id)
    audit_event(request, actor, "property.create", property=body.property_id)
    return JSONBytes({"property_id": body.property_id, "name": body.name}, status_code=201)


@router.delete("/properties/{property_id}")
async def delete_property(
    property_id: PropertyId, request: Request, services: ServicesDep, actor: AdminDep
) -> JSONBytes:
    """Delete a property with all its documents, index versions and jobs.

    Refused (409) while one of its jobs is running: stop or let it finish first.
    """
    async with services.pool.acquire() as conn, conn.transaction():
        exists = await conn.fetchval(
            "SELECT 1 FROM properties WHERE id = $1 FOR UPDATE", property_id
        )
        if not exists:
            raise PropertyNotFound(f"unknown property {property_id!r}")
        running = await jobs.search(conn, property_id=property_id, state="running", limit=1)
        if running:
            raise Conflict(f"job {running[0].id} is running for {property_id}; try again after it")
        await store.delete_property(conn, property_id)
    audit_event(request, actor, "property.delete", property=property_id)
    return JSONBytes({"property_id": property_id, "deleted": True})


JobState = Literal["queued", "running", "succeeded", "failed"]
JobKind = Literal["ingest", "reindex"]


@router.get("/jobs")
async def list_jobs(
    services: ServicesDep,
    actor: AdminDep,
    property_id: Annotated[str | None, Query(pattern=PROPERTY_ID_PATTERN)] = None,
    state: JobState | None = None,
    kind: JobKind | None = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="page: ids below")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_JOBS_PAGE)] = 50,
) -> JSONBytes:
    """Jobs, newest first, filtered by property, state and kind; page with ``before``."""
    async with services.pool.acquire() as conn:
        await jobs.reap_stale(
            conn, services.settings.job_stale_after_s, services.settings.job_max_attempts
        )
        found = await jobs.search(
            conn, property_id=property_id, state=state, kind=kind, before=before, limit=limit
        )
    page = [job.public() for job in found]
    following = found[-1].id if len(found) == limit else None
    return JSONBytes({"jobs": page, "next_before": following})
