"""Admin routes for a property's facts: its time zone and locale, and its opening hours
(listed as extracted, corrected by staff). Same bearer token and audit log as the others."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from app.api.admin import AdminDep, PropertyId, audit_event
from app.api.deps import ServicesDep
from app.api.responses import JSONBytes
from app.api.schemas import ErrorResponse, StoredText
from app.errors import PropertyNotFound
from app.facts import store as facts_store
from ingestion import store

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={code: {"model": ErrorResponse} for code in (401, 403, 404, 422, 503)},
)
RowId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]


class ClockIn(BaseModel):
    """The property's IANA time zone (``Europe/Rome``) and, optionally, its locale (``it``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    timezone: str = Field(min_length=1, max_length=64, examples=["Europe/Rome"])
    locale: str | None = Field(None, min_length=2, max_length=16, examples=["it"])


class CorrectionIn(BaseModel):
    """Hours in the canonical form (``Mo-Fr 07:00-22:00; Su off``); null removes a correction."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    hours: StoredText | None = Field(max_length=2000, examples=["Mo-Su 06:30-22:00"])


@router.put("/properties/{property_id}/clock")
async def put_clock(
    property_id: PropertyId, body: ClockIn, request: Request, services: ServicesDep, actor: AdminDep
) -> JSONBytes:
    """Set the time zone (and locale) the property's opening hours are read in."""
    async with services.pool.acquire() as conn, conn.transaction():
        row = await facts_store.set_clock(conn, property_id, body.timezone, body.locale)
        if row is None:
            raise PropertyNotFound(f"unknown property {property_id!r}")
        await store.announce_change(conn, property_id)
    audit_event(request, actor, "properties.clock", property=property_id, timezone=body.timezone)
    return JSONBytes({"property_id": property_id, **dict(row)})


@router.get("/properties/{property_id}/hours")
async def list_hours(property_id: PropertyId, services: ServicesDep, actor: AdminDep) -> JSONBytes:
    """Every facility's opening hours as extracted from the documents, with corrections."""
    async with services.pool.acquire() as conn:
        if not await conn.fetchval("SELECT 1 FROM properties WHERE id = $1", property_id):
            raise PropertyNotFound(f"unknown property {property_id!r}")
        rows = await facts_store.list_hours(conn, property_id)
    return JSONBytes({"property_id": property_id, "hours": [r.public() for r in rows]})


@router.put("/properties/{property_id}/hours/{row_id}")
async def correct_hours(
    property_id: PropertyId,
    row_id: RowId,
    body: CorrectionIn,
    request: Request,
    services: ServicesDep,
    actor: AdminDep,
) -> JSONBytes:
    """Correct one facility's hours; it holds until the sentence it came from changes."""
    async with services.pool.acquire() as conn, conn.transaction():
        row = await facts_store.correct(conn, property_id, row_id, body.hours, actor)
        await store.announce_change(conn, property_id)
    audit_event(request, actor, "hours.correct", property=property_id, row=row_id)
    return JSONBytes(row.public())
