"""Admin API under ``/admin``: properties, documents, re-index jobs. Bearer token required.

Every change is written to the ``concierge.audit`` log (who, what, when; never a secret).
Work that embeds text (uploads, re-indexes) is queued as a job in PostgreSQL and run by the
job worker of one server process, off the request path; the route answers 202 with the id.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from app.api.auth_scheme import BEARER
from app.api.deps import ServicesDep
from app.api.middleware import request_id_of
from app.api.responses import JSONBytes
from app.api.schemas import PROPERTY_ID_PATTERN, ErrorResponse, StoredText
from app.config import Settings
from app.errors import (
    AdminDisabled,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)
from app.services import Services
from app.tasks import staff
from ingestion import jobs, store
from ingestion.documents import reason_for
from ingestion.sandbox import LoadLimits, load_isolated_async

audit = logging.getLogger("concierge.audit")
log = logging.getLogger(__name__)

DEVELOPMENT_TOKEN = "dev-admin-token"
_ACTOR = re.compile(r"^[A-Za-z0-9._@:-]{1,64}$")

PropertyId = Annotated[str, PathParam(pattern=PROPERTY_ID_PATTERN)]
# Job ids are PostgreSQL bigints.
JobId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]


def expected_token(settings: Settings) -> str | None:
    """The token admin requests must carry; None when the admin API is disabled."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    return DEVELOPMENT_TOKEN if settings.env == "development" else None


bearer = BEARER


async def require_admin(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """Check the bearer token (constant-time) and return the actor name for the audit log."""
    expected = expected_token(services.settings)
    if not expected:
        raise AdminDisabled("the admin API is disabled: set RAG_ADMIN_TOKEN")
    given = credentials.credentials.strip() if credentials is not None else ""
    if not given:
        raise Unauthorized("send 'Authorization: Bearer <admin token>'")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        async with services.pool.acquire() as conn:  # a person's own admin token
            person = await staff.lookup(conn, given)
        if person is None or person.role != "admin":
            raise Forbidden("the admin token is not valid")
        return person.name
    actor = request.headers.get("x-admin-actor", "admin")
    return actor if _ACTOR.match(actor) else "admin"


AdminDep = Annotated[str, Depends(require_admin)]

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 413, 422, 503)},
)


def upload_key(filename: str) -> str:
    r"""An upload's document id: its relative path (``dining/restaurant.html``), as the staff
    command names the same file in a folder, so both routes update one document.

    Only a plain relative path with ``/`` between folders becomes a folder path; ``.`` and
    empty segments are dropped. A name with a backslash (a Windows or UNC path such as
    ``\\server\share\x.htm``), an absolute path or URL (``/tmp/x.md``, ``C:/x.md``,
    ``file:///x.md``) and a ``..`` segment are refused.
    """
    shown = repr(filename[:100])
    if "\\" in filename:
        raise InvalidRequest(f"{shown}: a file name must use '/' between folders, not '\\'")
    parts = [p for p in filename.split("/") if p not in ("", ".")]
    if not parts:
        raise InvalidRequest("every uploaded file needs a file name")
    if filename.startswith("/") or parts[0].endswith(":"):
        raise InvalidRequest(f"{shown}: a file name must be a relative path, not an absolute one")
    if ".." in parts:
        raise InvalidRequest(f"{shown}: a file name must not climb out of its folder ('..')")
    return "/".join(parts)


def audit_event(request: Request, actor: str, action: str, **details: object) -> None:
    """One audit record: the action is the message, who/what/where are JSON fields."""
    fields = {
        "action": action,
        "actor": actor,
        "client": request.client.host if request.client else "-",
        **details,
        "request_id": request_id_of(request.scope),
    }
    audit.info("%s", action, extra={"fields": fields})
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return
    if len(_audit_writes) >= MAX_AUDIT_WRITES:  # the log line above is the record that stays
        pending = len(_audit_writes)
        log.warning("audit row not written: %d writes pending", pending, extra={"fields": fields})
        return
    prop = details.get("property")  # also a row in PostgreSQL
    write = asyncio.get_running_loop().create_task(
        _audit_row(services, actor, action, prop if isinstance(prop, str) else None, fields)
    )
    _audit_writes.add(write)
    write.add_done_callback(_audit_writes.discard)


_audit_writes: set[asyncio.Task[None]] = set()
MAX_AUDIT_WRITES = 100
_ROW_KEYS = frozenset({"action", "actor", "request_id"})  # columns of their own


async def _audit_row(
    services: Services, actor: str, action: str, prop: str | None, fields: dict[str, object]
) -> None:
    try:
        async with services.pool.acquire() as conn:
            extra = {k: v for k, v in fields.items() if k not in _ROW_KEYS}
            await staff.audit(conn, actor, action, prop, None, str(fields["request_id"]), **extra)
    except Exception as exc:  # the log line above is written in any case
        log.warning("audit row not written: %s", exc)


class PropertyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: StoredText = Field(min_length=1, max_length=200)


class ReindexIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    property_id: str = Field(pattern=PROPERTY_ID_PATTERN)
    max_tokens: int | None = Field(None, ge=16, le=512)


async def _require_property(services: Services, property_id: str) -> None:
    async with services.pool.acquire() as conn:
        await store.live_version_id(conn, property_id)


def _wake(services: Services) -> None:
    if services.job_worker is not None:
        services.job_worker.wake()


@router.put("/properties/{property_id}")
async def put_property(
    property_id: PropertyId,
    body: PropertyIn,
    request: Request,
    services: ServicesDep,
    actor: AdminDep,
) -> JSONBytes:
    """Create a property or rename it."""
    async with services.pool.acquire() as conn, conn.transaction():
        created = await store.ensure_property(conn, property_id, body.name)
        await store.announce_change(conn, property_id)
    audit_event(
        request, actor, "property.create" if created else "property.rename", property=property_id
    )
    return JSONBytes(
        {"property_id": property_id, "name": body.name}, status_code=201 if created else 200
    )


@router.get("/properties/{property_id}/documents")
async def list_documents(
    property_id: PropertyId, services: ServicesDep, actor: AdminDep
) -> JSONBytes:
    """The documents of the property's live index version."""
    await _require_property(services, property_id)
    async with services.pool.acquire() as conn:
        listed = await store.live_documents(conn, property_id)
    documents = [{**asdict(d), "updated_at": d.updated_at.isoformat()} for d in listed]
    return JSONBytes({"property_id": property_id, "documents": documents})


@router.post("/properties/{property_id}/documents", status_code=202)
async def upload_documents(
    property_id: PropertyId,
    request: Request,
    services: ServicesDep,
    actor: AdminDep,
    files: Annotated[list[UploadFile], File(description="documents to add or replace")],
) -> JSONBytes:
    """Upload files (any format the staff command reads); they are ingested by a job."""
    await _require_property(services, property_id)
    settings = services.settings
    accepted: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    limits = LoadLimits.from_settings(settings)
    # One time budget for reading all the files of the request.
    deadline = time.monotonic() + limits.wall_s
    for upload in files:
        name = upload_key(upload.filename or "")
        raw = await upload.read(settings.ingest_max_file_bytes + 1)
        if len(raw) > settings.ingest_max_file_bytes:
            raise PayloadTooLarge(f"{name}: larger than {settings.ingest_max_file_bytes} bytes")
        if time.monotonic() >= deadline:
            reason = f"not read: reading the upload's files took longer than {limits.wall_s:g} s"
            skipped.append({"name": name, "reason": reason})
            continue
        try:
            # Parsers (PDF, DOCX, HTML) are CPU work: in a child process with CPU, memory and
            # time limits, off the event loop that serves guests and off the model thread.
            documents = await load_isolated_async(
                raw, name, f"upload:{name}", limits.within(deadline)
            )
        except Exception as exc:  # an unreadable file is skipped with its reason
            skipped.append({"name": name, "reason": reason_for(exc)})
            continue
        for document in documents:
            if document.property_id not in (None, property_id):
                skipped.append({"name": name, "reason": "a line names another property"})
                continue
            accepted.append(asdict(document) | {"property_id": None})
    if not accepted:
        detail = "; ".join(f"{s['name']}: {s['reason']}" for s in skipped) or "no documents"
        raise InvalidRequest(f"nothing to ingest ({detail})")
    async with services.pool.acquire() as conn:
        job_id = await jobs.enqueue(
            conn, "ingest", property_id, {"documents": accepted}, requested_by=actor
        )
    _wake(services)
    audit_event(
        request, actor, "documents.upload", property=property_id, job=job_id,
        documents=[d["doc_key"] for d in accepted], skipped=len(skipped),
    )  # fmt: skip
    return JSONBytes(
        {"job_id": job_id, "documents": [d["doc_key"] for d in accepted], "skipped": skipped},
        status_code=202,
    )


@router.delete("/properties/{property_id}/documents/{doc_key:path}")
async def delete_document(
    property_id: PropertyId, doc_key: str, request: Request, services: ServicesDep, actor: AdminDep
) -> JSONBytes:
    """Remove a document from the live index (guests stop seeing it at once)."""
    await _require_property(services, property_id)
    if "\x00" in doc_key:  # no stored key holds one (PostgreSQL text cannot)
        raise NotFound(f"no document {doc_key!r} in {property_id}")
    async with services.pool.acquire() as conn, conn.transaction():
        deletion = await store.delete_live_documents(conn, property_id, [doc_key])
    if not deletion.deleted:
        raise NotFound(f"no document {doc_key!r} in {property_id}")
    audit_event(request, actor, "documents.delete", property=property_id, document=doc_key)
    return JSONBytes(
        {"property_id": property_id, "deleted": doc_key, "revision": deletion.revision}
    )


@router.post("/reindex", status_code=202)
async def reindex(
    body: ReindexIn, request: Request, services: ServicesDep, actor: AdminDep
) -> JSONBytes:
    """Queue a re-index of a property; poll ``GET /admin/jobs/{job_id}``."""
    limit = services.encoder.max_tokens
    if body.max_tokens and body.max_tokens > limit:
        raise InvalidRequest(f"max_tokens must be between 16 and {limit} for this model")
    params = {"max_tokens": body.max_tokens} if body.max_tokens else {}
    async with services.pool.acquire() as conn:
        if await store.live_version_id(conn, body.property_id) is None:
            raise Conflict(f"{body.property_id} has no index yet: upload documents first")
        job_id = await jobs.enqueue(conn, "reindex", body.property_id, params, requested_by=actor)
    _wake(services)
    audit_event(request, actor, "reindex", property=body.property_id, job=job_id, **params)
    return JSONBytes({"job_id": job_id}, status_code=202)


@router.get("/jobs/{job_id}")
async def get_job(job_id: JobId, services: ServicesDep, actor: AdminDep) -> JSONBytes:
    """A job's state (queued, running, succeeded, failed), progress and error."""
    async with services.pool.acquire() as conn:
        await jobs.reap_stale(
            conn, services.settings.job_stale_after_s, services.settings.job_max_attempts
        )
        job = await jobs.get(conn, job_id)
    return JSONBytes(job.public())


@router.post("/jobs/{job_id}/retry", status_code=202)
async def retry_job(
    job_id: JobId, request: Request, services: ServicesDep, actor: AdminDep
) -> JSONBytes:
    """Queue a failed job again (a re-index resumes the version it was building)."""
    async with services.pool.acquire() as conn:
        await jobs.reap_stale(
            conn, services.settings.job_stale_after_s, services.settings.job_max_attempts
        )
        job = await jobs.retry(conn, job_id)
    _wake(services)
    audit_event(request, actor, "job.retry", property=job.property_id, job=job_id)
    return JSONBytes({"job_id": job_id}, status_code=202)
