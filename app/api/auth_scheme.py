"""The bearer scheme the admin and staff routes declare in the OpenAPI schema (the docs'
Authorize button). Declaring only: each route checks the token itself, so a missing or wrong
one gets the service's own error shape."""

from __future__ import annotations

from fastapi.security import HTTPBearer

BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="RAG_ADMIN_TOKEN, or a staff token on the routes that take one",
)
