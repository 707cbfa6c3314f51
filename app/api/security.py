"""Defences of the public API, as pure ASGI middleware: per-client rate limits, a deadline for
the request body, CORS for the configured widget origins, and security headers.

``install_security`` adds them in the right order; the per-property limit is checked by the
``/ask`` route once the body names the property (``services.rate_limits.check_property``).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.docs import HTML_PATHS
from app.api.errors import domain_error_response
from app.api.middleware import header, request_id_of
from app.api.ratelimit import RateLimits
from app.api.responses import error_response
from app.config import Settings
from app.errors import RateLimited

RATE_LIMITED_PATHS = frozenset({"/ask", "/feedback", "/v1/chat/completions"})

# JSON responses never need to load anything: forbid it all (and framing).
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
CORS_ALLOW_METHODS = ("GET", "POST", "OPTIONS")
CORS_ALLOW_HEADERS = ("content-type", "x-request-id")
CORS_EXPOSE_HEADERS = ("x-request-id", "retry-after")
CORS_MAX_AGE_S = 600


def install_security(app: FastAPI, settings: Settings, limits: RateLimits) -> None:
    """Add the defences to ``app``, before the request-id middleware (which stays outermost)."""
    app.add_middleware(
        ClientRateLimitMiddleware, limits=limits, trust_proxy=settings.trust_proxy_headers
    )
    origins = parse_origins(settings.cors_origins)
    if origins:
        app.add_middleware(CorsMiddleware, origins=origins)
    # HTML pages (the API docs and the widget's demo page) load scripts: no deny-all CSP there.
    pages = (
        app.docs_url,
        app.redoc_url,
        app.swagger_ui_oauth2_redirect_url,
        "/",
        "/admin/console",
        *HTML_PATHS,
    )
    html_paths = {p for p in pages if p}
    app.add_middleware(SecurityHeadersMiddleware, html_paths=frozenset(html_paths))


def parse_origins(value: str) -> frozenset[str]:
    """``"https://a.example, https://b.example"`` → a set of origins (no trailing slashes)."""
    return frozenset(o.strip().rstrip("/") for o in value.split(",") if o.strip())


def client_address(scope: Scope, trust_proxy: bool) -> str:
    """The client's address; behind a trusted proxy, the last X-Forwarded-For entry.

    The last entry is the one the proxy itself appended (earlier ones are whatever the client
    sent, so they cannot be trusted).
    """
    if trust_proxy:
        forwarded = header(scope, b"x-forwarded-for")
        if forwarded:
            entries = [e.strip() for e in forwarded.split(",") if e.strip()]
            if entries:
                return entries[-1][:64]
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class ClientRateLimitMiddleware:
    """Refuses requests over the per-client limit with 429 before their body is even read."""

    def __init__(self, app: ASGIApp, limits: RateLimits, trust_proxy: bool) -> None:
        self.app = app
        self.limits = limits
        self.trust_proxy = trust_proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in RATE_LIMITED_PATHS:
            try:
                self.limits.check_client(client_address(scope, self.trust_proxy))
            except RateLimited as exc:
                await domain_error_response(exc, request_id_of(scope))(scope, receive, send)
                return
        await self.app(scope, receive, send)


class CorsMiddleware(CORSMiddleware):
    """Starlette's CORS for the configured widget origins (``*`` allows any, explicitly).

    Only a refused preflight differs: it gets 403 in the service's error shape instead of
    Starlette's plain-text 400, so the widget and its tests see one kind of error.
    """

    def __init__(self, app: ASGIApp, origins: frozenset[str]) -> None:
        super().__init__(
            app,
            allow_origins=sorted(origins),
            allow_methods=CORS_ALLOW_METHODS,
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
            max_age=CORS_MAX_AGE_S,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                response = self.preflight_response(request_headers=headers)
                if response.status_code >= 400:
                    response = error_response(
                        403,
                        "cors_forbidden",
                        "this origin may not call the API",
                        request_id_of(scope),
                    )
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class SecurityHeadersMiddleware:
    """Adds nosniff, no-referrer, no framing and (except on the HTML docs) a deny-all CSP."""

    def __init__(self, app: ASGIApp, html_paths: frozenset[str]) -> None:
        self.app = app
        self.html_paths = html_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(SECURITY_HEADERS)
        if scope["path"] not in self.html_paths:
            extra.append((b"content-security-policy", API_CSP.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
