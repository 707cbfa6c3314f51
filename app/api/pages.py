"""The guest chat widget (``/widget.js``) and a demo hotel page that embeds it (``/``).

Both files are read once from ``app/static/`` and served from memory (gzipped when the client
accepts it) with an ETag, so a browser revalidates with ``If-None-Match`` and gets a 304.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.api.deps import ServicesDep

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Asset:
    """A static file held in memory, with its gzip form and its ETag."""

    body: bytes
    gzipped: bytes
    etag: str
    media_type: str


@cache
def load_asset(name: str, media_type: str) -> Asset:
    """Read ``app/static/<name>`` once per process."""
    body = (STATIC_DIR / name).read_bytes()
    packed = gzip.compress(body, compresslevel=9, mtime=0)
    return Asset(body, packed, f'"{hashlib.sha256(body).hexdigest()[:32]}"', media_type)


def asset_response(request: Request, asset: Asset, cache_control: str) -> Response:
    """The asset, or 304 when the client already holds this version."""
    headers = {
        "etag": asset.etag,
        "cache-control": cache_control,
        "x-content-type-options": "nosniff",
        "vary": "accept-encoding",
    }
    given = request.headers.get("if-none-match", "")
    if asset.etag in {tag.strip().removeprefix("W/") for tag in given.split(",")} or given == "*":
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["content-encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get("/widget.js")
async def widget(request: Request, services: ServicesDep) -> Response:
    """The chat widget: one script tag with ``data-property`` puts it on any page."""
    max_age = services.settings.widget_max_age_s
    return asset_response(
        request,
        load_asset("widget.js", "text/javascript; charset=utf-8"),
        f"public, max-age={max_age}, stale-while-revalidate=86400",
    )


@router.get("/")
async def demo_page(request: Request) -> Response:
    """A sample hotel's home page with the widget on it."""
    return asset_response(request, load_asset("demo.html", "text/html; charset=utf-8"), "no-cache")


CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@router.get("/admin/console")
async def console_page(request: Request) -> Response:
    """The staff console: live tasks, knowledge gaps and feedback (token login)."""
    response = asset_response(
        request, load_asset("console.html", "text/html; charset=utf-8"), "no-cache"
    )
    response.headers["content-security-policy"] = CONSOLE_CSP
    return response


@router.get("/admin/console.js")
async def console_script(request: Request) -> Response:
    return asset_response(
        request, load_asset("console.js", "text/javascript; charset=utf-8"), "no-cache"
    )


@router.get("/admin/console.css")
async def console_style(request: Request) -> Response:
    return asset_response(request, load_asset("console.css", "text/css; charset=utf-8"), "no-cache")
